import numpy as np, fastlstm
from fastlstm.experiments import protocols as P, runner
from fastlstm.tasks import get_task
q = p = 50
s = runner.trial_seed(0, "2c-q50-p50", 0)
rng_w, rng_train = P._rngs(s, 2)
gen = P.FastLag2c(q, p)
net = fastlstm.LSTM(p + 4, 2, 2, 1, bias=False, init_range=0.2, seed=rng_w)
for n in range(45000):
    x, y, m = gen.sample(rng_train); net.train_sequence(x, y, m, 0.01)
task = get_task("lag2c", q=q, p=p); r = np.random.default_rng(1)
L = []; bad = []; errs = []
for i in range(5000):
    ex = task.sample(r); o = net.forward(ex.x); d = np.abs(o[-1] - ex.y[-1]).max()
    L.append(ex.T); bad.append(d >= 0.2); errs.append(d)
L = np.array(L); bad = np.array(bad)
print("wrong", bad.sum(), "of 5000; mean max err", np.mean(errs))
for lo, hi in ((0, 60), (60, 70), (70, 80), (80, 100), (100, 1000)):
    sel = (L >= lo) & (L < hi); print(f"T in [{lo},{hi}): n={sel.sum()} wrong={bad[sel].sum()}")
