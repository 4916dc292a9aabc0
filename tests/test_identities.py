"""The oracle against independent computations (docs/model.md, identities 1 and 2).

``fastlstm.bptt`` is a separate reverse-mode implementation written from docs/model.md alone;
the finite differences need nothing but a forward pass.
"""
import numpy as np
import pytest

from _helpers import assert_close, random_config
from fastlstm import bptt, oracle
import fastlstm


def accumulated_update(net, x, y, mask, lr):
    """The summed update of schedule "sequence" (before it is applied)."""
    s = net.stream(learn=True, lr=lr, schedule="sequence")
    for t in range(len(x)):
        s.step(x[t], y[t] if mask[t] else None)
    dW = s._dW.copy()
    return {name: net._view(dW, name) for name in net.params}


def grads_of(net, x, y, mask, truncated):
    c = net.config
    params = {k: v.copy() for k, v in net.params.items()}
    _, grads, _ = bptt.loss_and_grad(params, x, y, mask, S=c["block_size"], g=c["g"],
                                     h=c["h"], out=c["out"], truncated=truncated)
    return grads


@pytest.mark.parametrize("backend", [oracle.LSTM, fastlstm.LSTM])
@pytest.mark.parametrize("seed", range(40))
def test_sequence_sum_is_minus_alpha_truncated_gradient(seed, backend):
    """6.1: under "sequence" the applied sum equals -alpha dL/dW with every recurrent
    entry of z(t) a constant."""
    rng = np.random.default_rng(seed)
    cfg = random_config(rng)
    cfg["init_range"] = 0.5
    net = backend(**cfg, seed=seed)
    T = int(rng.integers(1, 30))
    x = rng.uniform(-1, 1, (T, net.I))
    y = rng.uniform(0, 1, (T, net.K))
    mask = rng.random(T) < 0.6
    lr = 0.3
    dW = accumulated_update(net, x, y, mask, lr)
    grads = grads_of(net, x, y, mask, truncated=True)
    for name in net.params:
        assert_close(dW[name], -lr * grads[name] * net.masks[name], 1e-10, name)


@pytest.mark.parametrize("seed", range(25))
def test_without_recurrence_sum_is_finite_difference_gradient(seed):
    """6.2: with recurrent=False nothing is truncated: the sum is -alpha times the
    central finite-difference gradient of L."""
    rng = np.random.default_rng(100 + seed)
    cfg = random_config(rng)
    cfg.update(recurrent=False, init_range=0.5)
    net = oracle.LSTM(**cfg, seed=seed)
    T = int(rng.integers(1, 12))
    x = rng.uniform(-1, 1, (T, net.I))
    y = rng.uniform(0, 1, (T, net.K))
    mask = rng.random(T) < 0.6
    lr = 0.7
    dW = accumulated_update(net, x, y, mask, lr)

    def loss():
        out = net.forward(x)
        return 0.5 * np.sum(((y - out) ** 2)[mask])

    eps = 1e-6
    theta = net._theta
    fd = np.zeros_like(theta)
    for i in np.flatnonzero(net._mask):
        keep = theta[i]
        theta[i] = keep + eps
        lp = loss()
        theta[i] = keep - eps
        lm = loss()
        theta[i] = keep
        fd[i] = (lp - lm) / (2 * eps)
    flat = np.concatenate([dW[n].ravel() for n in net.params])
    assert_close(flat, -lr * fd, 1e-6, "sum vs finite differences")


def test_truncation_is_real_with_recurrence():
    """With recurrence the truncated sum is not the full gradient (so 6.1 is not
    trivially satisfied by a full-gradient implementation)."""
    rng = np.random.default_rng(3)
    net = oracle.LSTM(2, 2, 2, 2, init_range=0.5, seed=1)
    x = rng.uniform(-1, 1, (15, 2))
    y = rng.uniform(0, 1, (15, 2))
    mask = np.ones(15, bool)
    dW = accumulated_update(net, x, y, mask, 1.0)
    full = grads_of(net, x, y, mask, truncated=False)
    assert np.abs(dW["W_c"] + full["W_c"]).max() > 1e-4
    assert_close(dW["W_k"], -full["W_k"] * net.masks["W_k"], 1e-12, "W_k")
