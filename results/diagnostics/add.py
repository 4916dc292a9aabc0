import numpy as np, fastlstm
from fastlstm.experiments import protocols as P
from fastlstm.tasks import get_task
rng_w, rng_train, rng_test = P._rngs(123, 3)
task=get_task("adding",T=100)
net=fastlstm.LSTM(2,1,2,2,init_range=0.1,in_gate_bias=[-3.,-6.],seed=rng_w)
for n in range(120000):
    ex=task.sample(rng_train); net.train_sequence(ex.x,ex.y,ex.mask,0.5)
bad=[]
errs=[]
for i in range(5000):
    ex=task.sample(rng_test); o=net.forward(ex.x)[-1,0]; e=o-ex.y[-1,0]; errs.append(abs(e))
    if abs(e)>=0.04: bad.append((round(e,3), round(ex.y[-1,0],3), ex.info["positions"], round(ex.info["X1"],2), round(ex.info["X2"],2), ex.T))
print("mean",np.mean(errs),"wrong",len(bad))
for b in bad: print(b)
