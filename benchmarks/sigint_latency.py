"""Ctrl-C latency of the long calls: SIGINT is sent from a timer thread while the call
runs; the figure is the time from the signal to the KeyboardInterrupt in the caller.

Usage: python benchmarks/sigint_latency.py [--repeat 3] [--delay 0.5]

Each call is one that runs for seconds without the interrupt (the adding net of the
paper's experiment 4: 2 inputs, 2 blocks of 2 cells, 1 output):
``train_sequence`` and ``forward`` with T = 2e7, ``train_batch`` with 2 threads,
N = 8, T = 2e6, ``gradient`` with T = 2e6.  After each interrupted training call the
script checks that the weights are exactly those before the call.
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import threading
import time

import numpy as np

import fastlstm


def interrupt_latency(call, delay: float) -> float:
    """Seconds from a SIGINT sent ``delay`` s after the start of ``call()`` to its
    KeyboardInterrupt; raises if the call ends without one."""
    sent = []

    def fire():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, fire)
    timer.start()
    try:
        call()
    except KeyboardInterrupt:
        caught = time.perf_counter()
    else:
        timer.cancel()
        raise RuntimeError("the call ended before the interrupt; make it longer")
    finally:
        timer.join()
    return caught - sent[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--delay", type=float, default=0.5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    T = 20_000_000
    x = rng.uniform(-1, 1, (T, 2))
    y = rng.uniform(0, 1, (T, 1))
    N, Tb = 8, 2_000_000
    xb = rng.uniform(-1, 1, (N, Tb, 2))
    yb = rng.uniform(0, 1, (N, Tb, 1))
    Tg = 2_000_000
    calls = {
        "train_sequence T=2e7": lambda: net.train_sequence(x, y, lr=1e-3),
        "forward T=2e7": lambda: net.forward(x),
        "train_batch 2 threads N=8 T=2e6": lambda: net.train_batch(xb, yb, lr=1e-3,
                                                                   n_threads=2),
        "gradient T=2e6": lambda: net.gradient(x[:Tg], y[:Tg]),
        "batched forward 2 threads N=8 T=2e6": lambda: net.forward(xb, n_threads=2),
    }
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, fastlstm {getattr(fastlstm, '__version__', '?')}, "
          f"signal sent {args.delay} s into each call")
    for name, call in calls.items():
        lat = []
        for _ in range(args.repeat):
            before = net._theta.copy()
            lat.append(interrupt_latency(call, args.delay))
            if not np.array_equal(net._theta, before):
                raise AssertionError(f"{name}: the weights changed although interrupted")
        print(f"{name:34s} latency ms: " + " ".join(f"{1e3 * v:7.2f}" for v in lat)
              + f"   (max {1e3 * max(lat):.2f})")


if __name__ == "__main__":
    main()
