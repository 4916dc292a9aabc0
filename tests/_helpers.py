"""Shared test helpers: random architectures and a tolerance table per dtype."""
import numpy as np

import fastlstm
from fastlstm import oracle

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def assert_close(actual, desired, rtol, what=""):
    """|a - d| <= rtol * max(|d|) elementwise (relative to the array's scale);
    on failure report the worst index."""
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    assert actual.shape == desired.shape, (what, actual.shape, desired.shape)
    scale = max(np.abs(desired).max(initial=0.0), 1e-300)
    err = np.abs(actual - desired)
    worst = np.unravel_index(np.argmax(err), err.shape) if err.size else ()
    assert err.max(initial=0.0) <= rtol * scale, (
        f"{what}: max |diff| {err.max():.3e} at {worst} > {rtol:g} * {scale:.3e} "
        f"(actual {actual[worst]!r}, desired {desired[worst]!r})")


# every squashing function the nets accept (the last two of each: the swapped reading)
G_NAMES = ("g2", "g1", "tanh", "h1", "id")
H_NAMES = ("h1", "id", "tanh", "g2", "g1")


def unbounded_cell(cfg):
    """True if a cell's state (g = "id") or output (h = "id") is not bounded."""
    return cfg["g"] == "id" or cfg["h"] == "id"


def random_config(rng):
    """Random architecture over every topology switch and activation choice."""
    groups = ("gates", "cells", "outputs")
    return dict(
        n_in=int(rng.integers(1, 6)), n_out=int(rng.integers(1, 6)),
        n_blocks=int(rng.integers(1, 6)), block_size=int(rng.integers(1, 6)),
        output_gate=bool(rng.integers(2)), recurrent=bool(rng.integers(2)),
        input_to_output=bool(rng.integers(2)),
        bias=tuple(gr for gr in groups if rng.integers(2)),
        g=str(rng.choice(G_NAMES)), h=str(rng.choice(H_NAMES)),
        out=str(rng.choice(["logistic", "linear"])),
        init_range=float(rng.uniform(0.05, 0.5)))


def pair(config, seed, dtype="float64"):
    """The compiled net and the oracle net with the same initial weights."""
    return (fastlstm.LSTM(**config, dtype=dtype, seed=seed),
            oracle.LSTM(**config, dtype=dtype, seed=seed))


def random_pair(rng, seed, dtype="float64"):
    """A random architecture (weights kept small when a cell is unbounded) and its
    compiled and oracle nets: (config, net, ref)."""
    cfg = random_config(rng)
    if unbounded_cell(cfg):
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    return (cfg, *pair(cfg, seed, dtype))


def random_sequence(rng, net, T):
    x = rng.uniform(-1, 1, (T, net.I))
    y = rng.uniform(0, 1, (T, net.K))
    mask = rng.random(T) < 0.5
    return x, y, mask


def family_config(rng, **fixed):
    """A random architecture over every topology switch and every option of the family,
    weights and activations kept in a range where the dynamics stay tame."""
    cfg = random_config(rng)
    cfg.update(forget_gate=bool(rng.integers(2)), peepholes=bool(rng.integers(2)),
               sources=str(rng.choice(["full", "cells"])),
               out=str(rng.choice(["logistic", "linear", "softmax"])))
    cfg.update(fixed)
    if cfg["out"] == "softmax" and cfg["n_out"] < 2:
        cfg["n_out"] = 2
    if cfg["g"] == "id" or cfg["h"] == "id" or cfg["out"] == "linear":
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    if cfg["forget_gate"] and "gates" in cfg["bias"] and rng.integers(2):
        cfg["forget_gate_bias"] = rng.uniform(-1, 2, cfg["n_blocks"]).tolist()
    return cfg


def kernel_dims(net, kernel):
    """The net's dims tuple with its kernel variant (plain or tuned) replaced."""
    return net._dims[:8] + (kernel,) + net._dims[9:]


def at_level(level, fn, *args):
    """fn(*args) with the kernels' build forced to `level` (checked: a level the CPU
    lacks fails rather than testing another build), the default restored after."""
    from fastlstm import _core
    _core.set_isa(level)
    try:
        assert _core.get_isa() == level
        return fn(*args)
    finally:
        _core.set_isa(0)


def kernel_run(net, kernel, x, y, tmask, lr, schedule):
    """Weights, outputs and a forward pass after two epochs of ``_core.train`` with
    `kernel` (plain or tuned) on a copy of the net's weights, from zero states."""
    from fastlstm import _core
    dims = kernel_dims(net, kernel)
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
