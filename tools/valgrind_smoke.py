"""A small training run for valgrind memcheck (docs/reliability.md).

    PYTHONMALLOC=malloc valgrind --leak-check=full --errors-for-leak-kinds=definite \\
        --error-exitcode=1 python tools/valgrind_smoke.py

Exercises every kernel of the compiled core in both dtypes: construction, forward,
train_sequence (both schedules), streaming (step, feed, end, reset), train_batch with
threads, a diverging call (FloatingPointError and restore), bad arguments, save and load.
Prints "smoke ok" at the end.  ``--backend oracle`` runs the same script on the numpy
oracle (no compiled kernel): tools/valgrind.sh uses that run as the baseline of the
interpreter's and numpy's own reports.
"""
import os
import sys
import tempfile

import numpy as np

import fastlstm


def main(LSTM, load):
    rng = np.random.default_rng(0)
    tmp = tempfile.mkdtemp()
    for dtype in ("float64", "float32"):
        for og in (True, False):
            net = LSTM(3, 2, 3, 2, output_gate=og, h="tanh", dtype=dtype,
                                in_gate_bias=[-1, -2, -3], seed=1)
            for i in range(6):
                x = rng.uniform(-1, 1, (17, 3))
                y = rng.uniform(0, 1, (17, 2))
                m = rng.random(17) < 0.5
                net.train_sequence(x, y, m, lr=0.3, schedule=("step", "sequence")[i % 2])
            out = net.forward(x)
            assert out.shape == (17, 2) and np.isfinite(out).all()
            for sch in ("step", "sequence"):
                s = net.stream(learn=True, lr=0.2, schedule=sch)
                for t in range(5):
                    s.step(x[t], y[t] if t % 2 else None)
                if hasattr(s, "feed"):
                    s.feed(x[5:12], y[5:12], m[5:12])
                s.end()
                s.step(x[0])
                s.reset()
            s = net.stream()
            for t in range(4):
                s.step(x[t])
            if hasattr(net, "train_batch"):
                xb = rng.uniform(-1, 1, (9, 6, 3))
                yb = rng.uniform(0, 1, (9, 6, 2))
                for n_threads in (1, 3):
                    net.train_batch(xb, yb, rng.random((9, 6)) < 0.5, 0.2, "step",
                                    n_threads)
                    net.train_batch(xb, yb, None, 0.2, "sequence", n_threads)
            before = net._theta.copy()
            try:
                net.train_sequence(x, y * 1e6, lr=1e30)
            except FloatingPointError:
                pass
            assert np.array_equal(net._theta, before) or np.isfinite(net._theta).all()
            for bad in (np.zeros((5, 4)), np.full((5, 3), np.nan), None):
                try:
                    net.forward(bad)
                except (TypeError, ValueError):
                    pass
            path = os.path.join(tmp, f"net-{dtype}-{og}.npz")
            net.save(path)
            back = load(path)
            assert np.array_equal(back.forward(x), net.forward(x))
    print("smoke ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--backend", "oracle"]:
        from fastlstm import oracle
        main(oracle.LSTM, oracle.load)
    else:
        main(fastlstm.LSTM, fastlstm.load)
