"""Tests of fastlstm.bptt, the reverse-mode gradient of the 1997 LSTM (docs/model.md, identities).

The references used here are written in this file, independently of bptt.py:
  * ``ref_forward``: a second forward pass (other activation formulas, per-block loops) that can
    also run with the recurrent entries of z(t) frozen to recorded values, so that central finite
    differences of the frozen loss give the truncated gradient even when recurrence is present;
  * ``ref_truncated_traces``: the forward-in-time trace rule of docs/model.md, summed over the
    sequence, which by identity 1 of docs/model.md equals minus the truncated gradient;
  * hand-derived closed forms for I = K = B = S = 1, T = 1 and T = 2.
"""

import itertools
import math

import numpy as np
import pytest

from fastlstm import bptt

G_NAMES = ("g2", "g1", "tanh", "h1", "id")      # the last two: the swapped Table 10 reading
H_NAMES = ("h1", "id", "tanh", "g2", "g1")
OUT_NAMES = ("logistic", "linear")
NAMES = ("W_in", "W_out", "W_c", "W_k")


# ---------------------------------------------------------------------------------------------
# Independent reference pieces
# ---------------------------------------------------------------------------------------------

def sig(x):
    # overflow-free through tanh: sig(x) = (1 + tanh(x/2)) / 2
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


REF_G = {"g2": lambda x: 4.0 * sig(x) - 2.0, "g1": sig, "tanh": np.tanh,
         "h1": lambda x: 2.0 * sig(x) - 1.0, "id": lambda x: np.asarray(x, float)}
REF_H = dict(REF_G)
REF_OUT = {"logistic": sig, "linear": lambda x: np.asarray(x, float)}
# derivatives w.r.t. the argument (not the value), for the trace rule
REF_DG = {"g2": lambda x: 4.0 * sig(x) * (1 - sig(x)), "g1": lambda x: sig(x) * (1 - sig(x)),
          "tanh": lambda x: 1.0 / np.cosh(x) ** 2,
          "h1": lambda x: 2.0 * sig(x) * (1 - sig(x)), "id": lambda x: np.ones_like(x)}
REF_DH = dict(REF_DG)
REF_DOUT = {"logistic": lambda x: sig(x) * (1 - sig(x)), "linear": lambda x: np.ones_like(x)}


def ref_forward(p, x, S, g, h, out, frozen=None):
    """Forward pass. Returns (outputs (T, K), recurrent part of z(t) for each t (T, nz-1-I)).

    frozen: if given, the recurrent entries of z(t) are read from frozen[t] instead of the
    network's own previous activations (stop-gradient made explicit)."""
    W_in, W_out, W_c, W_k = p["W_in"], p.get("W_out"), p["W_c"], p["W_k"]
    T, I = x.shape
    B = W_in.shape[0]
    outputs, recs = [], []
    s = np.zeros((B, S))
    prev = np.zeros(B * S + B + (B if W_out is not None else 0))   # [y_c, y_in, y_out](t-1)
    for t in range(T):
        r = prev if frozen is None else frozen[t]
        recs.append(r.copy())
        z = np.concatenate(([1.0], x[t], r))
        y_in = np.empty(B)
        y_out = np.ones(B)
        y_c = np.empty((B, S))
        for j in range(B):
            y_in[j] = sig(W_in[j] @ z)
            if W_out is not None:
                y_out[j] = sig(W_out[j] @ z)
            for i in range(S):
                c = j * S + i
                s[j, i] = s[j, i] + y_in[j] * REF_G[g](W_c[c] @ z)
                y_c[j, i] = y_out[j] * REF_H[h](s[j, i])
        u = np.concatenate(([1.0], x[t], y_c.ravel()))
        outputs.append(REF_OUT[out](W_k @ u))
        prev = np.concatenate((y_c.ravel(), y_in) + ((y_out,) if W_out is not None else ()))
    return np.array(outputs).reshape(T, W_k.shape[0]), np.array(recs)


def ref_loss(p, x, y, mask, S, g, h, out, frozen=None):
    o, _ = ref_forward(p, x, S, g, h, out, frozen)
    d = (o - y)[mask]
    return 0.5 * float(np.sum(d * d))


def fd_grad(loss, p, eps=1e-5):
    """Central finite differences of loss(p) w.r.t. every entry of every array in p."""
    grads = {}
    for name, W in p.items():
        if W is None:
            grads[name] = None
            continue
        G = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            w0 = W[idx]
            W[idx] = w0 + eps
            lp = loss(p)
            W[idx] = w0 - eps
            lm = loss(p)
            W[idx] = w0
            G[idx] = (lp - lm) / (2 * eps)
        grads[name] = G
    return grads


def ref_truncated_traces(p, x, y, mask, S, g, h, out):
    """Spec section 5 (eqs. 10-28), "sequence" schedule with alpha = 1: returns -sum_t dW."""
    W_in, W_out, W_c, W_k = p["W_in"], p.get("W_out"), p["W_c"], p["W_k"]
    T, I = x.shape
    B, nz = W_in.shape
    C = B * S
    blk = np.arange(C) // S
    dS_c = np.zeros((C, nz))
    dS_in = np.zeros((C, nz))
    acc = {k: (None if v is None else np.zeros_like(v)) for k, v in p.items()}
    s = np.zeros(C)
    y_c, y_in, y_out = np.zeros(C), np.zeros(B), np.zeros(B)
    for t in range(T):
        z = np.concatenate(([1.0], x[t], y_c, y_in) + ((y_out,) if W_out is not None else ()))
        net_in, net_c = W_in @ z, W_c @ z
        y_in = sig(net_in)
        net_out = W_out @ z if W_out is not None else None
        y_out = sig(net_out) if W_out is not None else np.ones(B)
        dS_c += np.outer(REF_DG[g](net_c) * y_in[blk], z)                         # eq. 27
        dS_in += np.outer(REF_G[g](net_c) * (y_in * (1 - y_in))[blk], z)          # eq. 25
        s = s + y_in[blk] * REF_G[g](net_c)
        y_c = y_out[blk] * REF_H[h](s)
        u = np.concatenate(([1.0], x[t], y_c))
        net_k = W_k @ u
        if not mask[t]:
            continue
        e_k = REF_DOUT[out](net_k) * (y[t] - REF_OUT[out](net_k))                  # eq. 19
        back = W_k[:, 1 + I:].T @ e_k
        e_s = y_out[blk] * REF_DH[h](s) * back                                      # eq. 23
        acc["W_k"] += np.outer(e_k, u)                                              # eq. 22
        acc["W_c"] += e_s[:, None] * dS_c                                           # eq. 28
        acc["W_in"] += np.add.reduceat(e_s[:, None] * dS_in, np.arange(0, C, S))    # eq. 26
        if W_out is not None:
            e_out = sig(net_out) * (1 - sig(net_out)) * np.add.reduceat(
                REF_H[h](s) * back, np.arange(0, C, S))                            # eq. 21
            acc["W_out"] += np.outer(e_out, z)                                      # eq. 22
    return {k: (None if v is None else -v) for k, v in acc.items()}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def make_problem(seed, gate=True, recurrent=True, T=None):
    rng = np.random.default_rng(seed)
    I, K, B, S = (int(v) for v in rng.integers(1, 4, size=4))
    T = int(rng.integers(1, 9)) if T is None else T
    C = B * S
    nz = 1 + I + C + B + (B if gate else 0)
    p = {"W_in": rng.uniform(-0.5, 0.5, (B, nz)),
         "W_out": rng.uniform(-0.5, 0.5, (B, nz)) if gate else None,
         "W_c": rng.uniform(-0.5, 0.5, (C, nz)),
         "W_k": rng.uniform(-0.5, 0.5, (K, 1 + I + C))}
    if not recurrent:
        for name in ("W_in", "W_out", "W_c"):
            if p[name] is not None:
                p[name][:, 1 + I:] = 0.0
    x = rng.uniform(-1, 1, (T, I))
    y = rng.uniform(0, 1, (T, K))
    mask = rng.random(T) < 0.6
    mask[rng.integers(T)] = True          # at least one target, so the gradient is not 0
    return p, x, y, mask, S


def rel_err(a, b):
    """max |a - b| over every entry of every array, relative to the largest |entry|."""
    diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in a if a[k] is not None)
    scale = max(float(np.max(np.abs(v))) for d in (a, b) for v in d.values() if v is not None)
    return diff / max(scale, 1e-300)


def worst(a, b):
    k = max((k for k in a if a[k] is not None), key=lambda k: np.max(np.abs(a[k] - b[k])))
    i = np.unravel_index(np.argmax(np.abs(a[k] - b[k])), a[k].shape)
    return f"worst at {k}{i}: {a[k][i]!r} vs {b[k][i]!r}"


ALL_ACTS = list(itertools.product(G_NAMES, H_NAMES, OUT_NAMES, (True, False)))


# ---------------------------------------------------------------------------------------------
# The forward pass
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("g,h,out,gate", ALL_ACTS)
def test_forward_matches_reference_and_loss_and_grad(g, h, out, gate):
    p, x, y, mask, S = make_problem(hash((g, h, out, gate)) % 2**32, gate=gate)
    want, _ = ref_forward(p, x, S, g, h, out)
    got = bptt.forward(p, x, S=S, g=g, h=h, out=out)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    L, _, outputs = bptt.loss_and_grad(p, x, y, mask, S=S, g=g, h=h, out=out)
    np.testing.assert_array_equal(outputs, got)
    assert L == pytest.approx(ref_loss(p, x, y, mask, S, g, h, out), rel=1e-13)


def test_forward_overflow_free():
    p, x, _, _, S = make_problem(7, T=5)
    big = {k: (None if v is None else 1e4 * v) for k, v in p.items()}
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        for g, h, out in itertools.product(G_NAMES, H_NAMES, OUT_NAMES):
            o = bptt.forward(big, 100 * x, S=S, g=g, h=h, out=out)
            assert np.all(np.isfinite(o))


# ---------------------------------------------------------------------------------------------
# 1. Full gradient = finite differences; truncated gradient = finite differences of the
#    frozen-recurrence loss = the forward trace rule
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("g,h,out,gate", ALL_ACTS)
def test_full_gradient_equals_finite_differences(g, h, out, gate):
    p, x, y, mask, S = make_problem(1000 + ALL_ACTS.index((g, h, out, gate)), gate=gate)
    _, grads, _ = bptt.loss_and_grad(p, x, y, mask, S=S, g=g, h=h, out=out, truncated=False)
    fd = fd_grad(lambda q: ref_loss(q, x, y, mask, S, g, h, out), p)
    err = rel_err(grads, fd)
    assert err < 1e-6, worst(grads, fd)


@pytest.mark.parametrize("g,h,out,gate", ALL_ACTS[::3])
def test_truncated_gradient_equals_frozen_recurrence_finite_differences(g, h, out, gate):
    p, x, y, mask, S = make_problem(2000 + ALL_ACTS.index((g, h, out, gate)), gate=gate)
    _, frozen = ref_forward(p, x, S, g, h, out)            # recurrent inputs at the base point
    _, grads, _ = bptt.loss_and_grad(p, x, y, mask, S=S, g=g, h=h, out=out, truncated=True)
    fd = fd_grad(lambda q: ref_loss(q, x, y, mask, S, g, h, out, frozen=frozen), p)
    assert rel_err(grads, fd) < 1e-6, worst(grads, fd)


@pytest.mark.parametrize("g,h,out,gate", ALL_ACTS)
def test_truncated_gradient_equals_spec_trace_rule(g, h, out, gate):
    p, x, y, mask, S = make_problem(3000 + ALL_ACTS.index((g, h, out, gate)), gate=gate)
    _, grads, _ = bptt.loss_and_grad(p, x, y, mask, S=S, g=g, h=h, out=out, truncated=True)
    want = ref_truncated_traces(p, x, y, mask, S, g, h, out)
    assert rel_err(grads, want) < 1e-12, worst(grads, want)


# ---------------------------------------------------------------------------------------------
# 2. Without recurrence nothing is truncated: truncated = full = finite differences
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("g,h,out,gate", ALL_ACTS[1::2])
def test_no_recurrence_truncated_equals_full_equals_fd(g, h, out, gate):
    p, x, y, mask, S = make_problem(4000 + ALL_ACTS.index((g, h, out, gate)), gate=gate,
                                    recurrent=False)
    kw = dict(S=S, g=g, h=h, out=out)
    L_t, tr, _ = bptt.loss_and_grad(p, x, y, mask, truncated=True, **kw)
    L_f, full, _ = bptt.loss_and_grad(p, x, y, mask, truncated=False, **kw)
    assert L_t == L_f
    assert rel_err(tr, full) < 1e-14, worst(tr, full)
    fd = fd_grad(lambda q: ref_loss(q, x, y, mask, S, g, h, out), p)
    assert rel_err(tr, fd) < 1e-6, worst(tr, fd)


# ---------------------------------------------------------------------------------------------
# 3. With recurrence the truncation is real, except where no error can cross a recurrent edge
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gate", (True, False))
def test_truncation_is_real_with_recurrence(gate):
    # dL/dW_k = sum_t e_k(t) u(t) depends only on the forward pass (y_k is not fed back),
    # so it is identical in both modes; every other group receives error through z(t+1)
    # in the full gradient only, so it must differ (here by far more than rounding).
    p, x, y, mask, S = make_problem(5, gate=gate, T=6)
    mask[:] = True
    kw = dict(S=S, g="g2", h="h1", out="logistic")
    _, tr, _ = bptt.loss_and_grad(p, x, y, mask, truncated=True, **kw)
    _, full, _ = bptt.loss_and_grad(p, x, y, mask, truncated=False, **kw)
    np.testing.assert_array_equal(tr["W_k"], full["W_k"])
    for name in ("W_in", "W_out", "W_c"):
        if p[name] is None:
            assert tr[name] is None and full[name] is None
            continue
        d = np.max(np.abs(tr[name] - full[name])) / np.max(np.abs(full[name]))
        assert d > 1e-3, f"{name}: truncated and full gradients agree (relative diff {d:.2e})"
    # and the full gradient is the one finite differences agree with
    fd = fd_grad(lambda q: ref_loss(q, x, y, mask, S, "g2", "h1", "logistic"), p)
    assert rel_err(full, fd) < 1e-6
    assert rel_err(tr, fd) > 1e-3


@pytest.mark.parametrize("T", (1, 5))
def test_truncated_equals_full_when_only_first_step_has_target(T):
    # Error injected at t = 0 has no earlier step to flow to, and later steps carry no error:
    # no error ever crosses a recurrent edge, so the two modes coincide (T = 1 is a special case).
    p, x, y, mask, S = make_problem(11, T=T)
    mask[:] = False
    mask[0] = True
    kw = dict(S=S, g="g2", h="h1", out="logistic")
    _, tr, _ = bptt.loss_and_grad(p, x, y, mask, truncated=True, **kw)
    _, full, _ = bptt.loss_and_grad(p, x, y, mask, truncated=False, **kw)
    for name in NAMES:
        np.testing.assert_array_equal(tr[name], full[name])
    # the recurrent columns get zero gradient: z(0) has zeros there
    I = x.shape[1]
    for name in ("W_in", "W_out", "W_c"):
        assert np.all(tr[name][:, 1 + I:] == 0.0)


# ---------------------------------------------------------------------------------------------
# 4. Hand-derived closed forms (I = K = B = S = 1)
# ---------------------------------------------------------------------------------------------

def _s(v):
    return 1.0 / (1.0 + math.exp(-v))


def test_hand_computed_T1_defaults():
    # g2, h1, logistic output, with output gate.  z = [1, x, 0, 0, 0] (nothing before t = 0).
    xv, tgt = 0.7, 0.2
    a = [0.3, -0.4, 0.11, 0.12, 0.13]      # W_in
    b = [-0.2, 0.5, 0.21, 0.22, 0.23]      # W_out
    c = [0.6, 0.9, 0.31, 0.32, 0.33]       # W_c
    w = [0.1, 0.8, -1.5]                   # W_k: bias, x, y_c
    ni, no, nc = a[0] + a[1] * xv, b[0] + b[1] * xv, c[0] + c[1] * xv
    yi, yo = _s(ni), _s(no)
    gc = 2 * math.tanh(nc / 2)
    s = yi * gc
    hs = math.tanh(s / 2)
    yc = yo * hs
    yk = _s(w[0] + w[1] * xv + w[2] * yc)
    L = 0.5 * (yk - tgt) ** 2
    # chain rule, with derivatives of the definitions (not of their values)
    e = (yk - tgt) * yk * (1 - yk)                        # dL/dnet_k
    dyc = e * w[2]
    ds = dyc * yo * 0.5 / math.cosh(s / 2) ** 2           # d tanh(s/2)/ds
    dnc = ds * yi * 1.0 / math.cosh(nc / 2) ** 2          # d 2 tanh(nc/2)/dnc
    dni = ds * gc * yi * (1 - yi)
    dno = dyc * hs * yo * (1 - yo)
    want = {"W_in": [[dni, dni * xv, 0, 0, 0]], "W_out": [[dno, dno * xv, 0, 0, 0]],
            "W_c": [[dnc, dnc * xv, 0, 0, 0]], "W_k": [[e, e * xv, e * yc]]}

    p = {"W_in": np.array([a]), "W_out": np.array([b]), "W_c": np.array([c]),
         "W_k": np.array([w])}
    for truncated in (True, False):
        Lg, grads, outputs = bptt.loss_and_grad(p, [[xv]], [[tgt]], truncated=truncated)
        assert outputs[0, 0] == pytest.approx(yk, rel=1e-14)
        assert Lg == pytest.approx(L, rel=1e-14)
        for name in NAMES:
            np.testing.assert_allclose(grads[name], want[name], rtol=1e-13, atol=1e-300)


def test_hand_computed_T2_recurrent_paths():
    # g1 (logistic), h = id, linear output, no output gate; target only at t = 2 (index 1).
    #   z(t) = [1, x(t), y_c(t-1), y_in(t-1)],  y_c = s,  y_k = w0 + w1 x + w2 s.
    # Step 1: z1 = [1, x1, 0, 0]; step 2: z2 = [1, x2, s1, yi1]; s2 = s1 + yi2 g(nc2).
    x1, x2, tgt = 0.5, -0.8, 0.3
    a = [0.2, -0.7, 0.9, -0.6]             # W_in
    c = [-0.3, 1.1, 0.8, 0.4]              # W_c
    w = [0.05, 0.0, 1.7]                   # W_k
    ni1, nc1 = a[0] + a[1] * x1, c[0] + c[1] * x1
    yi1, g1 = _s(ni1), _s(nc1)
    s1 = yi1 * g1
    ni2 = a[0] + a[1] * x2 + a[2] * s1 + a[3] * yi1
    nc2 = c[0] + c[1] * x2 + c[2] * s1 + c[3] * yi1
    yi2, g2 = _s(ni2), _s(nc2)
    s2 = s1 + yi2 * g2
    yk = w[0] + w[1] * x2 + w[2] * s2
    E = (yk - tgt) * w[2]                  # dL/ds2
    dyi1, dyi2 = yi1 * (1 - yi1), yi2 * (1 - yi2)
    dg1, dg2 = g1 * (1 - g1), g2 * (1 - g2)

    # dL/dW_c[0, 1] (weight from x to the cell):
    D1 = yi1 * dg1 * x1                                    # ds1/dc1
    full_c1 = E * (D1 + g2 * dyi2 * a[2] * D1 + yi2 * dg2 * (x2 + c[2] * D1))
    trunc_c1 = E * (D1 + yi2 * dg2 * x2)                   # the s1 entry of z2 held fixed
    # dL/dW_in[0, 1] (weight from x to the input gate):
    Yi = dyi1 * x1                                         # dyi1/da1
    G1 = g1 * Yi                                           # ds1/da1
    full_a1 = E * (G1 + g2 * dyi2 * (x2 + a[2] * G1 + a[3] * Yi) + yi2 * dg2 * (c[2] * G1 + c[3] * Yi))
    trunc_a1 = E * (G1 + g2 * dyi2 * x2)
    # dL/dW_c[0, 2] (recurrent weight from y_c(t-1)): s1 does not depend on it, so both modes agree
    rec_c2 = E * yi2 * dg2 * s1

    p = {"W_in": np.array([a]), "W_c": np.array([c]), "W_k": np.array([w])}
    kw = dict(S=1, g="g1", h="id", out="linear")
    x, y, mask = [[x1], [x2]], [[np.nan], [tgt]], [False, True]
    _, full, out_f = bptt.loss_and_grad(p, x, y, mask, truncated=False, **kw)
    _, trunc, _ = bptt.loss_and_grad(p, x, y, mask, truncated=True, **kw)
    assert set(full) == {"W_in", "W_c", "W_k"}
    assert out_f[1, 0] == pytest.approx(yk, rel=1e-14)
    assert full["W_c"][0, 1] == pytest.approx(full_c1, rel=1e-13)
    assert trunc["W_c"][0, 1] == pytest.approx(trunc_c1, rel=1e-13)
    assert full["W_in"][0, 1] == pytest.approx(full_a1, rel=1e-13)
    assert trunc["W_in"][0, 1] == pytest.approx(trunc_a1, rel=1e-13)
    assert full["W_c"][0, 2] == pytest.approx(rec_c2, rel=1e-13)
    assert trunc["W_c"][0, 2] == pytest.approx(rec_c2, rel=1e-13)
    np.testing.assert_array_equal(full["W_k"][0], (yk - tgt) * np.array([1.0, x2, s2]))
    assert abs(full_c1 - trunc_c1) > 1e-3 and abs(full_a1 - trunc_a1) > 1e-3


# ---------------------------------------------------------------------------------------------
# SGD ablation step and argument checking
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("truncated", (False, True))
def test_sgd_bptt_sequence_update(truncated):
    p, x, y, mask, S = make_problem(21, T=4)
    rng = np.random.default_rng(0)
    masks = {k: (rng.random(v.shape) < 0.7).astype(float) for k, v in p.items()}
    kw = dict(S=S, g="g2", h="h1", out="logistic", truncated=truncated)
    _, grads, outputs = bptt.loss_and_grad(p, x, y, mask, **kw)
    before = {k: v.copy() for k, v in p.items()}
    ids = {k: id(v) for k, v in p.items()}
    got = bptt.sgd_bptt_sequence(p, x, y, mask, 0.3, masks, **kw)
    np.testing.assert_array_equal(got, outputs)
    for k in p:
        assert id(p[k]) == ids[k], "update must be in place"
        np.testing.assert_allclose(p[k], before[k] - 0.3 * grads[k] * masks[k], rtol=1e-15)
        assert np.all(p[k][masks[k] == 0] == before[k][masks[k] == 0])
        assert np.any(p[k] != before[k])


def test_sgd_bptt_sequence_decreases_loss():
    p, x, y, mask, S = make_problem(22, gate=False, T=6)
    kw = dict(S=S, g="g2", h="h1", out="logistic")
    L0 = bptt.loss_and_grad(p, x, y, mask, **kw)[0]
    for _ in range(50):
        bptt.sgd_bptt_sequence(p, x, y, mask, 0.5, **kw)
    assert bptt.loss_and_grad(p, x, y, mask, **kw)[0] < 0.5 * L0


def test_shape_errors_name_argument_and_shapes():
    p, x, y, mask, S = make_problem(31)
    T, I = x.shape
    C = p["W_c"].shape[0]
    with pytest.raises(ValueError, match=r"y: shape \(%d, %d\).*\(%d, %d\)"
                       % (T, y.shape[1] + 1, T, y.shape[1])):
        bptt.loss_and_grad(p, x, np.zeros((T, y.shape[1] + 1)), mask, S=S)
    with pytest.raises(ValueError, match=r"mask: shape \(%d,\).*\(%d,\)" % (T + 1, T)):
        bptt.loss_and_grad(p, x, y, np.ones(T + 1, bool), S=S)
    with pytest.raises(ValueError, match=r"W_c"):
        bptt.loss_and_grad(p, x, y, mask, S=S + 1)
    with pytest.raises(ValueError, match=r"W_in: shape .* x shape \(%d, %d\)" % (T, I + 1)):
        bptt.forward(p, np.zeros((T, I + 1)), S=S)
    with pytest.raises(ValueError, match=r"W_k: shape \(%d, %d\)" % (y.shape[1], I + C)):
        bptt.forward(dict(p, W_k=p["W_k"][:, :-1]), x, S=S)
    q = dict(p, W_out=p["W_out"][:, :-1])
    with pytest.raises(ValueError, match=r"W_out: shape"):
        bptt.forward(q, x, S=S)
    with pytest.raises(ValueError, match=r"x: expected shape"):
        bptt.forward(p, x[:, 0], S=S)
    with pytest.raises(ValueError, match=r"h: unknown activation"):
        bptt.forward(p, x, S=S, h="sigmoid")
    with pytest.raises(ValueError, match=r"masks\['W_k'\]: shape"):
        bptt.sgd_bptt_sequence(p, x, y, mask, 0.1, {"W_k": np.ones((1, 1))}, S=S)
