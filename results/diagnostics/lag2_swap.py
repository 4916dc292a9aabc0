"""Diagnostic: Exp. 2a with g and h swapped (g = identity, h = logistic), plain numpy,
same protocol as fastlstm.experiments.protocols._lag2_trial (sequential construction).
Usage: python lag2_swap.py VARIANT(2a|2b) G(id|g1) H(sig|id) SEED CAP"""
import sys, numpy as np
from fastlstm.tasks import get_task
from fastlstm.experiments import protocols as P
variant, gname, hname, seed, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sig = lambda v: 1/(1+np.exp(-v))
p = 100; I = p + 1
rng_w, rng_train, rng_cell = P._rngs(seed, 3)
task = get_task("lag" + variant, p=p)
W_in = rng_w.uniform(-.2, .2, I); W_c = rng_w.uniform(-.2, .2, I)
W_k = rng_w.uniform(-.2, .2, (I, I + 1)); W_k[:, I] = 0; cell = False
lr = 1.0
def g_fn(n):  return (n, np.ones_like(n)) if gname == "id" else (sig(n), sig(n)*(1-sig(n)))
def h_fn(s):  return (sig(s), sig(s)*(1-sig(s))) if hname == "sig" else (s, 1.0)
run = 0; prev = None; bsum = 0.0; bn = 0; added = None
for n in range(1, cap + 1):
    ex = task.sample(rng_train)
    s = 0.0; dSc = np.zeros(I); dSin = np.zeros(I)
    worst = 0.0; sse = 0.0
    for t in range(ex.T):
        x = ex.x[t]
        ni = W_in @ x; yi = sig(ni); nc = W_c @ x; g, gp = g_fn(nc)
        s = s + yi * g
        dSc = dSc + gp * yi * x
        dSin = dSin + g * yi * (1 - yi) * x
        yc, hp = h_fn(s)
        if not cell: yc = 0.0
        u = np.concatenate((x, [yc]))
        y = sig(W_k @ u)
        d = ex.y[t] - y
        if variant == "2a" or t == ex.T - 1:
            worst = max(worst, np.abs(d).max())
        sse += (d * d).sum()
        e = y * (1 - y) * d
        if cell:
            back = W_k[:, I] @ e; es = hp * back
            W_c += lr * es * dSc; W_in += lr * es * dSin
            W_k += lr * np.outer(e, u)
        else:
            W_k[:, :I] += lr * np.outer(e, x)
    run = run + 1 if worst < 0.25 else 0
    if run >= 10000: print("success", n - 10000, "cell added", added); break
    if not cell:
        bsum += sse; bn += 1
        if bn == 200:
            m = bsum / bn
            if prev is not None and m > 0.99 * prev:
                cell = True; added = n; W_k[:, I] = rng_cell.uniform(-.2, .2, I)
            prev, bsum, bn = m, 0.0, 0
    if n % 1000 == 0: print(n, run, worst, sse, "cell", added, flush=True)
else:
    print("cap", cap)
