import sys, numpy as np, fastlstm
from fastlstm.experiments import protocols as P
from fastlstm.tasks import get_task
variant, add_at, seed, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng_w, rng_train, rng_cell = P._rngs(seed, 3)
task = get_task(variant, p=100); I = 101
net = fastlstm.LSTM(I, I, 1, 1, output_gate=False, recurrent=False, input_to_output=True, bias=False, g="g1", h="id", init_range=0.2, seed=rng_w)
full = np.array(net.masks["W_k"]); nc = full.copy(); nc[:, 1 + I] = 0; net.set_mask("W_k", nc)
run = 0
for n in range(1, cap + 1):
    if n == add_at + 1:
        net.set_mask("W_k", full); net.params["W_k"][:, 1 + I] = rng_cell.uniform(-.2, .2, I)
    ex = task.sample(rng_train)
    try:
        out = net.train_sequence(ex.x, ex.y, ex.mask, 1.0)
    except FloatingPointError:
        print("diverged at", n); break
    d = np.abs(out - ex.y); worst = d[-1].max() if variant == "lag2b" else d.max()
    run = run + 1 if worst < 0.25 else 0
    if run >= 10000: print("success", n - 10000); break
    if n % 2000 == 0: print(n, run, round(worst, 3), "argmax step", int(np.argmax(d.max(1))), flush=True)
