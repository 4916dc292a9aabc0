"""Threads and precision: train_batch with 1 and 2 threads, two nets trained from two
Python threads at once vs one after the other, float32 vs float64.

Each pair is measured in the same run; the ratios are the figures that matter."""
import threading

import numpy as np
import pytest

import fastlstm
import fastlstm._threads

# ~1,250 weights: I = 8, K = 4, 5 blocks of 4 cells
BATCH_NET = dict(n_in=8, n_out=4, n_blocks=5, block_size=4)
# ~1.2e4 and ~1e5 weights for the float32 comparison
BIG_NETS = {"W1e4": dict(n_in=8, n_out=8, n_blocks=16, block_size=4),
            "W1e5": dict(n_in=8, n_out=8, n_blocks=52, block_size=4)}


def batch_data(net, N, T, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (N, T, net.I)), rng.uniform(0, 1, (N, T, net.K)),
            rng.random((N, T)) < 0.2)


def run_batch(benchmark, net, x, y, m, schedule, n_threads):
    """n_threads "default": no n_threads, with set_num_threads(2) (the count
    lstm97_batch_threads picks, at most 2)"""
    if n_threads != "default":
        benchmark(net.train_batch, x, y, m, lr=1e-6, schedule=schedule, n_threads=n_threads)
        return
    fastlstm.set_num_threads(2)
    try:
        benchmark.extra_info["threads_used"] = fastlstm._threads.batch_threads(
            net, x.shape[0], x.shape[1], m, schedule)
        benchmark(net.train_batch, x, y, m, lr=1e-6, schedule=schedule)
    finally:
        fastlstm.set_num_threads(None)


@pytest.mark.parametrize("n_threads", [1, 2, "default"])
@pytest.mark.parametrize("N", [4, 8, 16, 32, 64])
def test_train_batch_threads(benchmark, N, n_threads):
    """Schedule "step": the mean update after every step with a target (the threads meet
    and exchange their dW rows at each)."""
    net = fastlstm.LSTM(**BATCH_NET, seed=0)
    x, y, m = batch_data(net, N, 100)
    benchmark.group = f"train_batch N={N} W={net.n_weights}"
    benchmark.extra_info["weight_steps"] = net.n_weights * 100 * N
    run_batch(benchmark, net, x, y, m, "step", n_threads)


@pytest.mark.parametrize("n_threads", [1, 2, "default"])
@pytest.mark.parametrize("N", [4, 8, 16, 32, 64])
def test_train_batch_threads_sequence(benchmark, N, n_threads):
    """Schedule "sequence": one mean update at the end (mini-batch gradient descent);
    the threads meet once per call."""
    net = fastlstm.LSTM(**BATCH_NET, seed=0)
    x, y, m = batch_data(net, N, 100)
    benchmark.group = f"train_batch schedule=sequence N={N} W={net.n_weights}"
    benchmark.extra_info["weight_steps"] = net.n_weights * 100 * N
    run_batch(benchmark, net, x, y, m, "sequence", n_threads)


@pytest.mark.parametrize("mode", ["serial", "two-threads"])
def test_concurrent_nets(benchmark, mode):
    nets = [fastlstm.LSTM(**BATCH_NET, seed=s) for s in (0, 1)]
    x, y, m = batch_data(nets[0], 1, 2000)
    x, y, m = x[0], y[0], m[0]

    def work(net):
        for _ in range(5):
            net.train_sequence(x, y, m, lr=1e-6)

    def serial():
        for net in nets:
            work(net)

    def threaded():
        ts = [threading.Thread(target=work, args=(net,)) for net in nets]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    benchmark.group = f"two nets, W={nets[0].n_weights}, 5 x T=2000 each"
    benchmark.extra_info["weight_steps"] = 2 * 5 * 2000 * nets[0].n_weights
    benchmark(serial if mode == "serial" else threaded)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("size", list(BIG_NETS))
def test_float32_vs_float64(benchmark, size, dtype):
    net = fastlstm.LSTM(**BIG_NETS[size], dtype=dtype, seed=0)
    rng = np.random.default_rng(0)
    T = 50
    x, y = rng.uniform(-1, 1, (T, net.I)), rng.uniform(0, 1, (T, net.K))
    benchmark.group = f"precision {size} (W={net.n_weights})"
    benchmark.extra_info["weight_steps"] = net.n_weights * T
    benchmark(net.train_sequence, x, y, lr=1e-6)
