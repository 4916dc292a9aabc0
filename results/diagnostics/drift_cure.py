"""Sensitivity (not the paper's 2c protocol): does curing the state drift let 2c q=p=200 learn?
A: paper's net.  B: + input-gate bias -2 (the paper's section-4 drift remedy, adds 4 weights)."""
import numpy as np, fastlstm
from fastlstm.experiments import protocols as P, runner
q = p = 200
for name, kw in (("A paper net", dict(bias=False)), ("B in-gate bias -2", dict(bias=("gates",), in_gate_bias=[-2.0, -2.0]))):
    for t in range(2):
        rng_w, rng_train = P._rngs(runner.trial_seed(0, "2c-q200-p200", t), 2)
        net = fastlstm.LSTM(p + 4, 2, 2, 1, init_range=0.2, seed=rng_w, **kw)
        gen = P.FastLag2c(q, p); errs = []
        for n in range(60000):
            x, y, m = gen.sample(rng_train); o = net.train_sequence(x, y, m, 0.01)
            errs.append(np.abs(o[-1] - y[-1]).max())
        e = np.array(errs)
        print(name, "trial", t, "fraction wrong in sequences 50k-60k:", (e[-10000:] >= 0.2).mean(), flush=True)
