"""The tuned C step against the plain scalar step kept beside it (dims kernel=1).

Both compute every sum in the same order and the tuned one only skips multiplications by
a mask of 1 (exact), so on the default build they agree bit for bit."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core, oracle
from _helpers import (RTOL, assert_close, kernel_dims, kernel_run, random_config,
                      random_sequence, unbounded_cell)


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
        a = kernel_run(net, _core.KERNEL_FAST, x, y, tmask, 0.05, schedule)
        b = kernel_run(net, _core.KERNEL_NAIVE, x, y, tmask, 0.05, schedule)
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
        a = kernel_run(net, _core.KERNEL_FAST, x, y, tmask, 0.05, schedule)
        b = kernel_run(net, _core.KERNEL_NAIVE, x, y, tmask, 0.05, schedule)
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
        a = kernel_run(net, _core.KERNEL_FAST, x, y, mask.astype(np.uint8), 0.1, schedule)
        b = kernel_run(net, _core.KERNEL_NAIVE, x, y, mask.astype(np.uint8), 0.1, schedule)
        for u, v, what in zip(a, b, ("weights", "outputs", "forward")):
            np.testing.assert_array_equal(u, v, err_msg=f"{what}, schedule {schedule}")


# ---------------------------------------------------------------- the LSTM family, tuned

FAMILY = [dict(forget_gate=fg, peepholes=pp, output_gate=og, sources=src)
          for fg in (False, True) for pp in (False, True) for og in (False, True)
          for src in ("full", "cells")]


def family_net(rng, seed, dtype, opts, n_in=None, holes=False):
    """A random architecture with the options `opts` (every squashing function and
    output kind among the choices), optionally with holes in every mask group."""
    cfg = random_config(rng)
    cfg.update(opts, out=str(rng.choice(["logistic", "linear", "softmax"])))
    if n_in is not None:
        cfg["n_in"] = n_in
    if cfg["out"] == "softmax":
        cfg["n_out"] = max(cfg["n_out"], 2)
    if unbounded_cell(cfg) or cfg["out"] == "linear":
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    if cfg["forget_gate"] and "gates" in cfg["bias"] and rng.integers(2):
        cfg["forget_gate_bias"] = rng.uniform(-1, 2, cfg["n_blocks"]).tolist()
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    if holes:
        for name in net.params:
            net.set_mask(name, rng.random(net.masks[name].shape) < 0.8)
    return cfg, net


def family_data(rng, net, T, dtype, one_hot=False):
    if one_hot:                                      # the tuned step's sparse inputs
        x = np.zeros((T, net.I), dtype)
        x[np.arange(T), rng.integers(0, net.I, T)] = 1.0
        x[rng.random(T) < 0.2] *= 0.0
    else:
        x = rng.uniform(-1, 1, (T, net.I)).astype(dtype)
    if net.config["out"] == "softmax":
        y = rng.dirichlet(np.ones(net.K), size=T).astype(dtype)
    else:
        y = rng.uniform(0, 1, (T, net.K)).astype(dtype)
    tmask = (rng.random(T) < 0.5).astype(np.uint8)
    return x, y, tmask


def run_entry_points(net, kernel, x, y, tmask, lr):
    """Every entry point of one step kernel: train (both schedules), forward, run in
    each mode, single steps in each mode with and without targets, train_batch."""
    dims = kernel_dims(net, kernel)
    theta = net._theta.copy()
    results = []
    state, work = np.zeros_like(net._state), np.zeros_like(net._work)
    dW = np.zeros_like(theta)
    for schedule in (0, 1):
        out = np.empty((len(x), net.K), net.dtype)
        _core.train(dims, theta, net._mask, x, y, tmask, lr, schedule, out, state, work, dW)
        results += [theta.copy(), out, state.copy()]
    fwd = np.empty((len(x), net.K), net.dtype)
    _core.forward(dims, theta, x, fwd, state, work)
    results += [fwd, state.copy()]
    for mode in (_core.MODE_FORWARD, _core.MODE_LEARN, _core.MODE_ACCUMULATE):
        out = np.empty((len(x), net.K), net.dtype)
        _core.run(dims, theta, net._mask, x, y, tmask, lr, mode, out, state, work, dW)
        results += [theta.copy(), out, state.copy(), dW.copy()]
    for t in range(len(x)):
        mode = (_core.MODE_FORWARD, _core.MODE_LEARN, _core.MODE_ACCUMULATE)[t % 3]
        o = np.empty(net.K, net.dtype)
        _core.step(dims, theta, net._mask, x[t], y[t] if tmask[t] else None, lr, mode, o,
                   state, work, dW)
        results += [o, state.copy()]
    results += [theta.copy(), dW.copy()]
    N = 3
    xb, yb = np.stack([x] * N), np.stack([y] * N)
    xb[1:] *= 0.5
    tb = np.stack([tmask] * N)
    for schedule in (0, 1):
        out = np.empty((N, len(x), net.K), net.dtype)
        _core.train_batch(dims, theta, net._mask, xb, yb, tb, lr, schedule, 2, out,
                          np.zeros(N * net._state.size, net.dtype),
                          np.zeros(N * net._work.size, net.dtype),
                          np.zeros(N * theta.size, net.dtype))
        results += [theta.copy(), out]
    return results


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opts", FAMILY, ids=lambda o: "-".join(
    k for k, v in o.items() if v is True) + "-" + o["sources"])
def test_family_fast_equals_naive(opts, dtype):
    """Forget gates and peepholes in the tuned step: bit for bit the plain step's
    results on every entry point, for every combination of the options, with full masks
    and masks with holes, dense and one-hot (sparse) inputs."""
    seed = FAMILY.index(opts)
    for case in range(4):
        rng = np.random.default_rng(3000 + 10 * seed + case)
        one_hot = case >= 2
        cfg, net = family_net(rng, seed, dtype, opts,
                              n_in=int(rng.integers(16, 30)) if one_hot else None,
                              holes=case % 2 == 1)
        x, y, tmask = family_data(rng, net, int(rng.integers(1, 25)), dtype, one_hot)
        a = run_entry_points(net, _core.KERNEL_FAST, x, y, tmask, 0.1)
        b = run_entry_points(net, _core.KERNEL_NAIVE, x, y, tmask, 0.1)
        assert len(a) == len(b)
        for i, (u, v) in enumerate(zip(a, b)):
            np.testing.assert_array_equal(u, v, err_msg=f"result {i}, case {case}, {cfg}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opts", FAMILY, ids=lambda o: "-".join(
    k for k, v in o.items() if v is True) + "-" + o["sources"])
def test_family_fast_matches_oracle(opts, dtype):
    """The tuned step (the compiled net's default) against the numpy oracle over random
    architectures with every combination of the options: outputs, weights after both
    schedules, and a stream of single steps with and without targets."""
    seed = FAMILY.index(opts)
    rtol = RTOL[np.dtype(dtype)]
    for case in range(3):
        rng = np.random.default_rng(4000 + 10 * seed + case)
        cfg, net = family_net(rng, seed, dtype, opts,
                              n_in=int(rng.integers(16, 24)) if case == 2 else None)
        assert net._dims[8:9] in ((), (_core.KERNEL_FAST,))     # the tuned step
        ref = oracle.LSTM(**cfg, dtype=dtype, seed=seed)
        assert np.array_equal(net._theta, ref._theta)
        T = int(rng.integers(1, 20 if dtype == "float64" else 12))
        x, y, tmask = family_data(rng, net, T, dtype, case == 2)
        mask = tmask.astype(bool)
        assert_close(net.forward(x), ref.forward(x), rtol, f"forward {cfg}")
        for schedule in ("step", "sequence"):
            assert_close(net.train_sequence(x, y, mask, 0.2, schedule),
                         ref.train_sequence(x, y, mask, 0.2, schedule), rtol, schedule)
            assert_close(net._theta, ref._theta, rtol, f"weights after {schedule} {cfg}")
        s, r = net.stream(learn=True, lr=0.2), ref.stream(learn=True, lr=0.2)
        for t in range(len(x)):
            assert_close(s.step(x[t], y[t] if mask[t] else None),
                         r.step(x[t], y[t] if mask[t] else None), rtol, "stream step")
        assert_close(net._theta, ref._theta, rtol, f"weights after the stream {cfg}")
