import numpy as np, fastlstm
from fastlstm.tasks import get_task
task = get_task("adding", T=100)
def test(net, seed=99, n=2560):
    r = np.random.default_rng(seed); w = 0; e = []
    for _ in range(n):
        ex = task.sample(r); d = abs(net.forward(ex.x)[-1, 0] - ex.y[-1, 0]); e.append(d); w += d >= 0.04
    return int(w), round(float(np.mean(e)), 5)
for lr in (0.5, 0.1, 0.02):
    m = fastlstm.load("/tmp/diag/add120k.npz"); r = np.random.default_rng(5)
    for n in range(100000):
        ex = task.sample(r); m.train_sequence(ex.x, ex.y, ex.mask, lr)
    print("continue 100k with lr", lr, "test wrong/2560, mean abs:", test(m), flush=True)
