"""Reverse-mode (back-propagation through time) gradient of the 1997 LSTM, in plain numpy.

An independent check of the forward-in-time truncated learning rule of
``docs/model.md`` (its identities 1 and 2) and the "full-gradient" ablation.
Written from the model description alone: it shares no code with the oracle or the C kernel.

Model (``docs/model.md`` and the LSTM family; no conventional hidden units)::

    z(t)    = [1, x(t), y_c(t-1), y_in(t-1), y_out(t-1), y_phi(t-1)]   sources "full"
              (a gate kind that is absent is left out), or [1, x(t), y_c(t-1)] ("cells")
    y_in    = f(W_in z + sum_{c in j} P_in[c] s_c(t-1))                 (B)
    y_phi   = f(W_phi z + sum_{c in j} P_phi[c] s_c(t-1))  or 1         (B)
    s(t)    = y_phi_j s(t-1) + y_in_j g(W_c z)                          (C)  c in block j = c // S
    y_out   = f(W_out z + sum_{c in j} P_out[c] s_c(t))    or 1         (B)
    y_c     = y_out_j h(s(t))                                           (C)
    u(t)    = [1, x(t), y_c(t)]
    y_k     = f_out(W_k u)                                              (K)

    L = 1/2 sum_{t with target} sum_k (y[t, k] - y_k(t))^2              (logistic, linear)
    L = sum_{t with target} (log sum_k e^{net_k} - sum_k y[t, k] net_k)  (softmax)

The softmax loss is the cross-entropy -sum_k y[t, k] log y_k(t) when each target row sums
to 1; written as above, its gradient with respect to net_k is y_k - y[t, k] for any target.
Which options a net has is read from ``params``: ``W_phi`` (forget gates), ``P_in``,
``P_phi``, ``P_out`` (peepholes; shape (C,)), and the width of ``W_in`` (sources "full" or
"cells").

Gradients are computed by storing the forward pass for all T steps and running one loop
backwards in time.  ``truncated=True`` treats every recurrent entry of z(t) and every
peephole input as a constant (stop-gradient), so error flows back in time only along the
constant error carousel (ds(t)/ds(t-1) = y_phi, 1 without forget gates);
``truncated=False`` is the exact gradient of L.

Public functions: :func:`forward`, :func:`loss_and_grad`, :func:`sgd_bptt_sequence`.
"""

from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["forward", "loss_and_grad", "sgd_bptt_sequence"]

_PARAM_NAMES = ("W_in", "W_out", "W_phi", "W_c", "W_k", "P_in", "P_phi", "P_out")
_GATES = ("W_in", "W_out", "W_phi")      # the order of the gates' activations in z

#: the weights: "W_in", "W_c", "W_k" and optionally "W_out" (None or absent: no output gate)
Params = Mapping[str, Optional[ArrayLike]]
_F64 = NDArray[np.float64]


# ---------------------------------------------------------------------------------------------
# Activation functions (docs/model.md#squashing-functions).  Each entry: (function, derivative given the value).
# ---------------------------------------------------------------------------------------------

def _sigmoid(x: _F64) -> _F64:
    """Logistic 1/(1+exp(-x)) without overflow: exp is only ever taken of -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _dsigmoid(f: _F64) -> _F64:
    return f * (1.0 - f)


_GATE = (_sigmoid, _dsigmoid)

_G = {
    "g2": (lambda x: 2.0 * np.tanh(0.5 * x), lambda g: (4.0 - g * g) / 4.0),  # range [-2, 2]
    "g1": (_sigmoid, _dsigmoid),                                               # range [0, 1]
    "tanh": (np.tanh, lambda g: 1.0 - g * g),
}

_H = {
    "h1": (lambda x: np.tanh(0.5 * x), lambda h: (1.0 - h * h) / 2.0),         # range [-1, 1]
    "id": (lambda x: x, lambda h: np.ones_like(h)),
    "tanh": (np.tanh, lambda h: 1.0 - h * h),
}

# the swapped reading of the paper's Table 10: h's functions as g and g's as h
_G["h1"], _G["id"] = _H["h1"], _H["id"]
_H["g2"], _H["g1"] = _G["g2"], _G["g1"]

def _softmax(x):
    """exp(x_k) / sum_j exp(x_j) along the last axis, without overflow."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_OUT = {
    "logistic": (_sigmoid, _dsigmoid),
    "linear": (lambda x: x, lambda y: np.ones_like(y)),
    "softmax": (_softmax, None),          # its error is y_k - target (no derivative used)
}


def _lookup(table: Dict[str, Any], kind: str, name: str) -> Any:
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ValueError(f"{kind}: unknown activation {name!r}; expected one of {sorted(table)}")


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def _check_shape(name: str, arr: NDArray[Any], expected: Tuple[int, ...],
                 why: str = "") -> None:
    if arr.shape != tuple(expected):
        raise ValueError(f"{name}: shape {arr.shape} does not match the expected "
                         f"{tuple(expected)}{why}")


def _unpack(params: Params, x: ArrayLike, S: int
            ) -> Tuple[Dict[str, Any], Dict[str, int], _F64]:
    """Validate ``params`` and ``x``; return float64 weights and sizes.

    Returns
    -------
    W : dict of float64 arrays (None for a parameter the net does not have)
    dims : dict with T, I, K, B, S, C, nz and sources ("full" or "cells")
    x : (T, I) float64
    """
    if not isinstance(params, dict):
        raise ValueError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for name in params:
        if name not in _PARAM_NAMES:
            raise ValueError(f"params: unsupported key {name!r}; expected keys from "
                             f"{_PARAM_NAMES}")
    for name in ("W_in", "W_c", "W_k"):
        if name not in params or params[name] is None:
            raise ValueError(f"params: missing required array {name!r}")
    if isinstance(S, bool) or not isinstance(S, (int, np.integer)) or S < 1:
        raise ValueError(f"S: expected a positive integer, got {S!r}")
    S = int(S)

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x: expected shape (T, I), got shape {x.shape}")
    T, I = x.shape

    W: Dict[str, Any] = {
        name: (None if params.get(name) is None
               else np.asarray(params[name], dtype=np.float64))
        for name in _PARAM_NAMES}
    for name in _PARAM_NAMES:
        ndim = 1 if name.startswith("P_") else 2
        if W[name] is not None and W[name].ndim != ndim:
            raise ValueError(f"{name}: expected a {ndim}-D array, got shape {W[name].shape}")
    for peep, gate in (("P_out", "W_out"), ("P_phi", "W_phi")):
        if W[peep] is not None and W[gate] is None:
            raise ValueError(f"params: {peep!r} given without the gate it feeds ({gate!r})")
    n_gates = sum(W[name] is not None for name in _GATES)
    B = W["W_in"].shape[0]
    C = B * S
    K = W["W_k"].shape[0]
    nz_full = 1 + I + C + n_gates * B
    nz_cells = 1 + I + C
    nz = W["W_in"].shape[1]
    sources = "full" if nz == nz_full else "cells"
    if W["W_c"].shape[0] != C:
        raise ValueError(f"W_c: shape {W['W_c'].shape} has {W['W_c'].shape[0]} rows, expected "
                         f"C = B*S = {B}*{S} = {C} (B from W_in shape {W['W_in'].shape}, S={S})")
    if nz not in (nz_full, nz_cells):
        raise ValueError(f"W_in: shape {W['W_in'].shape} does not match the expected "
                         f"({B}, {nz_full}) (sources 'full': 1+I+C+{n_gates}B) or "
                         f"({B}, {nz_cells}) (sources 'cells': 1+I+C), with I = {I} from x "
                         f"shape {x.shape}, B = {B}, C = {C}")
    why = f" (nz = {nz} from W_in shape {W['W_in'].shape})"
    for name in _GATES[1:]:
        if W[name] is not None:
            _check_shape(name, W[name], (B, nz), why)
    _check_shape("W_c", W["W_c"], (C, nz), why)
    _check_shape("W_k", W["W_k"], (K, 1 + I + C), f" (1+I+C with I = {I} from x shape {x.shape})")
    for name in ("P_in", "P_phi", "P_out"):
        if W[name] is not None:
            _check_shape(name, W[name], (C,), f" (one weight per cell, C = {C})")
    dims = dict(T=T, I=I, K=K, B=B, S=S, C=C, nz=nz, sources=sources)
    return W, dims, x


def _targets(y: ArrayLike, mask: Optional[ArrayLike], dims: Dict[str, int]
             ) -> Tuple[_F64, NDArray[np.bool_]]:
    """Validate targets; return y (T, K) float64 and mask (T,) bool."""
    T, K = dims["T"], dims["K"]
    y = np.asarray(y, dtype=np.float64)
    _check_shape("y", y, (T, K))
    if mask is None:
        mask = np.ones(T, dtype=bool)
    else:
        mask = np.asarray(mask)
        _check_shape("mask", mask, (T,))
        mask = mask.astype(bool)
    return y, mask


# ---------------------------------------------------------------------------------------------
# Forward pass, storing everything the backward pass needs
# ---------------------------------------------------------------------------------------------

def _forward_record(W: Dict[str, Any], dims: Dict[str, int], x: _F64, g: str, h: str,
                    out: str) -> Dict[str, Any]:
    """Run the net over x and keep every step's activations.  Returns a dict of (T, .) arrays."""
    T, I, K, B, S, C, nz = (dims[k] for k in ("T", "I", "K", "B", "S", "C", "nz"))
    g_fn = _lookup(_G, "g", g)[0]
    h_fn = _lookup(_H, "h", h)[0]
    out_fn = _lookup(_OUT, "out", out)[0]
    has_out, has_phi = W["W_out"] is not None, W["W_phi"] is not None
    full = dims["sources"] == "full"

    def peep(name, s_):                  # sum_{c in j} P[c] s_c, or 0 without that peephole
        return 0.0 if W[name] is None else (W[name] * s_).reshape(B, S).sum(axis=1)

    rec = {
        "z": np.zeros((T, nz)),          # hidden source vector z(t)
        "u": np.zeros((T, 1 + I + C)),   # output source vector u(t)
        "y_in": np.zeros((T, B)),
        "y_out": np.ones((T, B)),        # stays 1 without output gate
        "y_phi": np.ones((T, B)),        # stays 1 without forget gate
        "g_c": np.zeros((T, C)),         # g(net_c)
        "s_prev": np.zeros((T, C)),      # cell state before step t, s(t-1)
        "s": np.zeros((T, C)),           # cell state after step t
        "h_s": np.zeros((T, C)),         # h(s)
        "net_k": np.zeros((T, K)),
        "y_k": np.zeros((T, K)),
    }
    s = np.zeros(C)                      # s(t-1)
    y_c = np.zeros(C)                    # y_c(t-1)
    gates_prev = {name: np.zeros(B) for name in _GATES}   # y_in, y_out, y_phi at t-1
    for t in range(T):
        parts = [np.ones(1), x[t], y_c]
        if full:
            parts += [gates_prev[name] for name in _GATES if W[name] is not None]
        z = np.concatenate(parts)                                           # (nz,)
        y_in = _sigmoid(W["W_in"] @ z + peep("P_in", s))                    # (B,)
        y_phi = _sigmoid(W["W_phi"] @ z + peep("P_phi", s)) if has_phi else np.ones(B)  # (B,)
        g_c = g_fn(W["W_c"] @ z)                                            # (C,)
        s_prev = s                                                          # (C,)
        s = np.repeat(y_phi, S) * s_prev + np.repeat(y_in, S) * g_c        # (C,) CEC
        y_out = _sigmoid(W["W_out"] @ z + peep("P_out", s)) if has_out else np.ones(B)  # (B,)
        h_s = h_fn(s)                                                       # (C,)
        y_c = np.repeat(y_out, S) * h_s                                     # (C,)
        u = np.concatenate([np.ones(1), x[t], y_c])                         # (1+I+C,)
        net_k = W["W_k"] @ u                                                # (K,)
        y_k = out_fn(net_k)                                                 # (K,)
        gates_prev = {"W_in": y_in, "W_out": y_out, "W_phi": y_phi}

        rec["z"][t], rec["u"][t] = z, u
        rec["y_in"][t], rec["y_out"][t], rec["y_phi"][t] = y_in, y_out, y_phi
        rec["g_c"][t], rec["s_prev"][t], rec["s"][t], rec["h_s"][t] = g_c, s_prev, s, h_s
        rec["net_k"][t], rec["y_k"][t] = net_k, y_k
    return rec


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

def forward(params: Params, x: ArrayLike, *, S: int = 1, g: str = "g2", h: str = "h1",
            out: str = "logistic") -> _F64:
    """Network outputs over one sequence (all state starts at 0).

    Parameters
    ----------
    params : dict
        ``"W_in"`` (B, nz), optional ``"W_out"`` (B, nz) (absent or None: no output gate),
        optional ``"W_phi"`` (B, nz) (forget gates), ``"W_c"`` (C, nz) with C = B*S,
        ``"W_k"`` (K, 1+I+C), optional peepholes ``"P_in"``, ``"P_phi"``, ``"P_out"``
        (C,).  nz = 1 + I + C + B per gate kind (sources "full") or 1 + I + C
        (sources "cells"); the width of W_in says which.
    x : array_like, shape (T, I)
    S : int
        Cells per block.
    g, h, out : str
        Activation names of ``docs/model.md`` (g: "g2", "g1", "tanh"; h: "h1", "id",
        "tanh"; out: "logistic", "linear", "softmax").

    Returns
    -------
    outputs : ndarray, shape (T, K), float64
    """
    W, dims, x = _unpack(params, x, S)
    y_k: _F64 = _forward_record(W, dims, x, g, h, out)["y_k"]
    return y_k


def loss_and_grad(params: Params, x: ArrayLike, y: ArrayLike, mask: Optional[ArrayLike] = None,
                  *, S: int = 1, g: str = "g2", h: str = "h1", out: str = "logistic",
                  truncated: bool = True
                  ) -> Tuple[float, Dict[str, Optional[_F64]], _F64]:
    """Loss of one sequence and its gradient by back-propagation through time.

    Parameters
    ----------
    params : dict
        As in :func:`forward` (without ``"W_out"``: y_out = 1; without ``"W_phi"``:
        y_phi = 1).
    x : array_like, shape (T, I)
    y : array_like, shape (T, K)
        Targets; rows of steps without a target are ignored (may hold NaN).
    mask : array_like of bool, shape (T,), optional
        Steps that carry a target; None means every step.
    S, g, h, out
        As in :func:`forward`.
    truncated : bool
        True: the recurrent entries y_c(t-1), y_in(t-1), y_out(t-1), y_phi(t-1) of z(t)
        and the peephole inputs are constants (stop-gradient) and error flows back in time
        only through s (the 1997 rule, ``docs/model.md``).  False: the exact gradient.

    Returns
    -------
    L : float
        1/2 sum over target steps t and units k of (y[t, k] - y_k(t))^2; with
        ``out="softmax"`` the cross-entropy sum over target steps of
        log sum_k e^{net_k} - sum_k y[t, k] net_k (= -sum_k y[t, k] log y_k(t) when the
        target row sums to 1).
    grads : dict
        dL/dW with the same keys and shapes as ``params`` (None where params holds None).
    outputs : ndarray, shape (T, K)
    """
    W, dims, x = _unpack(params, x, S)
    y, mask = _targets(y, mask, dims)
    T, I, K, B, S, C, nz = (dims[k] for k in ("T", "I", "K", "B", "S", "C", "nz"))
    dg = _lookup(_G, "g", g)[1]
    dh = _lookup(_H, "h", h)[1]
    dout = _lookup(_OUT, "out", out)[1]
    has_out, has_phi = W["W_out"] is not None, W["W_phi"] is not None
    P = {name: W[name] for name in ("P_in", "P_phi", "P_out")}          # None if absent

    rec = _forward_record(W, dims, x, g, h, out)
    y_k, net_k = rec["y_k"], rec["net_k"]                               # (T, K)
    if out == "softmax":
        # L = log sum_k e^net_k - y . net_k per target step; dL/dnet_k = y_k - y
        shift = np.max(net_k, axis=1, keepdims=True)                    # (T, 1)
        lse = shift[:, 0] + np.log(np.exp(net_k - shift).sum(axis=1))   # (T,)
        per_step = lse - np.sum(np.where(mask[:, None], y, 0.0) * net_k, axis=1)   # (T,)
        L = float(np.sum(np.where(mask, per_step, 0.0)))
        e_net = np.where(mask[:, None], y_k - y, 0.0)                   # (T, K) dL/dnet_k
    else:
        err = np.where(mask[:, None], y_k - y, 0.0)                     # (T, K) dL/dy_k
        L = 0.5 * float(np.sum(err * err))
        e_net = err * dout(y_k)                                         # (T, K) dL/dnet_k

    # slots of z: y_c(t-1) at [r0, r0+C); with sources "full" the gates' y(t-1) follow
    r0 = 1 + I
    slot, r = {}, r0 + C
    if dims["sources"] == "full":
        for name in _GATES:
            if W[name] is not None:
                slot[name] = slice(r, r + B)
                r += B

    def from_next(dz, name):            # dL/d(gate's y(t)) through z(t+1), or 0
        return dz[slot[name]] if name in slot else 0.0

    def blocks(v):                       # (C,) -> (B,) sum over the cells of each block
        return v.reshape(B, S).sum(axis=1)

    dW = {name: np.zeros_like(W[name]) for name in _PARAM_NAMES if W[name] is not None}
    ds_next = np.zeros(C)           # dL/ds(t) arriving from step t+1 (through s(t+1), peepholes)
    dz_next = np.zeros(nz)          # dL/dz(t+1); stays 0 under truncation
    for t in reversed(range(T)):
        z, u = rec["z"][t], rec["u"][t]
        y_in, y_out, y_phi = rec["y_in"][t], rec["y_out"][t], rec["y_phi"][t]   # (B,)
        g_c, s, h_s = rec["g_c"][t], rec["s"][t], rec["h_s"][t]         # (C,)
        s_prev = rec["s_prev"][t]                                       # (C,)

        # output units
        e_k = e_net[t]                                                  # (K,) dL/dnet_k
        dW["W_k"] += np.outer(e_k, u)
        # cell outputs: read by the outputs now and (full gradient only) by z(t+1)
        dy_c = W["W_k"][:, 1 + I:].T @ e_k + dz_next[r0:r0 + C]         # (C,)
        # output gate: one per block, scales h(s) of each of its S cells
        if has_out:
            dy_out = blocks(dy_c * h_s) + from_next(dz_next, "W_out")   # (B,)
            dnet_out = dy_out * _dsigmoid(y_out)                        # (B,)
        # cell states: through y_c(t), along the CEC from s(t+1) and (full gradient only)
        # through the output-gate peephole
        ds = dy_c * np.repeat(y_out, S) * dh(h_s) + ds_next            # (C,)
        if not truncated and P["P_out"] is not None:
            ds = ds + P["P_out"] * np.repeat(dnet_out, S)               # (C,)
        # cell input
        dnet_c = ds * np.repeat(y_in, S) * dg(g_c)                      # (C,)
        dW["W_c"] += np.outer(dnet_c, z)
        # input gate: one per block, scales g_c of each of its S cells
        dy_in = blocks(ds * g_c) + from_next(dz_next, "W_in")           # (B,)
        dnet_in = dy_in * _dsigmoid(y_in)                               # (B,)
        dW["W_in"] += np.outer(dnet_in, z)
        dz = W["W_c"].T @ dnet_c + W["W_in"].T @ dnet_in                # (nz,) dL/dz(t)
        if has_out:
            dW["W_out"] += np.outer(dnet_out, z)
            dz = dz + W["W_out"].T @ dnet_out
        # forget gate: one per block, scales s(t-1) of each of its S cells
        if has_phi:
            dy_phi = blocks(ds * s_prev) + from_next(dz_next, "W_phi")  # (B,)
            dnet_phi = dy_phi * _dsigmoid(y_phi)                        # (B,)
            dW["W_phi"] += np.outer(dnet_phi, z)
            dz = dz + W["W_phi"].T @ dnet_phi
        # peephole weights: sources s(t-1) for the input and forget gates, s(t) for output
        if P["P_in"] is not None:
            dW["P_in"] += np.repeat(dnet_in, S) * s_prev
        if P["P_phi"] is not None:
            dW["P_phi"] += np.repeat(dnet_phi, S) * s_prev
        if P["P_out"] is not None:
            dW["P_out"] += np.repeat(dnet_out, S) * s

        # to step t-1: along the CEC (factor y_phi(t)) and, for the full gradient, through
        # the input and forget gates' peepholes and the recurrent entries of z(t)
        ds_next = ds * np.repeat(y_phi, S)                              # (C,)
        if not truncated:
            if P["P_in"] is not None:
                ds_next = ds_next + P["P_in"] * np.repeat(dnet_in, S)
            if P["P_phi"] is not None:
                ds_next = ds_next + P["P_phi"] * np.repeat(dnet_phi, S)
            dz_next = dz        # only the recurrent part [r0:] is ever read

    grads = {name: (dW[name] if W[name] is not None else None) for name in params}
    return L, grads, y_k


def sgd_bptt_sequence(params: Dict[str, Any], x: ArrayLike, y: ArrayLike,
                      mask: Optional[ArrayLike], lr: float,
                      masks: Optional[Mapping[str, Optional[ArrayLike]]] = None, *, S: int = 1,
                      g: str = "g2", h: str = "h1", out: str = "logistic",
                      truncated: bool = False) -> _F64:
    """One gradient-descent step on one sequence: params[name] -= lr * dL/dW * masks[name].

    The full-gradient training ablation (one update per sequence, at its end; all gradients
    are taken at the weights of the forward pass).  Updates ``params`` in place.

    Parameters
    ----------
    params : dict of float ndarrays
        As in :func:`loss_and_grad`; modified in place.
    x, y, mask
        As in :func:`loss_and_grad`.
    lr : float
        Learning rate.
    masks : dict of 0/1 arrays, optional
        Same shapes as the parameters; None, or a name absent from the dict, means all ones.
    S, g, h, out, truncated
        As in :func:`loss_and_grad` (default here: the exact gradient).

    Returns
    -------
    outputs : ndarray, shape (T, K)
        Outputs of the forward pass (before the update).
    """
    if masks is not None:
        if not isinstance(masks, dict):
            raise ValueError(f"masks: expected a dict of arrays or None, got {type(masks).__name__}")
        for name, m in masks.items():
            if name not in params or params[name] is None:
                if m is None:
                    continue
                raise ValueError(f"masks: key {name!r} has no matching parameter")
            _check_shape(f"masks[{name!r}]", np.asarray(m), np.shape(params[name]))
    for name, p in params.items():
        if p is not None and not isinstance(p, np.ndarray):
            raise ValueError(f"params[{name!r}]: must be a numpy array to be updated in place, "
                             f"got {type(p).__name__}")
    _, grads, outputs = loss_and_grad(params, x, y, mask, S=S, g=g, h=h, out=out,
                                      truncated=truncated)
    for name, dW in grads.items():
        if dW is None:
            continue
        step = lr * dW
        if masks is not None and masks.get(name) is not None:
            step = step * np.asarray(masks[name])
        params[name] -= step
    return outputs
