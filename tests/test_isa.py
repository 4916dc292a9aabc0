"""The kernels are built for the baseline instruction set and for AVX2 (chosen at run time,
csrc/lstm97_variants.h): both builds must give the same bits, on every entry point, for
float64 and float32."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core

from _helpers import random_config, random_sequence, unbounded_cell

pytestmark = pytest.mark.skipif(_core.get_isa() != 2,
                                reason="the CPU has no AVX2: only the baseline build runs")


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


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(12))
def test_baseline_and_avx2_builds_agree_bitwise(seed, dtype):
    rng = np.random.default_rng(1000 + seed)
    cfg = random_config(rng)
    if unbounded_cell(cfg):
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    if seed % 4 == 0:
        cfg["n_in"] = 20
    a = everything(cfg, seed, dtype)
    _core.set_isa(True)
    try:
        assert _core.get_isa() == 1
        b = everything(cfg, seed, dtype)
    finally:
        _core.set_isa(False)
    assert _core.get_isa() == 2
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        u, v = np.asarray(u), np.asarray(v)
        assert u.shape == v.shape and u.dtype == v.dtype and np.array_equal(
            u.view(np.uint8), v.view(np.uint8)), (
            f"entry {i} differs between the AVX2 and the baseline build ({cfg})")
