"""The tuned C step against the plain scalar step kept beside it (dims kernel=1).

Both compute every sum in the same order and the tuned one only skips multiplications by
a mask of 1 (exact), so on the default build they agree bit for bit."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core
from _helpers import random_config, random_sequence


def run(net, kernel, x, y, tmask, lr, schedule):
    dims = net._dims[:8] + (kernel,)
    theta = net._theta.copy()
    out = np.empty((len(x), net.K), net.dtype)
    state = np.zeros_like(net._state)
    work = np.zeros_like(net._work)
    dW = np.zeros_like(theta)
    for _ in range(2):
        _core.train(dims, theta, net._mask, x, y, tmask, lr, schedule, out, state, work, dW)
    fwd = np.empty_like(out)
    _core.forward(dims, theta, x, fwd, state, work)
    return theta, out, fwd


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(60))
def test_fast_equals_naive(seed, dtype):
    rng = np.random.default_rng(seed)
    cfg = random_config(rng)
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    if seed % 3 == 0:                      # a custom mask with holes in every group
        for name in net.params:
            net.set_mask(name, rng.random(net.masks[name].shape) < 0.8)
    x, y, mask = random_sequence(rng, net, int(rng.integers(1, 40)))
    x, y = x.astype(dtype), y.astype(dtype)
    tmask = mask.astype(np.uint8)
    for schedule in (0, 1):
        a = run(net, _core.KERNEL_FAST, x, y, tmask, 0.05, schedule)
        b = run(net, _core.KERNEL_NAIVE, x, y, tmask, 0.05, schedule)
        for u, v, what in zip(a, b, ("weights", "outputs", "forward")):
            np.testing.assert_array_equal(u, v, err_msg=f"{what}, schedule {schedule}")


def test_streaming_step_fast_equals_naive():
    rng = np.random.default_rng(0)
    net = fastlstm.LSTM(3, 2, 2, 3, seed=1)
    x, y, _ = random_sequence(rng, net, 30)
    results = []
    for kernel in (_core.KERNEL_FAST, _core.KERNEL_NAIVE):
        dims = net._dims[:8] + (kernel,)
        theta = net._theta.copy()
        state = np.zeros_like(net._state)
        outs = []
        for t in range(30):
            o = np.empty(2)
            _core.step(dims, theta, net._mask, x[t], y[t], 0.3, _core.MODE_LEARN, o, state,
                       np.zeros_like(net._work), np.zeros_like(theta))
            outs.append(o)
        results.append((theta, np.array(outs)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(20))
def test_sparse_inputs_fast_equals_naive(seed, dtype):
    """One-hot inputs with I >= 16 take the sparse path of the tuned step."""
    rng = np.random.default_rng(1000 + seed)
    cfg = random_config(rng)
    cfg["n_in"] = int(rng.integers(16, 60))
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    if seed % 2:
        for name in net.params:
            net.set_mask(name, rng.random(net.masks[name].shape) < 0.8)
    T = int(rng.integers(1, 40))
    x = np.zeros((T, net.I), dtype)
    x[np.arange(T), rng.integers(0, net.I, T)] = 1.0       # one-hot
    x[rng.random(T) < 0.2] *= 0.0                            # some all-zero steps
    x[rng.random(T) < 0.2, 0] = -0.5                        # some two-hot steps
    y = rng.uniform(0, 1, (T, net.K)).astype(dtype)
    tmask = (rng.random(T) < 0.5).astype(np.uint8)
    for schedule in (0, 1):
        a = run(net, _core.KERNEL_FAST, x, y, tmask, 0.05, schedule)
        b = run(net, _core.KERNEL_NAIVE, x, y, tmask, 0.05, schedule)
        for u, v, what in zip(a, b, ("weights", "outputs", "forward")):
            np.testing.assert_array_equal(u, v, err_msg=f"{what}, schedule {schedule}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_in", range(1, 14))
def test_dot_orders_fast_equals_naive(n_in, dtype):
    """Rows of 12..24 columns: both sides of the switch from one sequential sum (n < 16)
    to four lanes, every n mod 4, and row counts that leave 0..3 rows after the blocks
    of four in the tuned mat-vec."""
    net = fastlstm.LSTM(n_in, 1 + n_in % 4, 2, 3, dtype=dtype, seed=n_in, init_range=0.5)
    rng = np.random.default_rng(n_in)
    x, y, mask = random_sequence(rng, net, 25)
    x, y = x.astype(dtype), y.astype(dtype)
    for schedule in (0, 1):
        a = run(net, _core.KERNEL_FAST, x, y, mask.astype(np.uint8), 0.1, schedule)
        b = run(net, _core.KERNEL_NAIVE, x, y, mask.astype(np.uint8), 0.1, schedule)
        for u, v, what in zip(a, b, ("weights", "outputs", "forward")):
            np.testing.assert_array_equal(u, v, err_msg=f"{what}, schedule {schedule}")
