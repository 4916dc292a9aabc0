"""Public API: bad input, streaming, files (docs/model.md and the user guide)."""
import os
import threading

import numpy as np
import pytest

import fastlstm
from fastlstm import oracle

BACKENDS = [fastlstm.LSTM, oracle.LSTM]


@pytest.fixture(params=BACKENDS, ids=["c", "oracle"])
def backend(request):
    return request.param


def small(backend, **kw):
    return backend(2, 1, 2, 2, seed=0, **kw)


def data(T=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (T, 2)), rng.uniform(0, 1, (T, 1))


# ---------------------------------------------------------------- constructor


@pytest.mark.parametrize("kw,exc,word", [
    (dict(n_in=0), ValueError, "n_in"),
    (dict(n_in=2.5), TypeError, "n_in"),
    (dict(n_out=True), TypeError, "n_out"),
    (dict(n_blocks=-1), ValueError, "n_blocks"),
    (dict(block_size="2"), TypeError, "block_size"),
    (dict(g="g3"), ValueError, "g"),
    (dict(h=None), TypeError, "h"),
    (dict(out="softmax"), ValueError, "out"),
    (dict(bias=("gates", "hidden")), ValueError, "bias"),
    (dict(bias=3), TypeError, "bias"),
    (dict(init_range=float("nan")), ValueError, "init_range"),
    (dict(init_range=-1), ValueError, "init_range"),
    (dict(in_gate_bias=[1, 2, 3]), ValueError, "in_gate_bias"),
    (dict(out_gate_bias=[np.inf, 1]), ValueError, "out_gate_bias"),
    (dict(dtype="float16"), ValueError, "dtype"),
    (dict(dtype=int), ValueError, "dtype"),
    (dict(seed=-3), ValueError, "seed"),
    (dict(seed="x"), TypeError, "seed"),
    (dict(output_gate=1), TypeError, "output_gate"),
    (dict(n_blocks=10**6, block_size=10**3), ValueError, "n_blocks"),
    (dict(output_gate=False, out_gate_bias=[1, 1]), ValueError, "out_gate_bias"),
    (dict(bias=False, in_gate_bias=[1, 1]), ValueError, "in_gate_bias"),
])
def test_constructor_rejects(backend, kw, exc, word):
    args = dict(n_in=2, n_out=1, n_blocks=2, block_size=2)
    args.update(kw)
    with pytest.raises(exc, match=word):
        backend(**args)


def test_unknown_keyword_is_a_type_error(backend):
    with pytest.raises(TypeError, match="forget"):
        backend(2, 1, 2, forget=True)


# ---------------------------------------------------------------- bad input leaves weights


BAD_X = [
    (np.zeros((0, 2)), ValueError, "T = 0"),
    (np.zeros((5, 3)), ValueError, "x"),
    (np.zeros(5), ValueError, "x"),
    (np.zeros((5, 2, 1)), ValueError, "x"),
    (np.full((5, 2), np.nan), ValueError, "x"),
    (np.full((5, 2), np.inf), ValueError, "x"),
    (np.zeros((5, 2), complex), TypeError, "x"),
    (np.array([["a", "b"]] * 5), TypeError, "x"),
    (np.array([[object(), 1]] * 5, dtype=object), TypeError, "x"),
    (None, TypeError, "x"),
    ([[1, 2], [3]], ValueError, "x"),
]


@pytest.mark.parametrize("x,exc,word", BAD_X)
def test_bad_x(backend, x, exc, word):
    net = small(backend)
    before = net._theta.copy()
    with pytest.raises(exc, match=word):
        net.forward(x)
    with pytest.raises(exc, match=word):
        net.train_sequence(x, np.zeros((5, 1)), lr=0.1)
    assert np.array_equal(net._theta, before)


@pytest.mark.parametrize("y,mask,lr,schedule,exc,word", [
    (np.zeros((6, 1)), None, 0.1, "step", ValueError, "y"),          # wrong T
    (np.zeros((12, 2)), None, 0.1, "step", ValueError, "y"),         # wrong K
    (np.full((12, 1), np.nan), None, 0.1, "step", ValueError, "y"),
    (np.zeros((12, 1)), np.ones(11, bool), 0.1, "step", ValueError, "mask"),
    (np.zeros((12, 1)), np.full(12, 0.5), 0.1, "step", ValueError, "mask"),
    (np.zeros((12, 1)), None, np.nan, "step", ValueError, "lr"),
    (np.zeros((12, 1)), None, np.inf, "step", ValueError, "lr"),
    (np.zeros((12, 1)), None, -0.1, "step", ValueError, "lr"),
    (np.zeros((12, 1)), None, "0.1", "step", TypeError, "lr"),
    (np.zeros((12, 1)), None, 0.1, "epoch", ValueError, "schedule"),
    (np.zeros((12, 1)), None, 0.1, None, TypeError, "schedule"),
])
def test_bad_training_arguments(backend, y, mask, lr, schedule, exc, word):
    net = small(backend)
    x, _ = data()
    before = net._theta.copy()
    with pytest.raises(exc, match=word):
        net.train_sequence(x, y, mask=mask, lr=lr, schedule=schedule)
    assert np.array_equal(net._theta, before)


def test_nan_in_y_at_a_step_without_target_is_ignored(backend):
    net = small(backend)
    x, y = data()
    y[3] = np.nan
    mask = np.ones(12, bool)
    mask[3] = False
    out = net.train_sequence(x, y, mask=mask, lr=0.1)
    assert np.isfinite(out).all() and np.isfinite(net._theta).all()


def test_array_likes_and_non_contiguous_inputs_give_the_same_result(backend):
    x, y = data(T=10)
    a, b = small(backend), small(backend)
    big = np.zeros((10, 4))
    big[:, ::2] = x                                   # a strided view
    assert not big[:, ::2].flags.c_contiguous
    assert np.array_equal(a.forward(x.tolist()), b.forward(big[:, ::2]))
    a.train_sequence(x.tolist(), y.tolist(), lr=0.3)
    b.train_sequence(np.asfortranarray(big[:, ::2]), y.astype(np.float32), lr=0.3)
    # y in float32 is rounded, so compare loosely; x paths are exact
    np.testing.assert_allclose(a._theta, b._theta, rtol=1e-6)


def test_int_and_bool_inputs_are_numbers(backend):
    net = small(backend)
    xi = np.array([[1, 0], [0, 1], [1, 1]])
    assert np.array_equal(net.forward(xi), net.forward(xi.astype(float)))
    assert np.array_equal(net.forward(xi.astype(bool)), net.forward(xi.astype(float)))


def test_float32_overflowing_input_is_rejected():
    net = fastlstm.LSTM(2, 1, 1, dtype="float32")
    with pytest.raises(ValueError, match="x"):
        net.forward(np.full((3, 2), 1e300))


def test_divergence_raises_and_restores_weights(backend):
    net = backend(2, 1, 2, 2, out="linear", h="id", seed=0)
    x, y = data(T=50)
    y *= 1e6
    before = net._theta.copy()
    with pytest.raises(FloatingPointError):
        for _ in range(50):
            before = net._theta.copy()
            net.train_sequence(x, y, lr=1e6)
    assert np.array_equal(net._theta, before)
    assert np.isfinite(net._theta).all()


# ---------------------------------------------------------------- streaming


@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_stream_matches_forward_and_train_sequence(backend, schedule):
    x, y = data(T=25, seed=3)
    mask = np.random.default_rng(1).random(25) < 0.5
    a, b = small(backend), small(backend)
    st = a.stream()
    y_stream = np.array([st.step(x_t) for x_t in x])
    assert np.array_equal(y_stream, a.forward(x))
    out = b.train_sequence(x, y, mask, lr=0.4, schedule=schedule)
    st = a.stream(learn=True, lr=0.4, schedule=schedule)
    outs = [st.step(x[t], y[t] if mask[t] else None) for t in range(25)]
    st.end()
    assert np.array_equal(np.array(outs), out)
    assert np.array_equal(a._theta, b._theta)


def test_stream_in_pieces_is_one_sequence(backend):
    """A long sequence fed in pieces (the caller keeps the stream) = one call."""
    x, y = data(T=300, seed=4)
    a, b = small(backend), small(backend)
    b.train_sequence(x, y, lr=0.2)
    st = a.stream(learn=True, lr=0.2)
    for piece in np.array_split(np.arange(300), 7):
        for t in piece:
            st.step(x[t], y[t])
    st.end()
    assert np.array_equal(a._theta, b._theta)


def test_stream_bad_input(backend):
    st = small(backend).stream(learn=True)
    with pytest.raises(ValueError, match="x_t"):
        st.step(np.zeros(3))
    with pytest.raises(ValueError, match="x_t"):
        st.step(np.array([np.nan, 0]))
    with pytest.raises(ValueError, match="y_t"):
        st.step(np.zeros(2), np.zeros(2))
    with pytest.raises(TypeError, match="learn"):
        small(backend).stream(learn="yes")
    with pytest.raises(ValueError, match="lr"):
        small(backend).stream(learn=True, lr=np.nan)


# ---------------------------------------------------------------- files


def test_save_load_round_trip(tmp_path, backend):
    net = backend(3, 2, 2, 3, bias=("gates",), h="tanh", out="linear", dtype="float32",
                  in_gate_bias=[-1, -2], seed=2)
    x = np.random.default_rng(0).uniform(-1, 1, (20, 3))
    net.train_sequence(x, np.zeros((20, 2)), lr=0.1)
    m = np.ones_like(net.masks["W_c"])
    m[0, 0] = 0
    net.set_mask("W_c", m)
    path = tmp_path / "net.npz"
    net.save(path)
    back = backend.load(path)
    assert type(back) is backend and back.config == net.config
    assert back.dtype == net.dtype
    assert np.array_equal(back._theta, net._theta)
    assert np.array_equal(back._mask, net._mask)
    assert np.array_equal(back.forward(x), net.forward(x))
    assert not list(tmp_path.glob(".fastlstm-*"))      # no temporary left behind


def test_load_is_shared_between_backends(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=1)
    net.save(tmp_path / "a.npz")
    ref = oracle.load(tmp_path / "a.npz")
    assert np.array_equal(ref._theta, net._theta)
    assert type(fastlstm.load(tmp_path / "a.npz")) is fastlstm.LSTM


def test_load_rejects_bad_files(tmp_path):
    good = tmp_path / "good.npz"
    fastlstm.LSTM(2, 1, 2, 2, seed=1).save(good)
    raw = good.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "text.npz").write_text("hello")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    for name in ["trunc.npz", "text.npz", "other.npz"]:
        with pytest.raises(ValueError, match="not a valid fastlstm file"):
            fastlstm.load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        fastlstm.load(tmp_path / "missing.npz")


def _rewrite(path, out, **changes):
    with np.load(path) as f:
        d = {k: f[k] for k in f.files}
    d.update(changes)
    np.savez(out, **d)


def test_load_rejects_wrong_version_and_shapes(tmp_path):
    import json
    good = tmp_path / "good.npz"
    fastlstm.LSTM(2, 1, 2, 2, seed=1).save(good)
    with np.load(good) as f:
        meta = json.loads(f["meta"].tobytes())
        theta = f["params"]
    meta2 = dict(meta, version=99)
    enc = lambda m: np.frombuffer(json.dumps(m).encode(), np.uint8)
    _rewrite(good, tmp_path / "v.npz", meta=enc(meta2))
    _rewrite(good, tmp_path / "s.npz", params=theta[:-1])
    _rewrite(good, tmp_path / "n.npz", params=np.full_like(theta, np.nan))
    bad_cfg = dict(meta, config=dict(meta["config"], n_blocks=3))
    _rewrite(good, tmp_path / "c.npz", meta=enc(bad_cfg))
    evil = dict(meta, config=dict(meta["config"], g="__import__('os')"))
    _rewrite(good, tmp_path / "e.npz", meta=enc(evil))
    for name, word in [("v", "version"), ("s", "params"), ("n", "NaN"), ("c", "params"),
                       ("e", "g")]:
        with pytest.raises(ValueError, match=word):
            fastlstm.load(tmp_path / f"{name}.npz")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    net = fastlstm.LSTM(2, 1, 2, 2, seed=1)
    net.save(path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt("crash in the middle of a save")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        fastlstm.LSTM(2, 1, 2, 2, seed=9).save(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".fastlstm-*"))


# ---------------------------------------------------------------- threads


def test_one_net_two_threads_is_serialised():
    """Two threads training one net: the per-net lock serialises the calls, so the
    result is that of the two calls one after the other (in some order)."""
    x, y = data(T=200)
    x2, y2 = data(T=200, seed=9)
    net = fastlstm.LSTM(2, 1, 4, 4, seed=0)
    start = net._theta.copy()
    results = []
    for order in [(0, 1), (1, 0)]:
        ref = fastlstm.LSTM(2, 1, 4, 4, seed=0)
        for i in order:
            ref.train_sequence(*[(x, y), (x2, y2)][i], lr=0.3)
        results.append(ref._theta.copy())
    for _ in range(5):
        net._theta[...] = start
        ts = [threading.Thread(target=net.train_sequence, args=a, kwargs=dict(lr=0.3))
              for a in [(x, y), (x2, y2)]]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert any(np.array_equal(net._theta, r) for r in results)


@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_feed_in_pieces_matches_one_call(backend, schedule):
    x, y = data(T=120, seed=6)
    mask = np.random.default_rng(2).random(120) < 0.3
    a, b = small(backend), small(backend)
    out_b = b.train_sequence(x, y, mask, lr=0.3, schedule=schedule)
    st = a.stream(learn=True, lr=0.3, schedule=schedule)
    outs = [st.feed(x[p], y[p], mask[p]) for p in np.array_split(np.arange(120), 5)]
    st.end()
    assert np.array_equal(np.concatenate(outs), out_b)
    assert np.array_equal(a._theta, b._theta)
    fwd = a.stream()
    assert np.array_equal(np.concatenate([fwd.feed(x[:50]), fwd.feed(x[50:])]), a.forward(x))


def test_feed_without_targets_runs_traces(backend):
    """A learning stream fed a piece without targets still carries its traces: the
    result equals train_sequence with the mask off over that piece."""
    x, y = data(T=40, seed=8)
    mask = np.ones(40, bool)
    mask[:25] = False
    a, b = small(backend), small(backend)
    b.train_sequence(x, y, mask, lr=0.3)
    st = a.stream(learn=True, lr=0.3)
    st.feed(x[:25])
    st.feed(x[25:], y[25:])
    st.end()
    assert np.array_equal(a._theta, b._theta)


# ---------------------------------------------------------------- one-call fast path


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_fast_path_equals_general_path(dtype, schedule):
    """LSTM.train_sequence runs in one C call when its arguments need nothing
    (_core.train_fast); arguments that take the general path (np.float64 lr, a list mask,
    a non-contiguous x) must give the same bits."""
    kw = dict(n_in=2, n_out=1, n_blocks=2, block_size=2, dtype=dtype, seed=3)
    fast, slow = fastlstm.LSTM(**kw), fastlstm.LSTM(**kw)
    x, y = data(T=30)
    x, y = x.astype(dtype), y.astype(dtype)
    mask = np.arange(30) % 3 == 2
    assert fastlstm._core.train_fast(fast._fast, x, y, mask, 0.4, schedule) is not None
    assert fastlstm._core.train_fast(slow._fast, x, y, mask, np.float64(0.4), schedule) is None
    fast, slow = fastlstm.LSTM(**kw), fastlstm.LSTM(**kw)
    for k in range(3):
        a = fast.train_sequence(x, y, mask, lr=0.4, schedule=schedule)
        xs = np.asfortranarray(np.repeat(x, 2, axis=1)[:, ::2]) if k == 1 else x
        b = slow.train_sequence(xs, y, list(mask), lr=np.float64(0.4), schedule=schedule)
        assert a.dtype == b.dtype == np.dtype(dtype) and a.shape == (30, 1)
        assert np.array_equal(a, b)
        assert np.array_equal(fast._theta, slow._theta)


@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_fast_path_converts_float64_for_float32_nets(schedule):
    """A float32 net given float64 arrays (numpy's default) takes the one-call path,
    converting them as numpy does: the same bits as float32 arrays given directly, NaN
    targets at steps without a target kept, and values beyond float32's range left to the
    general path, which explains them."""
    kw = dict(n_in=2, n_out=1, n_blocks=2, block_size=2, dtype="float32", seed=3)
    a, b = fastlstm.LSTM(**kw), fastlstm.LSTM(**kw)
    x, y = data(T=30)
    mask = np.arange(30) % 3 == 2
    y[~mask] = np.nan                                  # never read
    assert x.dtype == y.dtype == np.float64
    out = fastlstm._core.train_fast(a._fast, x, y, mask, 0.4, schedule)
    assert out is not None and out.dtype == np.float32
    ref = b.train_sequence(x.astype(np.float32), y.astype(np.float32), mask, lr=0.4,
                           schedule=schedule)
    assert np.array_equal(out, ref)
    assert np.array_equal(a._theta, b._theta)
    # beyond float32's range: declined here, explained by the general path, weights kept
    before = a._theta.copy()
    for big_x, big_y in [(1e39, 0.5), (0.5, 1e39), (-float(np.finfo(np.float32).max) * 1.01, 0.5)]:
        xb, yb = x.copy(), y.copy()
        xb[4, 1] = big_x
        yb[5, 0] = big_y
        assert fastlstm._core.train_fast(a._fast, xb, yb, mask, 0.4, schedule) is None
        with pytest.raises(ValueError, match="infinite"):
            a.train_sequence(xb, yb, mask, lr=0.4, schedule=schedule)
        if big_x != 0.5:
            with pytest.raises(ValueError, match="infinite"):
                a.forward(xb)
    # a value that rounds to float32's largest finite value is not an error
    xb = x.copy()
    xb[0, 0] = float(np.finfo(np.float32).max) * (1 + 2.0 ** -26)
    assert fastlstm._core.train_fast(a._fast, xb, y, mask, 0.0, schedule) is None
    a.train_sequence(xb, y, mask, lr=0.0, schedule=schedule)
    assert np.array_equal(a._theta, before)


@pytest.mark.parametrize("dtype, other", [("float32", "float64"), ("float64", "float32")])
def test_the_other_float_type_skips_the_general_path(monkeypatch, dtype, other):
    """x and y of the other float type are converted by the fast paths (train_sequence,
    forward, a Stream fed piece by piece) with the bits of a conversion by numpy, without
    the general path's conversion (made to fail here)."""
    kw = dict(n_in=2, n_out=1, n_blocks=2, block_size=2, dtype=dtype, seed=5)
    a, b = fastlstm.LSTM(**kw), fastlstm.LSTM(**kw)
    x, y = data(T=24)
    x, y = x.astype(other), y.astype(other)
    xs, ys = x.astype(dtype), y.astype(dtype)
    mask = np.arange(24) % 4 == 3
    ref = [b.train_sequence(xs, ys, mask, lr=0.3), b.forward(xs)]
    with b.stream(lr=0.3) as st:
        ref += [st.feed(xs[t:t + 1], ys[t:t + 1]) for t in range(24)]

    def general_path(*args, **kwargs):
        raise AssertionError("the general path was taken")
    monkeypatch.setattr(fastlstm._base.NetBase, "_convert_x", general_path)
    monkeypatch.setattr(fastlstm._base.NetBase, "_as_input", general_path)
    got = [a.train_sequence(x, y, mask, lr=0.3), a.forward(x)]
    with a.stream(lr=0.3) as st:
        got += [st.feed(x[t:t + 1], y[t:t + 1]) for t in range(24)]
    for g, r in zip(got, ref):
        assert g.dtype == np.dtype(dtype)
        assert np.array_equal(g, r)
    assert np.array_equal(a._theta, b._theta)


@pytest.mark.parametrize("args", [
    dict(lr=float("nan")), dict(lr=-0.5), dict(lr=float("inf")), dict(schedule="Step"),
    dict(y=None), dict(mask=np.ones(7, bool)), dict(x=np.zeros((12, 3)))])
def test_fast_path_declines_and_general_path_explains(args):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y = data()
    call = dict(x=x, y=y, mask=None, lr=0.1, schedule="step") | args
    assert fastlstm._core.train_fast(net._fast, call["x"], call["y"], call["mask"],
                                     call["lr"], call["schedule"]) is None
    before = net._theta.copy()
    with pytest.raises((ValueError, TypeError)):
        net.train_sequence(**call)
    assert np.array_equal(net._theta, before)
