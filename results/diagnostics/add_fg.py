"""Adding T=100: train 120k with the paper's rule, then continue 25k with (A) the paper's
rule, (B) the exact BPTT gradient (one update per sequence). Compare wrong rates."""
import numpy as np, fastlstm, time
from fastlstm import bptt
from fastlstm.experiments import protocols as P
from fastlstm.tasks import get_task
rng_w, rng_train, rng_test = P._rngs(7, 3)
task = get_task("adding", T=100)
net = fastlstm.LSTM(2, 1, 2, 2, init_range=0.1, in_gate_bias=[-3., -6.], seed=rng_w)
for n in range(120000):
    ex = task.sample(rng_train); net.train_sequence(ex.x, ex.y, ex.mask, 0.5)
net.save("/tmp/diag/add120k.npz")
def test(net, seed=99, n=2560):
    r = np.random.default_rng(seed); w = 0; e = []
    for _ in range(n):
        ex = task.sample(r); d = abs(net.forward(ex.x)[-1, 0] - ex.y[-1, 0]); e.append(d); w += d >= 0.04
    return w, float(np.mean(e))
print("after 120k:", test(net), flush=True)
for mode in ("truncated", "full"):
    m = fastlstm.load("/tmp/diag/add120k.npz"); r = np.random.default_rng(5)
    errs = []; t = time.time()
    for n in range(25000):
        ex = task.sample(r)
        if mode == "truncated":
            o = m.train_sequence(ex.x, ex.y, ex.mask, 0.5)
        else:
            o = bptt.sgd_bptt_sequence(m.params, ex.x, ex.y, ex.mask, 0.5, masks=m.masks, S=2)
        errs.append(abs(o[-1, 0] - ex.y[-1, 0]))
    errs = np.array(errs[-10000:])
    print(mode, "last 10k: mean", errs.mean(), "wrong frac", (errs >= 0.04).mean(), "test", test(m), "%.0fs" % (time.time() - t), flush=True)
