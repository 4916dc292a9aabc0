"""net.gradient: the compiled back-propagation through time (csrc, lstm97_gradient)
against the independent numpy reverse mode (fastlstm.bptt, through the oracle), against
the forward-in-time rule (docs/model.md, identity 1) and against finite differences of the loss."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core, oracle
from _helpers import assert_close, random_config, random_pair, random_sequence


def flat(net, grads):
    return np.concatenate([grads[n].ravel() for n in net.params])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(25))
def test_gradient_matches_numpy_bptt(seed, dtype):
    rng = np.random.default_rng(seed)
    _, net, ref = random_pair(rng, seed, dtype)
    x, y, mask = random_sequence(rng, net, int(rng.integers(1, 30)))
    rtol = 1e-11 if dtype == "float64" else 2e-4
    for truncated in (False, True):
        loss, grads, out = net.gradient(x, y, mask, truncated=truncated)
        loss_r, grads_r, out_r = ref.gradient(x, y, mask, truncated=truncated)
        assert_close(out, out_r, rtol, "outputs")
        assert abs(loss - loss_r) <= rtol * max(abs(loss_r), 1e-300)
        assert set(grads) == set(net.params)
        for name in grads:
            assert grads[name].shape == net.params[name].shape
            assert_close(grads[name], grads_r[name], rtol, f"{name}, truncated={truncated}")
            assert np.all(grads[name][net.masks[name] == 0] == 0), "masked entries"


@pytest.mark.parametrize("seed", range(20))
def test_truncated_gradient_is_the_sequence_update(seed):
    """Spec 6.1: -lr * (truncated gradient) = the summed update of schedule 'sequence'."""
    rng = np.random.default_rng(100 + seed)
    cfg = random_config(rng)
    cfg["init_range"] = min(cfg["init_range"], 0.3)
    net = fastlstm.LSTM(**cfg, seed=seed)
    x, y, mask = random_sequence(rng, net, int(rng.integers(1, 25)))
    _, grads, out = net.gradient(x, y, mask, truncated=True)
    before = net._theta.copy()
    lr = 2.0 ** -10                       # exact scaling in binary
    out_train = net.train_sequence(x, y, mask, lr=lr, schedule="sequence")
    np.testing.assert_array_equal(out, out_train)
    assert_close((before - net._theta) / lr, flat(net, grads), 1e-9, "update")


def test_exact_gradient_matches_finite_differences():
    """With recurrence the exact gradient differs from the truncated one, and it is the
    derivative of the loss: central differences of the loss computed by forward()."""
    rng = np.random.default_rng(7)
    net = fastlstm.LSTM(2, 2, 2, 2, seed=3, init_range=0.6)
    x, y, mask = random_sequence(rng, net, 12)
    loss, grads, _ = net.gradient(x, y, mask, truncated=False)
    _, grads_t, _ = net.gradient(x, y, mask, truncated=True)
    g, g_t = flat(net, grads), flat(net, grads_t)
    assert np.abs(g - g_t).max() > 1e-4 * np.abs(g).max(), "recurrence must matter here"

    def loss_at(theta):
        saved = net._theta.copy()
        net._theta[...] = theta
        try:
            out = net.forward(x)
        finally:
            net._theta[...] = saved
        return 0.5 * ((out[mask] - y[mask]) ** 2).sum()

    assert abs(loss_at(net._theta) - loss) <= 1e-12 * loss
    eps = 1e-6
    fd = np.zeros_like(g)
    for i in np.flatnonzero(net._mask):
        th = net._theta.copy()
        th[i] += eps
        up = loss_at(th)
        th[i] -= 2 * eps
        fd[i] = (up - loss_at(th)) / (2 * eps)
    assert_close(g, fd, 1e-6, "exact gradient vs central differences")


def test_without_recurrence_nothing_is_truncated():
    rng = np.random.default_rng(8)
    net = fastlstm.LSTM(3, 2, 2, 2, seed=4, recurrent=False, init_range=0.5)
    x, y, mask = random_sequence(rng, net, 15)
    _, g, _ = net.gradient(x, y, mask, truncated=False)
    _, g_t, _ = net.gradient(x, y, mask, truncated=True)
    np.testing.assert_array_equal(flat(net, g), flat(net, g_t))


def test_gradient_leaves_the_net_alone_and_checks_its_arguments():
    rng = np.random.default_rng(9)
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y, mask = random_sequence(rng, net, 10)
    theta = net._theta.copy()
    net.gradient(x, y, mask)
    np.testing.assert_array_equal(net._theta, theta)
    with pytest.raises(TypeError, match="truncated"):
        net.gradient(x, y, mask, truncated="yes")
    with pytest.raises(ValueError, match="x"):
        net.gradient(x[:, :1], y, mask)
    y_bad = y.copy()
    y_bad[mask.argmax()] = np.nan
    with pytest.raises(ValueError, match="y"):
        net.gradient(x, y_bad, mask)
    # lists and a float32 copy are converted like everywhere else
    loss, _, _ = net.gradient(x.tolist(), y.tolist(), mask.tolist())
    assert loss == net.gradient(x, y, mask)[0]


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
def test_gradient_of_a_diverging_net_raises(backend):
    net = backend(1, 1, 1, 1, seed=0, h="id", out="linear")
    net.params["W_c"][...] = 50.0                  # cell input g2 -> 2: s grows to ~10
    net.params["W_in"][...] = 50.0
    net.params["W_k"][...] = 1e308                 # the output overflows
    x = np.ones((5, 1))
    with pytest.raises(FloatingPointError):
        net.gradient(x, np.zeros((5, 1)))


def test_core_gradient_checks_the_tape():
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    T = 6
    x, t = np.zeros((T, 2)), np.zeros((T, 1))
    n = _core.tape_len(net._dims, T)
    assert n == T * (net.nz + 2 * net.B + 3 * net.C) + net.nu + 1 + 5 * net.C + 2 * net.B + net.nz
    args = [net._dims, net._theta, net._mask, x, t, None, False, np.zeros((T, 1)),
            np.zeros_like(net._theta)]
    with pytest.raises(ValueError, match="tape"):
        _core.gradient(*args, np.zeros(n - 1))
    assert _core.gradient(*args, np.zeros(n)) >= 0
