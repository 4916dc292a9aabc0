"""The argument checks the kernel wrappers of fastlstm._core share (step modes, batch
shapes, the buffers of a net and of N sequences, the fast paths' readiness): each check,
through every wrapper that makes it, with its error type and message."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core

DIMS = (2, 1, 2, 2, 1, 0, 0, 0)     # I K B S output_gate g h out: the adding net
L = _core.layout(DIMS)
P = L["n_params"]


def seq_buffers(T=5, dtype=np.float64):
    return dict(params=np.zeros(P, dtype), masks=np.ones(P, dtype),
                x=np.zeros((T, 2), dtype), t=np.zeros((T, 1), dtype), tmask=None,
                y=np.zeros((T, 1), dtype), state=np.zeros(L["state_len"], dtype),
                work=np.zeros(L["work_len"], dtype), dW=np.zeros(P, dtype))


def batch_buffers(N=3, T=5, dtype=np.float64):
    return dict(params=np.zeros(P, dtype), masks=np.ones(P, dtype),
                x=np.zeros((N, T, 2), dtype), t=np.zeros((N, T, 1), dtype), tmask=None,
                y=np.zeros((N, T, 1), dtype), state=np.zeros(N * L["state_len"], dtype),
                work=np.zeros(N * L["work_len"], dtype), dW=np.zeros(N * P, dtype))


def call_run(b, mode=_core.MODE_LEARN):
    _core.run(DIMS, b["params"], b["masks"], b["x"], b["t"], b["tmask"], 0.1, mode, b["y"],
              b["state"], b["work"], b["dW"])


def call_step(b, mode=_core.MODE_LEARN):
    _core.step(DIMS, b["params"], b["masks"], b["x"][0], b["t"][0], 0.1, mode, b["y"][0],
               b["state"], b["work"], b["dW"])


def call_train(b):
    _core.train(DIMS, b["params"], b["masks"], b["x"], b["t"], b["tmask"], 0.1, 0, b["y"],
                b["state"], b["work"], b["dW"])


def call_batch(b, n_threads=1):
    _core.train_batch(DIMS, b["params"], b["masks"], b["x"], b["t"], b["tmask"], 0.1, 0,
                      n_threads, b["y"], b["state"], b["work"], b["dW"])


def call_forward_batch(b, n_threads=1):
    N = np.shape(b["x"])[0] if np.ndim(b["x"]) == 3 else 1
    _core.forward_batch(DIMS, b["params"], b["x"], None, n_threads, b["y"],
                        np.zeros(N * (L["nz"] + L["C"])),
                        np.zeros(n_threads * (L["state_len"] + L["work_len"])))


@pytest.mark.parametrize("call", [call_run, call_step])
@pytest.mark.parametrize("mode", [-1, 3, 9])
def test_unknown_step_mode(call, mode):
    with pytest.raises(ValueError, match=f"mode: unknown step mode {mode}"):
        call(seq_buffers(), mode)


@pytest.mark.parametrize("call", [call_batch, call_forward_batch])
def test_batch_shape(call):
    b = batch_buffers()
    b["x"] = np.zeros((3, 5 * 2))
    with pytest.raises(ValueError, match=r"x: expected a 3-d array \(N, T, 2\), got shape "
                                         r"\(3, 10\)"):
        call(b)
    b["x"] = [[[0.0, 0.0]]]
    with pytest.raises(ValueError, match="x: expected a 3-d array"):
        call(b)
    for shape in ((0, 5, 2), (3, 0, 2)):
        b["x"] = np.zeros(shape)
        with pytest.raises(ValueError, match=r"x: N and T must be >= 1, got shape"):
            call(b)


@pytest.mark.parametrize("call, buffers", [
    (call_train, seq_buffers), (call_run, seq_buffers), (call_step, seq_buffers),
    (call_batch, batch_buffers)])
@pytest.mark.parametrize("name", ["params", "masks", "state", "work", "dW"])
def test_the_buffers_of_a_net_name_themselves(call, buffers, name):
    """params and masks (n_params), state, work, dW (one per sequence): the size, the
    dtype (that of params), and writability where the kernel writes."""
    b = buffers()
    b[name] = np.zeros(b[name].size + 1)
    with pytest.raises(ValueError, match=f"{name}: expected {b[name].size - 1} elements, "
                                         f"got {b[name].size}"):
        call(b)
    b = buffers()
    b[name] = b[name].astype(np.float32)
    with pytest.raises(TypeError, match="masks: expected dtype float32" if name == "params"
                       else f"{name}: expected dtype float64 .the dtype of params., got "
                            "float32"):
        call(b)
    b = buffers()
    b[name].flags.writeable = False
    if name == "masks":
        call(b)                                   # read only
    else:
        with pytest.raises(ValueError, match=f"{name}: array must be writable"):
            call(b)
    b = buffers()
    b[name] = np.zeros(2 * b[name].size)[::2]
    with pytest.raises(ValueError, match=f"{name}: array must be C-contiguous"):
        call(b)
    b = buffers()
    b[name] = b[name].tolist()
    with pytest.raises(TypeError, match=f"{name}: expected a numpy.ndarray, got list"):
        call(b)


def test_params_must_be_float():
    b = seq_buffers()
    b["params"] = b["params"].astype(np.int64)
    with pytest.raises(TypeError, match="params: dtype must be float64 or float32, got int64"):
        call_train(b)


def test_the_sequence_checks():
    b = seq_buffers()
    b["x"] = np.zeros((0, 2))
    with pytest.raises(ValueError, match=r"x: the sequence is empty \(T = 0\)"):
        call_train(b)
    b["x"] = np.zeros(10)
    with pytest.raises(ValueError, match=r"x: expected a 2-d array \(T, 2\), got shape"):
        call_run(b)


def net_and_sequence(T=12, seed=0, **kw):
    net = fastlstm.LSTM(n_in=3, n_out=2, n_blocks=2, block_size=2, seed=seed, **kw)
    rng = np.random.default_rng(seed)
    idx = rng.integers(-1, 3, T).astype(np.int32)
    x = np.zeros((T, 3))
    x[np.arange(T)[idx >= 0], idx[idx >= 0]] = 1
    y = rng.uniform(0, 1, (T, 2))
    mask = rng.random(T) < 0.5
    return net, idx, x, y, mask


@pytest.mark.parametrize("which", ["train_fast", "train_onehot"])
def test_the_fast_paths_decline_what_needs_explaining(which):
    """None (the general path converts or explains): an lr that is no float or not finite
    and >= 0, no targets, targets or a mask that need converting, a masked weight that is
    nonzero; the net is untouched."""
    net, idx, x, y, mask = net_and_sequence()
    first = x if which == "train_fast" else idx
    extra = ("step",) if which == "train_fast" else ()
    fast = getattr(_core, which)
    theta = net._theta.copy()
    for args in [(first, y, mask, 1), (first, y, mask, np.float64(0.1)),
                 (first, y, mask, -0.1), (first, y, mask, float("nan")),
                 (first, y, mask, float("inf")), (first, None, mask, 0.1),
                 (first, y.astype(np.float16), mask, 0.1), (first, y[:-1], mask, 0.1),
                 (first, y, mask.astype(np.uint8), 0.1), (first, y, mask[:-1], 0.1),
                 (first, np.asfortranarray(np.c_[y, y])[:, :2], mask, 0.1)]:
        assert fast(net._fast, *args, *extra) is None
    assert np.array_equal(net._theta, theta)
    # a nonzero weight under a 0 mask
    off = np.flatnonzero(net._mask == 0)[0]
    net._theta[off] = 1.0
    assert fast(net._fast, first, y, mask, 0.1, *extra) is None
    net._theta[off] = 0.0
    # and with every argument ready, both paths run and agree; float32 targets for a
    # float64 net are converted (exactly) by the fast path
    out = fast(net._fast, first, y, mask, 0.1, *extra)
    ref, *_ = net_and_sequence()
    assert np.array_equal(out, ref.train_sequence(x, y, mask, lr=0.1))
    assert np.array_equal(net._theta, ref._theta)
    y32 = y.astype(np.float32)
    out = fast(net._fast, first, y32, mask, 0.1, *extra)
    assert out is not None
    assert np.array_equal(out, ref.train_sequence(x, y32.astype(np.float64), mask, lr=0.1))
    assert np.array_equal(net._theta, ref._theta)


def test_train_onehot_declines_indices_and_cells_it_cannot_run():
    net, idx, x, y, mask = net_and_sequence()
    for bad in (np.array([0, 3], np.int32), np.array([-2, 0], np.int32),
                idx.astype(np.int64), idx[::2]):
        assert _core.train_onehot(net._fast, bad, y[:bad.size], None, 0.1) is None
    fg, idx, x, y, mask = net_and_sequence(forget_gate=True)
    assert _core.train_onehot(fg._fast, idx, y, mask, 0.1) is None


@pytest.mark.parametrize("which", ["train_fast", "train_onehot"])
def test_the_fast_paths_restore_params_on_a_nonfinite_value(which):
    net, idx, x, y, mask = net_and_sequence()
    theta = net._theta.copy()
    first = x if which == "train_fast" else idx
    extra = ("step",) if which == "train_fast" else ()
    with pytest.raises(FloatingPointError, match="train"):
        getattr(_core, which)(net._fast, first, y * 1e300, None, 1e300, *extra)
    assert np.array_equal(net._theta, theta)
