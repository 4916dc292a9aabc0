"""The Cython boundary (fastlstm._core): strict buffers, errors naming the argument,
status codes turned into exceptions."""
import numpy as np
import pytest

from fastlstm import _core

DIMS = (2, 1, 2, 2, 1, 0, 0, 0)     # I K B S output_gate g h out


def buffers(dtype=np.float64, T=5):
    L = _core.layout(DIMS)
    return dict(params=np.zeros(L["n_params"], dtype), masks=np.ones(L["n_params"], dtype),
                x=np.zeros((T, 2), dtype), t=np.zeros((T, 1), dtype),
                tmask=np.ones(T, np.uint8), y=np.zeros((T, 1), dtype),
                state=np.zeros(L["state_len"], dtype), work=np.zeros(L["work_len"], dtype),
                dW=np.zeros(L["n_params"], dtype))


def call_train(b, alpha=0.1, schedule=0, dims=DIMS):
    _core.train(dims, b["params"], b["masks"], b["x"], b["t"], b["tmask"], alpha, schedule,
                b["y"], b["state"], b["work"], b["dW"])


def test_layout_matches_python_layout():
    from fastlstm._base import layout
    for dims in [(2, 1, 2, 2, 1, 0, 0, 0), (7, 7, 4, 1, 1, 0, 0, 0), (101, 101, 1, 1, 0, 1, 1, 0)]:
        c = _core.layout(dims)
        p = layout(*dims[:4], bool(dims[4]))
        assert c["n_params"] == p["n_params"] and c["state_len"] == p["state_len"]
        assert c["work_len"] == p["work_len"] and c["nz"] == p["nz"]
        for name, off in p["offsets"].items():
            assert c[name] == off


@pytest.mark.parametrize("dims,word", [
    ((0, 1, 1, 1, 1, 0, 0, 0), "sizes"),
    ((1, 1, 1, 1, 2, 0, 0, 0), "sizes"),
    ((1, 1, 1, 1, 1, 9, 0, 0), "activation"),
    ((1, 1, 1, 1, 1, 0, 0, 5), "activation"),
    ((1, 1, 1), "dims"),
])
def test_bad_dims(dims, word):
    with pytest.raises(ValueError, match=word):
        _core.layout(dims)


@pytest.mark.parametrize("name", ["params", "masks", "x", "t", "y", "state", "work", "dW"])
def test_wrong_dtype_size_and_contiguity_name_the_buffer(name):
    shown = {"t": "y", "y": "out"}.get(name, name)
    b = buffers()
    b[name] = b[name].astype(np.float32)
    # the dtype is that of params: a float32 params makes the float64 masks the odd one
    with pytest.raises(TypeError, match="masks" if name == "params" else shown):
        call_train(b)
    b = buffers()
    b[name] = np.zeros(b[name].size + 2)[: b[name].size + 1]
    with pytest.raises(ValueError, match=shown):
        call_train(b)
    b = buffers()
    if b[name].ndim == 2:
        b[name] = np.zeros((2 * b[name].shape[0], b[name].shape[1]))[::2]
    else:
        b[name] = np.zeros(2 * b[name].size)[::2]
    with pytest.raises(ValueError, match="contiguous|elements"):
        call_train(b)


def test_status_codes_become_exceptions():
    b = buffers()
    with pytest.raises(ValueError, match="schedule"):
        call_train(b, schedule=7)
    with pytest.raises(ValueError, match="lr"):
        call_train(b, alpha=float("nan"))
    b = buffers()
    b["params"][:] = 1e308
    b["x"][:] = 1.0
    linear = DIMS[:7] + (1,)
    with pytest.raises(FloatingPointError):
        call_train(b, dims=linear)
    with pytest.raises(ValueError, match="writable"):
        b = buffers()
        b["state"].flags.writeable = False
        call_train(b)
    with pytest.raises(ValueError, match="mode"):
        b = buffers()
        _core.step(DIMS, b["params"], b["masks"], b["x"][0], None, 0.1, 9, b["y"][0],
                   b["state"], b["work"], b["dW"])


def test_float32_and_float64_both_run():
    for dt in (np.float32, np.float64):
        b = buffers(dt)
        b["params"][:] = 0.1
        call_train(b)
        assert b["y"].dtype == dt and np.isfinite(b["y"]).all()
        assert (b["params"] != np.asarray(0.1, dt)).any()


def test_ready_sequence_fast_path_accepts_only_ready_arguments():
    """The API's one-call fast path: True only for arrays the kernel can take as they
    are; everything else goes to the slow path (convert or explain), never raises."""
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (10, 2)), np.full((10, 1), 0.5)
    m = rng.random(10) < 0.5
    f64 = np.dtype(np.float64).num
    ready = lambda *a: _core.ready_sequence(*a, 2, 1, f64)   # noqa: E731
    assert ready(x, y, m) and ready(x, None, None) and ready(x, y, None)
    ro = x.copy()
    ro.flags.writeable = False
    assert ready(ro, y, m)
    for bad_x in (x.astype(">f8"), x[::2], x.astype(np.float32), x.T.copy(), x[:0],
                  x.tolist(), x[:, :1].copy(), x[None]):
        assert not ready(bad_x, None, None)
    assert not ready(x, y[:5], None) and not ready(x, y.astype(np.float32), m)
    assert not ready(x, y, m[:5]) and not ready(x, y, m.astype(np.uint8))
    xn = x.copy()
    xn[3, 1] = np.nan
    assert not ready(xn, y, m)
    yn = y.copy()
    yn[~m] = np.inf                      # non-finite only where there is no target
    assert ready(x, yn, m) and not ready(x, yn, None)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_finite_finds_every_bad_value(dtype):
    """lstm97_all_finite sums in vector lanes and a scalar tail: a NaN or infinity at any
    position of any length is found, and finite arrays (however large) pass."""
    for n in range(1, 41):
        a = np.linspace(-1e30, 3e30, n).astype(dtype)
        assert _core.all_finite(a)
        for i in range(n):
            for bad in (np.nan, np.inf, -np.inf):
                b = a.copy()
                b[i] = bad
                assert not _core.all_finite(b), (n, i, bad)
    big = np.full(1000, np.finfo(dtype).max, dtype)
    assert _core.all_finite(big)            # x * 0 is 0 even for the largest finite x
