"""train_batch at N = 32, one thread: full blocks of 4 sequences in vector lanes against
the same kernel with the lanes path off (the sequence-by-sequence path), interleaved.

Run:  python benchmarks/batch_lanes.py [rounds]
Prints, per net and dtype, the minimum over rounds of the median time per sequence of
each path (each round times both paths in turn, a few calls each).
"""
import sys
import time

import numpy as np

from conftest import make
from fastlstm import _core

N = 32


def batch(net_name, dtype):
    """N sequences of the net's task cut to one length, targets where the task has them
    (the adding task: its one target at the last step)."""
    net, _ = make(net_name, "c", dtype=dtype)
    exs = [make(net_name, "c", seed=s)[1] for s in range(N)]
    T = min(e.T for e in exs)
    x = np.stack([e.x[:T] for e in exs]).astype(dtype)
    y = np.stack([e.y[:T] for e in exs]).astype(dtype)
    m = np.stack([e.mask[:T] for e in exs]) if exs[0].mask is not None else None
    if net_name.startswith("adding"):
        m = np.zeros((N, T), bool)
        m[:, -1] = True
    return net, x, y, m, T


def time_path(net, x, y, m, lanes, calls=5):
    _core.set_batch_lanes(lanes)
    try:
        ts = []
        for _ in range(calls):
            t0 = time.perf_counter()
            net.train_batch(x, y, m, lr=1e-9, n_threads=1)
            ts.append(time.perf_counter() - t0)
    finally:
        _core.set_batch_lanes(True)
    return float(np.median(ts))


def main(rounds=7):
    print(f"{'net':14} {'dtype':8} {'T':>4} {'off us/seq':>11} {'lanes us/seq':>13} {'ratio':>6}")
    for net_name in ("adding-93", "reber-264", "order6b-308"):
        for dtype in ("float64", "float32"):
            net, x, y, m, T = batch(net_name, dtype)
            best = {True: np.inf, False: np.inf}
            for _ in range(rounds):
                for lanes in (False, True):
                    best[lanes] = min(best[lanes], time_path(net, x, y, m, lanes))
            off, on = best[False] / N * 1e6, best[True] / N * 1e6
            print(f"{net_name:14} {dtype:8} {T:4d} {off:11.2f} {on:13.2f} {off / on:6.2f}",
                  flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
