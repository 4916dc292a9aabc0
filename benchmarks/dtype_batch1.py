"""float64 against float32 on the adding net at batch 1, through Python.

    python benchmarks/dtype_batch1.py [--rounds 15]

`train_sequence` on one adding-problem sequence (T = 100, the paper's input-gate biases)
for a float64 net, a float32 net given float64 arrays (numpy's default: the call converts
them) and a float32 net given float32 arrays, the three interleaved in every round; prints
the minimum over the rounds of the mean time per call (timeit, 500 calls, best of 3).
"""
import argparse
import timeit

import numpy as np

import fastlstm
from fastlstm.tasks import get_task


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error(f"--rounds: expected a positive count, got {args.rounds}")
    ex = get_task("adding", T=100).sample(np.random.default_rng(0))
    nets = {d: fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2,
                             in_gate_bias=[-3, -6], seed=0, dtype=d)
            for d in ("float64", "float32")}
    x32, y32 = ex.x.astype(np.float32), ex.y.astype(np.float32)
    cases = {
        "float64 net, float64 arrays":
            lambda: nets["float64"].train_sequence(ex.x, ex.y, ex.mask, lr=1e-9),
        "float32 net, float64 arrays":
            lambda: nets["float32"].train_sequence(ex.x, ex.y, ex.mask, lr=1e-9),
        "float32 net, float32 arrays":
            lambda: nets["float32"].train_sequence(x32, y32, ex.mask, lr=1e-9),
    }
    best = {k: float("inf") for k in cases}
    for _ in range(args.rounds):
        for k, f in cases.items():
            t = min(timeit.repeat(f, number=500, repeat=3)) / 500
            best[k] = min(best[k], t)
    for k, t in best.items():
        print(f"{k}: {t * 1e6:.2f} us per call")


if __name__ == "__main__":
    main()
