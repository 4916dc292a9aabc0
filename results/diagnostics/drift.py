import numpy as np, fastlstm
from fastlstm.experiments import protocols as P, runner
sig = lambda v: 1 / (1 + np.exp(-v))
def final_state(net, x):
    W = net.params; I = net.I; C = net.C; B = net.B
    yc = np.zeros(C); yin = np.zeros(B); yout = np.zeros(B); s = np.zeros(C)
    for t in range(x.shape[0]):
        z = np.concatenate(([1.0], x[t], yc, yin, yout))
        yin = sig(W["W_in"] @ z); yout = sig(W["W_out"] @ z); g = 2 * np.tanh(0.5 * (W["W_c"] @ z))
        s = s + yin * g; yc = yout * np.tanh(0.5 * s)
    return s
for q in (50, 100, 200, 1000):
    out = []
    for t in range(6):
        sd = runner.trial_seed(0, f"2c-q{q}-p{q}", t)
        rng_w, rng_train = P._rngs(sd, 2)
        net = fastlstm.LSTM(q + 4, 2, 2, 1, bias=False, init_range=0.2, seed=rng_w)
        gen = P.FastLag2c(q, q); x, y, m = gen.sample(rng_train)
        out.append(np.round(final_state(net, x), 1).tolist())
    print("q=p=", q, "final cell states of 6 initial nets:", out)
