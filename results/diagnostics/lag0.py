import time, numpy as np, sys
import fastlstm
from fastlstm.experiments import protocols as P
from fastlstm.tasks import get_task
init=float(sys.argv[1]); seed=int(sys.argv[2])
rng_w, rng_train, rng_cell = P._rngs(seed, 3)
task=get_task("lag2a",p=100); I=101
net = fastlstm.LSTM(I, I, 1, 1, output_gate=False, recurrent=False, input_to_output=True, bias=False, g="g1", h="id", init_range=0.2, seed=rng_w)
full=np.array(net.masks["W_k"]); nc=full.copy(); nc[:,102]=0; net.set_mask("W_k",nc)
for n in range(2000):
    ex=task.sample(rng_train); out=net.train_sequence(ex.x,ex.y,ex.mask,1.0)
net.set_mask("W_k",full); net.params["W_k"][:,102]=rng_cell.uniform(-init,init,size=I)
run=0
for n in range(15000):
    ex=task.sample(rng_train); out=net.train_sequence(ex.x,ex.y,ex.mask,1.0)
    d=np.abs(out-ex.y); run = run+1 if d.max()<0.25 else 0
    if n%1000==0:
        print(n, run, d.max(), d[-1].max(), np.argmax(d.max(1)), "Wk cell col x,y:", net.params["W_k"][99:101,102], "W_in x,y", net.params["W_in"][0,100:102], "Wc x,y",net.params["W_c"][0,100:102], "W_in mean a", net.params["W_in"][0,1:100].mean(), flush=True)
