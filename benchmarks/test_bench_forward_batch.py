"""Batched inference: forward over (N, T, I) with 1 and 2 threads beside N single
forward calls (the same outputs, bit for bit; checked before timing).

Each group is measured in the same run; the ratios are the figures that matter."""
import numpy as np
import pytest

import fastlstm

# ~1,250 weights: I = 8, K = 4, 5 blocks of 4 cells (the train_batch benchmark's net)
NET = dict(n_in=8, n_out=4, n_blocks=5, block_size=4)
T = 100


def batch(net, N, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (N, T, net.I))


@pytest.mark.parametrize("how", ["loop", "batch-1", "batch-2"])
@pytest.mark.parametrize("N", [8, 64])
def test_forward_batch(benchmark, N, how):
    net = fastlstm.LSTM(**NET, seed=0)
    x = batch(net, N)
    ref = np.array([net.forward(x[n]) for n in range(N)])
    benchmark.group = f"forward N={N} T={T} W={net.n_weights}"
    benchmark.extra_info["weight_steps"] = net.n_weights * T * N
    if how == "loop":
        def run():
            return [net.forward(x[n]) for n in range(N)]
        assert np.array_equal(np.array(run()), ref)
        benchmark(run)
    else:
        threads = int(how.split("-")[1])
        assert np.array_equal(net.forward(x, n_threads=threads), ref)
        benchmark(net.forward, x, n_threads=threads)
