"""LSTM.train_onehot: training on one-hot inputs given by index is bitwise
train_sequence on the dense one-hot inputs (outputs, weights, state), for the nets the
index kernel runs (the 1997 cell) and the ones it hands to the dense path."""
import numpy as np
import pytest

import fastlstm

CONFIGS = [
    (1004, 2, 2, 1, dict(bias=False)),                     # Exp. 2c, q = p = 1000
    (104, 2, 2, 1, dict(bias=("gates",))),                  # 2c with input-gate biases
    (8, 3, 2, 2, {}),                                       # below the sparse threshold
    (20, 2, 2, 2, dict(sources="cells")),
    (30, 2, 1, 2, dict(output_gate=False)),
    (24, 3, 2, 1, dict(out="softmax", g="g1", h="id")),
    (24, 2, 2, 1, dict(dtype="float32")),
    (24, 2, 2, 1, dict(forget_gate=True)),                  # dense path
    (24, 2, 2, 1, dict(peepholes=True)),                    # dense path
]


def _dense(idx, I, dtype=np.float64):
    x = np.zeros((len(idx), I), dtype=dtype)
    on = np.flatnonzero(idx >= 0)
    x[on, idx[on]] = 1
    return x


@pytest.mark.parametrize("I,K,B,S,kw", CONFIGS)
def test_bitwise_train_sequence(I, K, B, S, kw):
    rng = np.random.default_rng(I + K)
    a = fastlstm.LSTM(I, K, B, S, seed=5, init_range=0.5, **kw)
    b = fastlstm.LSTM(I, K, B, S, seed=5, init_range=0.5, **kw)
    for rep in range(6):
        T = int(rng.integers(1, 250))
        idx = rng.integers(-1, I, size=T).astype(np.int32)
        y = rng.random((T, K)).astype(a.dtype)
        mask = None if rep == 0 else rng.random(T) < 0.3
        o1 = a.train_sequence(_dense(idx, I, a.dtype), y, mask, 0.3)
        o2 = b.train_onehot(idx, y, mask, 0.3)
        assert o2.dtype == a.dtype and o2.shape == (T, K)
        assert np.array_equal(o1, o2)
        assert np.array_equal(a._theta, b._theta)
        assert np.array_equal(a._state, b._state)


def test_converted_arguments():
    """lists, int64 indices, an int learning rate: converted, same result"""
    I, K = 40, 2
    a = fastlstm.LSTM(I, K, 2, 1, seed=2)
    b = fastlstm.LSTM(I, K, 2, 1, seed=2)
    idx = [3, -1, 39, 0, 7]
    y = [[0.0, 1.0]] * 5
    o1 = a.train_sequence(_dense(np.array(idx), I), np.array(y), None, 1)
    o2 = b.train_onehot(np.array(idx, dtype=np.int64), y, None, 1)
    assert np.array_equal(o1, o2) and np.array_equal(a._theta, b._theta)


@pytest.mark.parametrize("bad,match", [
    ([], "non-empty"), ([[1, 2]], "1-d"), ([0.5, 1.0], "integers"), ([True], "integers"),
    ([0, 40], r"\[-1, 40\)"), ([-2], r"\[-1, 40\)")])
def test_bad_indices(bad, match):
    net = fastlstm.LSTM(40, 2, 2, 1, seed=2)
    before = net._theta.copy()
    with pytest.raises(ValueError, match=match):
        net.train_onehot(np.array(bad), np.zeros((max(len(bad), 1), 2)))
    assert np.array_equal(before, net._theta)


def test_bad_targets_and_lr_explained():
    net = fastlstm.LSTM(40, 2, 2, 1, seed=2)
    idx = np.array([1, 2, 3], dtype=np.int32)
    with pytest.raises(ValueError):
        net.train_onehot(idx, np.zeros((4, 2)))           # length differs
    with pytest.raises(ValueError):
        net.train_onehot(idx, np.full((3, 2), np.nan))     # non-finite targets
    with pytest.raises(ValueError):
        net.train_onehot(idx, np.zeros((3, 2)), lr=-1.0)


def test_nonfinite_restores_weights():
    """a diverging update raises FloatingPointError and leaves the weights as before"""
    I = 50
    a = fastlstm.LSTM(I, 1, 1, 1, seed=0, out="linear", init_range=1.0)
    b = fastlstm.LSTM(I, 1, 1, 1, seed=0, out="linear", init_range=1.0)
    idx = np.arange(40, dtype=np.int32) % I
    y = np.full((40, 1), 1e300)
    before = b._theta.copy()
    with pytest.raises(FloatingPointError):
        a.train_sequence(_dense(idx, I), y, None, 1e300)
    with pytest.raises(FloatingPointError):
        b.train_onehot(idx, y, None, 1e300)
    assert np.array_equal(before, b._theta)
    assert np.array_equal(a._theta, b._theta)
