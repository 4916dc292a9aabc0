"""The tuned step on the paper's small nets: rows of nz = 2..40 columns, so that every
build's vector loops (16-, 32- and 64-byte vectors, then 32-, 16- and, for float32,
8-byte ones for what is left, then at most one scalar column) run with every tail, and
logistic arrays of every length mod 4 (four lanes inlined, then two, then one): each
build gives the plain scalar step's bits, in both dtypes."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core

from _helpers import at_level, kernel_run

LEVELS = [1,
          pytest.param(2, marks=pytest.mark.skipif(_core.cpu_isa() < 2,
                                                   reason="the CPU has no AVX2")),
          pytest.param(3, marks=pytest.mark.skipif(_core.cpu_isa() < 3,
                                                   reason="the CPU has no AVX-512"))]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nz", range(3, 41))
def test_every_row_length_equals_plain(nz, dtype, level):
    rng = np.random.default_rng(nz)
    # nz = 1 + I + C with sources="cells"; the block shape varies with nz so that the
    # gates' and cells' logistic arrays (2 B and C values) and the outputs' (K) take
    # every length mod 4
    B, S = 1 + nz % 3, 1 + nz % 2
    C = B * S
    if nz - 1 - C < 1:
        B, S, C = 1, 1, 1
    net = fastlstm.LSTM(nz - 1 - C, 1 + nz % 5, B, S, sources="cells", dtype=dtype,
                        seed=nz, init_range=0.5, g=("g2", "g1", "tanh")[nz % 3],
                        h=("h1", "g1", "tanh")[nz % 3])
    assert net._layout["nz"] == nz
    if nz % 4 == 1:                   # holes in every mask group: the masked loops
        for name in net.params:
            net.set_mask(name, rng.random(net.masks[name].shape) < 0.8)
    T = 15
    x = rng.uniform(-1, 1, (T, net.I)).astype(dtype)
    y = rng.uniform(0, 1, (T, net.K)).astype(dtype)
    tmask = (rng.random(T) < 0.5).astype(np.uint8)
    for schedule in (0, 1):
        plain = kernel_run(net, _core.KERNEL_NAIVE, x, y, tmask, 0.1, schedule)
        tuned = at_level(level, kernel_run, net, _core.KERNEL_FAST, x, y, tmask, 0.1,
                         schedule)
        for u, v, what in zip(tuned, plain, ("weights", "outputs", "forward")):
            np.testing.assert_array_equal(u, v, err_msg=f"{what}, schedule {schedule}")
