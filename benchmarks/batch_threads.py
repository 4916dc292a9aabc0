"""train_batch's default thread count against one and two threads, side by side.

Run:  python benchmarks/batch_threads.py [rounds] [--out FILE]

For each net, batch size N, schedule and target pattern, times ``train_batch`` with
``n_threads=1``, ``n_threads=2`` and the default (``set_num_threads(2)``, no
``n_threads``: the count ``lstm97_batch_threads`` picks), the three interleaved in
``rounds`` rounds (each a few calls of each), and prints the minimum over rounds of the
median time per call, the ratios to one thread (> 1: faster than one thread), the count
the default picked and the work per thread between two meetings of the threads
(``ceil(N / 2) * weights * T / meetings``, the figure the default's threshold bounds).
Each row is appended to FILE (when given) as it is measured.
"""
import argparse
import time

import numpy as np

import fastlstm
from fastlstm import _threads

T = 100
NETS = {
    # the net of benchmarks/test_bench_parallel.py and benchmarks/c/bench_batch.c
    "bench-1254": dict(n_in=8, n_out=4, n_blocks=5, block_size=4),
    # the adding net of the paper (93 weights) and the Reber net's size (264)
    "adding-93": dict(n_in=2, n_out=1, n_blocks=2, block_size=2),
    "reber-264": dict(n_in=7, n_out=7, n_blocks=4, block_size=1, bias="gates"),
}
NS = (4, 8, 16, 32, 64)


def targets(kind, N, rng):
    """The target mask: "1/5" a target at random at 1 in 5 sequence-steps (as in
    test_bench_parallel.py), "end" only at the last step (the adding task), "all" at
    every step (None)."""
    if kind == "all":
        return None
    if kind == "end":
        m = np.zeros((N, T), bool)
        m[:, -1] = True
        return m
    return rng.random((N, T)) < 0.2


def meetings(m, schedule):
    if schedule == "sequence":
        return 1
    return T if m is None else int(m.any(axis=0).sum())


def time_calls(net, x, y, m, schedule, n_threads, calls):
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        net.train_batch(x, y, m, lr=1e-9, schedule=schedule, n_threads=n_threads)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rounds", nargs="?", type=int, default=7)
    ap.add_argument("--out")
    args = ap.parse_args()
    fastlstm.set_num_threads(2)
    head = (f"{'net':11} {'sched':8} {'tgt':4} {'N':>3} {'1 thr us':>9} {'2 thr us':>9} "
            f"{'dflt us':>9} {'2/1':>5} {'dflt/1':>6} {'dflt k':>6} {'work/thr':>9}")
    print(head, flush=True)
    out = open(args.out, "a") if args.out else None
    if out:
        print(head, file=out, flush=True)
    rng = np.random.default_rng(0)
    for name, kw in NETS.items():
        net = fastlstm.LSTM(**kw, seed=0)
        for schedule, kinds in (("step", ("1/5", "end", "all")), ("sequence", ("1/5",))):
            for kind in kinds:
                for N in NS:
                    x = rng.uniform(-1, 1, (N, T, net.I))
                    y = rng.uniform(0, 1, (N, T, net.K))
                    m = targets(kind, N, rng)
                    k = _threads.batch_threads(net, N, T, m, schedule)
                    per_call = time_calls(net, x, y, m, schedule, 1, 3)
                    calls = max(3, min(30, int(0.02 / per_call)))
                    best = {1: np.inf, 2: np.inf, None: np.inf}
                    for _ in range(args.rounds):
                        for nt in (1, 2, None):
                            best[nt] = min(best[nt],
                                           time_calls(net, x, y, m, schedule, nt, calls))
                    work = -(-N // 2) * net.n_weights * T / max(1, meetings(m, schedule))
                    row = (f"{name:11} {schedule:8} {kind:4} {N:3d} {best[1] * 1e6:9.1f} "
                           f"{best[2] * 1e6:9.1f} {best[None] * 1e6:9.1f} "
                           f"{best[1] / best[2]:5.2f} {best[1] / best[None]:6.2f} {k:6d} "
                           f"{work:9.0f}")
                    print(row, flush=True)
                    if out:
                        print(row, file=out, flush=True)
    fastlstm.set_num_threads(None)


if __name__ == "__main__":
    main()
