"""train_batch with the sequences of full lane groups in vector lanes (csrc/lstm97_lanes.h;
4 lanes of float64 and 8 of float32 in the default build, groups of 1 or 2 blocks of 4).

The lanes step does each sequence's operations in the order of the per-sequence step, so
a batch gives bitwise the weights and outputs of the plain scalar kernel (which never
takes the lanes path) and of the tuned kernel with the lanes path off, for every N (full
blocks in lanes, the rest of a block sequence by sequence), thread count and schedule;
and it agrees with the numpy oracle."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core, oracle
from _helpers import G_NAMES, H_NAMES, RTOL, assert_close, unbounded_cell

NS = (4, 5, 8, 13, 19)      # 19: two groups of 8 lanes (float32) and a partial one


def bits(a):
    """The bytes of an array: equality is bit for bit (-0.0 != +0.0, NaN payloads)."""
    return np.ascontiguousarray(a).tobytes()


def run_batch(net, dims, x, y, tmask, lr, schedule, n_threads, lanes=True):
    """Two train_batch calls of the kernel with these dims from the net's weights:
    (weights, outputs of the second call)."""
    theta = net._theta.copy()
    N, T = x.shape[:2]
    lay = _core.layout(dims)
    out = np.empty((N, T, net.K), net.dtype)
    state = np.empty(N * lay["state_len"], net.dtype)
    work = np.empty(N * lay["work_len"], net.dtype)
    dW = np.empty(N * lay["n_params"], net.dtype)
    _core.set_batch_lanes(lanes)
    try:
        for _ in range(2):
            _core.train_batch(dims, theta, net._mask, x, y, tmask, lr,
                              _core.SCHEDULES[schedule], n_threads, out, state, work, dW)
    finally:
        _core.set_batch_lanes(True)
    return theta, out


def dims_of(net, kernel, sources):
    return net._dims[:8] + (kernel, _core.SOURCES_IDS[sources], 0, 0)


def config(seed):
    """Seed -> a 1997-cell net: every (g, h) pair over 25 seeds, with and without output
    gates, both source sets, logistic and linear outputs, random connectivity."""
    rng = np.random.default_rng(seed)
    cfg = dict(n_in=int(rng.integers(1, 5)), n_out=int(rng.integers(1, 4)),
               n_blocks=int(rng.integers(1, 4)), block_size=int(rng.integers(1, 4)),
               output_gate=bool(seed % 2), sources=("full", "cells")[seed // 2 % 2],
               out=("logistic", "linear")[seed // 4 % 2],
               g=G_NAMES[seed % 5], h=H_NAMES[seed // 5 % 5],
               recurrent=bool(rng.integers(2)), input_to_output=bool(rng.integers(2)),
               bias=bool(rng.integers(2)), init_range=float(rng.uniform(0.1, 0.5)))
    if unbounded_cell(cfg):
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    return rng, cfg


def data(rng, net, N, T, holes=True):
    x = rng.uniform(-1, 1, (N, T, net.I)).astype(net.dtype)
    y = rng.uniform(0, 1, (N, T, net.K)).astype(net.dtype)
    tmask = (rng.random((N, T)) < 0.5).astype(np.uint8) if holes else None
    return x, y, tmask


def check_bitwise(net, sources, x, y, tmask, lr, schedule, n_threads):
    fast = dims_of(net, _core.KERNEL_FAST, sources)
    assert _core.batch_lanes(fast), "the lanes path would not run"
    a = run_batch(net, fast, x, y, tmask, lr, schedule, n_threads)
    b = run_batch(net, dims_of(net, _core.KERNEL_NAIVE, sources), x, y, tmask, lr,
                  schedule, n_threads)
    c = run_batch(net, fast, x, y, tmask, lr, schedule, n_threads, lanes=False)
    what = f"N {len(x)}, {schedule}, {n_threads} threads"
    for u, v, w, name in zip(a, b, c, ("weights", "outputs")):
        assert bits(u) == bits(v), f"{name} differ from the plain kernel ({what})"
        assert bits(u) == bits(w), f"{name} differ with the lanes path off ({what})"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(25))
def test_lanes_equal_per_sequence_bitwise(seed, dtype):
    rng, cfg = config(seed)
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    if seed % 3 == 0:                      # a custom mask with holes in every group
        for name in net.params:
            net.set_mask(name, rng.random(net.masks[name].shape) < 0.8)
    lr = 0.02 if unbounded_cell(cfg) or cfg["out"] == "linear" else 0.2
    for N in NS:
        x, y, tmask = data(rng, net, N, int(rng.integers(1, 12)), holes=N != 8)
        for schedule in ("step", "sequence"):
            for n_threads in (1, 2):
                check_bitwise(net, cfg["sources"], x, y, tmask, lr, schedule, n_threads)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(0, 25, 3))
def test_lanes_match_oracle(seed, dtype):
    rng, cfg = config(seed)
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    ref = oracle.LSTM(**cfg, dtype=dtype, seed=seed)
    assert _core.batch_lanes(net._dims)
    lr = 0.02 if unbounded_cell(cfg) or cfg["out"] == "linear" else 0.2
    for N in NS:
        x, y, tmask = data(rng, net, N, int(rng.integers(1, 12)))
        mask = tmask.astype(bool)
        for schedule in ("step", "sequence"):
            out = net.train_batch(x, y, mask, lr=lr, schedule=schedule, n_threads=2)
            out_ref = ref.train_batch(x, y, mask, lr=lr, schedule=schedule)
            assert_close(out, out_ref, RTOL[net.dtype], f"N {N} {schedule} outputs")
            assert_close(net._theta, ref._theta, RTOL[net.dtype], f"N {N} {schedule} weights")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_in", [1, 3, 12, 13, 16, 20])
def test_lanes_long_rows_and_sparse_inputs(n_in, dtype):
    """Rows of 16 and more columns (the dot product's four partial sums) and one-hot
    inputs with n_in >= 16 (the tuned per-sequence step's sparse path)."""
    net = fastlstm.LSTM(n_in, 2, 2, 3, dtype=dtype, seed=n_in, init_range=0.5)
    rng = np.random.default_rng(n_in)
    N, T = 13, 15
    x = np.zeros((N, T, n_in), net.dtype)
    x[np.arange(N)[:, None], np.arange(T), rng.integers(0, n_in, (N, T))] = 1
    if n_in % 2:
        x = rng.uniform(-1, 1, x.shape).astype(net.dtype)
    y = rng.uniform(0, 1, (N, T, 2)).astype(net.dtype)
    tmask = (rng.random((N, T)) < 0.3).astype(np.uint8)
    for schedule in ("step", "sequence"):
        for n_threads in (1, 2):
            check_bitwise(net, "full", x, y, tmask, 0.1, schedule, n_threads)


def test_which_nets_take_the_lanes_path():
    net = fastlstm.LSTM(2, 1, 2, 2)
    assert _core.batch_lanes(net._dims)
    assert not _core.batch_lanes(dims_of(net, _core.KERNEL_NAIVE, "full"))
    for opts in (dict(forget_gate=True), dict(peepholes=True)):
        assert not _core.batch_lanes(fastlstm.LSTM(2, 1, 2, 2, **opts)._dims)
    assert not _core.batch_lanes(fastlstm.LSTM(2, 3, 2, 2, out="softmax")._dims)
    _core.set_batch_lanes(False)
    try:
        assert not _core.batch_lanes(net._dims)
    finally:
        _core.set_batch_lanes(True)
    assert _core.batch_lanes(net._dims)
    with pytest.raises(ValueError):
        _core.batch_lanes((0, 1, 1, 1, 1, 0, 0, 0))


@pytest.mark.skipif(_core.cpu_isa() < 2, reason="the CPU runs the baseline build only")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", [0, 7, 13, 24])
def test_lanes_in_the_baseline_build(seed, dtype):
    """The baseline build's lanes step (two-lane logistic) gives the same bits."""
    rng, cfg = config(seed)
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    lr = 0.02 if unbounded_cell(cfg) or cfg["out"] == "linear" else 0.2
    x, y, tmask = data(rng, net, 13, 9)
    avx2 = run_batch(net, net._dims, x, y, tmask, lr, "step", 1)
    _core.set_isa(True)
    try:
        assert _core.get_isa() == 1
        check_bitwise(net, cfg["sources"], x, y, tmask, lr, "step", 1)
        base = run_batch(net, net._dims, x, y, tmask, lr, "step", 1)
    finally:
        _core.set_isa(False)
    assert bits(avx2[0]) == bits(base[0]) and bits(avx2[1]) == bits(base[1])


@pytest.mark.parametrize("baseline", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lanes_logistic_beyond_its_table(dtype, baseline):
    """Net inputs beyond the logistic's table range (|x| > 512) at some steps of some
    sequences: the lanes logistic leaves its unchecked loop at the first such vector and
    checks every later value; the same bits as the plain kernel and the per-sequence
    path, in the best build and in the baseline build."""
    if baseline and _core.cpu_isa() < 2:
        pytest.skip("the CPU runs the baseline build only")
    net = fastlstm.LSTM(3, 2, 3, 2, dtype=dtype, seed=5, init_range=1.0)
    rng = np.random.default_rng(5)
    N, T = 19, 9
    x = rng.uniform(-1, 1, (N, T, 3))
    x[rng.random((N, T)) < 0.3] *= 2000.0
    x = x.astype(net.dtype)
    y = rng.uniform(0, 1, (N, T, 2)).astype(net.dtype)
    tmask = (rng.random((N, T)) < 0.5).astype(np.uint8)
    _core.set_isa(1 if baseline else 0)
    try:
        for schedule in ("step", "sequence"):
            for n_threads in (1, 2):
                check_bitwise(net, "full", x, y, tmask, 0.1, schedule, n_threads)
    finally:
        _core.set_isa(0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lanes_net_beyond_the_weight_table(dtype):
    """A net of more than 1,024 weights: the lanes step's mat-vecs then broadcast each
    weight themselves (the table of weights broadcast to the lanes holds 8 KB); rows of
    16 and more columns, an odd number of rows."""
    net = fastlstm.LSTM(50, 3, 3, 3, dtype=dtype, seed=11, init_range=0.2)
    assert _core.layout(net._dims)["n_params"] > 1024
    rng = np.random.default_rng(11)
    x, y, tmask = data(rng, net, 19, 7)
    for schedule in ("step", "sequence"):
        for n_threads in (1, 2):
            check_bitwise(net, "full", x, y, tmask, 0.1, schedule, n_threads)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lanes_steps_with_targets_only_outside_the_groups(dtype):
    """One thread skips the update at a step at which no sequence has a target; the
    steps at which only the sequences outside the lane groups (the per-sequence path)
    have one, and steps at which no sequence has one, still give the plain kernel's
    weights bit for bit."""
    net = fastlstm.LSTM(2, 1, 2, 2, dtype=dtype, seed=5, init_range=0.3)
    rng = np.random.default_rng(5)
    N, T = 21, 10          # 16 sequences in lane groups of 4, 8 or 16; 5 outside them
    x, y, _ = data(rng, net, N, T, holes=False)
    tmask = np.zeros((N, T), np.uint8)
    tmask[:16, [3, 9]] = 1                 # every lane group: steps 3 and 9
    tmask[16:, [1, 5, 9]] = 1              # only the per-sequence path at steps 1 and 5
    for schedule in ("step", "sequence"):
        for n_threads in (1, 2):
            check_bitwise(net, "full", x, y, tmask, 0.5, schedule, n_threads)
