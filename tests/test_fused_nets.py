"""The next step's net inputs computed in the update pass of the tuned step.

At a step with a target (schedule "step", the 1997 cell, dense inputs, rows of at least 64
columns without a mask zero in W_in, W_out, W_c) the tuned step computes the net inputs of
step t + 1 while it updates the rows, and the next step of the same call skips its
mat-vec.  Each of those dot products must sum in the order of the mat-vec (bitwise the
plain step's), use the rows after their last update of the step (W_in: after the last cell
of its block) and z(t+1), and never be used by a step of another call.  These tests run
the tuned step at every instruction-set level of the CPU beside the plain step, on nets
whose rows leave every tail of the vector loops, and through sequences of calls that
change the state, the parameters, the masks, the rate or the schedule between calls."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core

from _helpers import at_level, kernel_dims

LEVELS = [1] + [lv for lv in (2, 3) if _core.cpu_isa() >= lv]


def fused_net(n_in, B, S, sources, output_gate, dtype, seed):
    """A 1997 net with full masks on W_in, W_out and W_c (the fused case)."""
    return fastlstm.LSTM(n_in, 3, B, S, output_gate=output_gate, sources=sources,
                         init_range=0.3, dtype=dtype, seed=seed)


def calls_of(net, kernel, x, y, rng_seed):
    """A sequence of kernel calls on one copy of the net (state carried between the calls
    unless a call resets it): every value they return, in order."""
    rng = np.random.default_rng(rng_seed)
    d = kernel_dims(net, kernel)
    theta, mask = net._theta.copy(), net._mask.copy()
    state, work = np.zeros_like(net._state), np.zeros_like(net._work)
    dW = np.zeros_like(theta)
    T, K = len(x), net.K
    got = []
    ones = np.ones(T, np.uint8)
    tm = (rng.random(T) < 0.7).astype(np.uint8)

    def run(a, b, lr, mode, tmask=ones):
        out = np.empty((b - a, K), net.dtype)
        _core.run(d, theta, mask, x[a:b], y[a:b], tmask[a:b], lr, mode, out, state, work, dW)
        got.extend([out, theta.copy(), state.copy()])

    run(0, 9, 0.3, _core.MODE_LEARN)                      # chunks, state carried
    run(9, 10, 0.3, _core.MODE_LEARN)                     # a one-step call
    run(10, 23, 0.7, _core.MODE_LEARN, tm)                # another rate, targets missing
    saved = state.copy()
    run(23, 30, 0.0, _core.MODE_FORWARD)                  # forward only
    run(30, 36, 0.3, _core.MODE_LEARN)
    state[...] = saved                                    # set_state
    run(36, 44, 0.3, _core.MODE_LEARN)
    dW[...] = 0                                           # schedule "sequence"
    run(44, 52, 0.3, _core.MODE_ACCUMULATE, tm)
    _core.apply(d, theta, dW)
    got.append(theta.copy())
    run(52, 58, 0.3, _core.MODE_LEARN)
    for t in range(58, 61):                               # single steps (Stream)
        o = np.empty(K, net.dtype)
        _core.step(d, theta, mask, x[t], y[t], 0.3, _core.MODE_LEARN, o, state, work, dW)
        got.append(o)
    run(61, 66, 0.3, _core.MODE_LEARN)
    theta += np.asarray(rng.uniform(-0.01, 0.01, theta.shape), net.dtype)  # set params
    run(66, 72, 0.3, _core.MODE_LEARN)
    held = mask.copy()                                    # a hole in one W_c row
    mask[net._layout["offsets"]["W_c"] + 1] = 0
    run(72, 78, 0.3, _core.MODE_LEARN)
    mask[...] = held
    run(78, 84, 0.3, _core.MODE_LEARN)
    state[...] = 0                                        # reset
    run(84, T, 0.3, _core.MODE_LEARN)
    got.append(theta.copy())
    return got


NETS = [(n_in, B, S, src, og)
        for (n_in, B, S) in [(60, 3, 1), (61, 2, 2), (62, 2, 1), (51, 5, 3), (70, 4, 2),
                             (57, 7, 1), (60, 3, 3), (75, 4, 2)]
        for src in ("full", "cells") for og in (True, False)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_in,B,S,sources,output_gate", NETS)
def test_calls_every_build_equals_plain(n_in, B, S, sources, output_gate, dtype):
    """Every value of a sequence of calls (chunks, a forward-only call, set_state,
    reset, another rate, the "sequence" schedule, single steps, changed parameters and
    masks) is the plain step's, at every instruction-set level."""
    seed = n_in * 100 + B * 10 + S
    net = fused_net(n_in, B, S, sources, output_gate, dtype, seed)
    assert net._layout["nz"] >= 64                        # LSTM97_FUSE_MIN_NZ
    rng = np.random.default_rng(seed)
    T = 92
    x = rng.uniform(-1, 1, (T, n_in)).astype(dtype)
    y = rng.uniform(0, 1, (T, net.K)).astype(dtype)
    plain = calls_of(net, _core.KERNEL_NAIVE, x, y, seed)
    for lv in LEVELS:
        tuned = at_level(lv, calls_of, net, _core.KERNEL_FAST, x, y, seed)
        assert len(tuned) == len(plain)
        for i, (u, v) in enumerate(zip(tuned, plain)):
            assert np.array_equal(u.view(np.uint8), v.view(np.uint8)), (
                f"value {i} of the calls differs from the plain step at level {lv}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_in,B,S,sources,output_gate", NETS[::3])
def test_chunks_equal_one_call(n_in, B, S, sources, output_gate, dtype):
    """A sequence trained call by call (chunks of 1..7 steps, state carried) gives the
    bits of one call over the whole sequence, at every instruction-set level."""
    seed = n_in + B + S
    net = fused_net(n_in, B, S, sources, output_gate, dtype, seed)
    rng = np.random.default_rng(seed)
    T = 60
    x = rng.uniform(-1, 1, (T, n_in)).astype(dtype)
    y = rng.uniform(0, 1, (T, net.K)).astype(dtype)
    tmask = np.ones(T, np.uint8)
    cuts = np.cumsum(rng.integers(1, 8, T))
    cuts = [0] + [int(c) for c in cuts if c < T] + [T]
    d = kernel_dims(net, _core.KERNEL_FAST)

    def train(bounds):
        theta, state = net._theta.copy(), np.zeros_like(net._state)
        work, dW = np.zeros_like(net._work), np.zeros_like(net._theta)
        out = np.empty((T, net.K), net.dtype)
        for a, b in zip(bounds[:-1], bounds[1:]):
            _core.run(d, theta, net._mask, x[a:b], y[a:b], tmask[a:b], 0.3,
                      _core.MODE_LEARN, out[a:b], state, work, dW)
        return theta, out, state

    for lv in LEVELS:
        whole = at_level(lv, train, [0, T])
        parts = at_level(lv, train, cuts)
        for u, v in zip(parts, whole):
            assert np.array_equal(u.view(np.uint8), v.view(np.uint8)), f"level {lv}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dense_and_sparse_steps_mixed(dtype):
    """I >= 16 with some steps sparse (few nonzero inputs: the next step's own sparse
    mat-vec) and some dense (the fused net inputs): the plain step's bits."""
    net = fused_net(60, 3, 2, "full", True, dtype, 7)
    rng = np.random.default_rng(7)
    T = 50
    x = rng.uniform(-1, 1, (T, 60))
    sparse = rng.random(T) < 0.4
    x[sparse] = 0.0
    x[sparse, rng.integers(0, 60, int(sparse.sum()))] = 1.0
    x, y = x.astype(dtype), rng.uniform(0, 1, (T, net.K)).astype(dtype)
    tmask = np.ones(T, np.uint8)

    def train(kernel):
        d = kernel_dims(net, kernel)
        theta, state = net._theta.copy(), np.zeros_like(net._state)
        out = np.empty((T, net.K), net.dtype)
        _core.train(d, theta, net._mask, x, y, tmask, 0.3, 0, out, state,
                    np.zeros_like(net._work), np.zeros_like(theta))
        return theta, out

    plain = train(_core.KERNEL_NAIVE)
    for lv in LEVELS:
        tuned = at_level(lv, train, _core.KERNEL_FAST)
        for u, v in zip(tuned, plain):
            assert np.array_equal(u.view(np.uint8), v.view(np.uint8)), f"level {lv}"
