"""The kernels are built for the baseline instruction set, for AVX2 and for AVX-512 (chosen
at run time, csrc/lstm97_variants.h; 16-, 32- and 64-byte vectors in the tuned loops): every
build must give the same bits, on every entry point, for float64 and float32, and the same
bits as the plain scalar step."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core

from _helpers import at_level, kernel_run, random_config, random_sequence, unbounded_cell

pytestmark = pytest.mark.skipif(_core.cpu_isa() < 2,
                                reason="the CPU has no AVX2: only the baseline build runs")

LEVELS = [2, pytest.param(3, marks=pytest.mark.skipif(
    _core.cpu_isa() < 3, reason="the CPU (or its OS) has no AVX-512"))]


def everything(cfg, seed, dtype):
    """Outputs and parameters of every kernel entry point on one net."""
    rng = np.random.default_rng(seed)
    net = fastlstm.LSTM(**cfg, seed=seed, dtype=dtype)
    x, y, mask = random_sequence(rng, net, 40)
    if net.I >= 16:                   # one-hot inputs: the sparse path of the tuned step
        x = np.eye(net.I)[rng.integers(0, net.I, 40)]
    got = [net.forward(x)]
    got.append(net.train_sequence(x, y, mask, lr=0.3))
    got.append(net.train_sequence(x, y, mask, lr=0.3, schedule="sequence"))
    if net.I >= 16:                   # one-hot inputs by index (lstm97_train_onehot)
        idx = rng.integers(-1, net.I, 40).astype(np.int32)
        got.append(net.train_onehot(idx, y, mask, lr=0.3))
    for truncated in (False, True):
        loss, grads, out = net.gradient(x, y, mask, truncated=truncated)
        got += [np.array([loss]), out] + [grads[k] for k in sorted(grads)]
    xb = rng.uniform(-1, 1, (6, 15, net.I))
    yb = rng.uniform(0, 1, (6, 15, net.K))
    mb = rng.random((6, 15)) < 0.4
    for n_threads in (1, 2):
        got.append(net.train_batch(xb, yb, mb, lr=0.2, n_threads=n_threads))
    stream = net.stream(learn=True, lr=0.2)
    for t in range(10):
        got.append(stream.step(x[t], y[t] if mask[t] else None))
    got.append(net._theta.copy())
    return got


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(12))
def test_baseline_and_vector_builds_agree_bitwise(seed, dtype, level):
    rng = np.random.default_rng(1000 + seed)
    cfg = random_config(rng)
    if unbounded_cell(cfg):
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    if seed % 4 == 0:
        cfg["n_in"] = 20
    a = at_level(level, everything, cfg, seed, dtype)
    b = at_level(1, everything, cfg, seed, dtype)
    assert _core.get_isa() == _core.cpu_isa()
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        u, v = np.asarray(u), np.asarray(v)
        assert u.shape == v.shape and u.dtype == v.dtype and np.array_equal(
            u.view(np.uint8), v.view(np.uint8)), (
            f"entry {i} differs between the level-{level} and the baseline build ({cfg})")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(16))
def test_wide_rows_every_build_equals_plain(seed, dtype, level):
    """Rows of 20..80 columns, so that the 8- and 16-lane loops of the wide builds run
    with every tail length, over the family options and masks with holes: the tuned step
    of each build gives the plain step's bits."""
    rng = np.random.default_rng(5000 + seed)
    cfg = random_config(rng)
    cfg.update(n_in=int(rng.integers(12, 60)), n_blocks=int(rng.integers(2, 5)),
               block_size=int(rng.integers(1, 5)), init_range=0.1,
               forget_gate=bool(seed % 2), peepholes=bool(seed % 3 == 0),
               out=str(rng.choice(["logistic", "linear"])))
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    if seed % 4 == 1:
        for name in net.params:
            net.set_mask(name, rng.random(net.masks[name].shape) < 0.8)
    x, y, mask = random_sequence(rng, net, 20)
    x, y = x.astype(dtype), y.astype(dtype)
    tmask = mask.astype(np.uint8)
    for schedule in (0, 1):
        plain = kernel_run(net, _core.KERNEL_NAIVE, x, y, tmask, 0.05, schedule)
        for lv in (level, 1):
            tuned = at_level(lv, kernel_run, net, _core.KERNEL_FAST, x, y, tmask, 0.05,
                             schedule)
            for u, v, what in zip(tuned, plain, ("weights", "outputs", "forward")):
                np.testing.assert_array_equal(
                    u, v, err_msg=f"{what}, schedule {schedule}, level {lv}")


def test_set_isa_levels():
    """Each level up to the CPU's runs as asked; a higher one runs the CPU's best; a bad
    level is an error; 0 and False restore the default."""
    cpu = _core.cpu_isa()
    try:
        for level in (1, 2, 3):
            _core.set_isa(level)
            assert _core.get_isa() == min(level, cpu)
        _core.set_isa(True)
        assert _core.get_isa() == 1
        for bad in (-1, 4, 2.0, "3", None):
            with pytest.raises(ValueError):
                _core.set_isa(bad)
        assert _core.get_isa() == 1
    finally:
        _core.set_isa(False)
    assert _core.get_isa() == cpu
