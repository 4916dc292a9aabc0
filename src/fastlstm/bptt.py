"""Reverse-mode (back-propagation through time) gradient of the 1997 LSTM, in plain numpy.

An independent check of the forward-in-time truncated learning rule of
``docs/model.md`` (its identities 1 and 2) and the "full-gradient" ablation.
Written from the model description alone: it shares no code with the oracle or the C kernel.

Model (``docs/model.md``; no forget gate, no peepholes, no conventional hidden units)::

    z(t)    = [1, x(t), y_c(t-1), y_in(t-1), y_out(t-1)]   (y_out part only with output gate)
    y_in    = f(W_in z)                                     (B)
    y_out   = f(W_out z)   or 1 without output gate         (B)
    s(t)    = s(t-1) + y_in_j g(W_c z)                      (C)   cell c in block j = c // S
    y_c     = y_out_j h(s(t))                               (C)
    u(t)    = [1, x(t), y_c(t)]
    y_k     = f_out(W_k u)                                  (K)

    L = 1/2 sum_{t with target} sum_k (y[t, k] - y_k(t))^2

Gradients are computed by storing the forward pass for all T steps and running one loop
backwards in time.  ``truncated=True`` treats every recurrent entry of z(t) as a constant
(stop-gradient), so error flows back in time only along the constant error carousel
(ds(t)/ds(t-1) = 1); ``truncated=False`` is the exact gradient of L.

Public functions: :func:`forward`, :func:`loss_and_grad`, :func:`sgd_bptt_sequence`.
"""

from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["forward", "loss_and_grad", "sgd_bptt_sequence"]

_PARAM_NAMES = ("W_in", "W_out", "W_c", "W_k")

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

_OUT = {
    "logistic": (_sigmoid, _dsigmoid),
    "linear": (lambda x: x, lambda y: np.ones_like(y)),
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
    W : dict of float64 arrays (W_out is None without output gate)
    dims : dict with T, I, K, B, S, C, nz
    x : (T, I) float64
    """
    if not isinstance(params, dict):
        raise ValueError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for name in params:
        if name not in _PARAM_NAMES:
            raise ValueError(f"params: unsupported key {name!r}; this module implements only "
                             f"{_PARAM_NAMES} (no forget gate, no peepholes)")
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
        if W[name] is not None and W[name].ndim != 2:
            raise ValueError(f"{name}: expected a 2-D array, got shape {W[name].shape}")
    has_out = W["W_out"] is not None
    B = W["W_in"].shape[0]
    C = B * S
    K = W["W_k"].shape[0]
    nz = 1 + I + C + B + (B if has_out else 0)
    if W["W_c"].shape[0] != C:
        raise ValueError(f"W_c: shape {W['W_c'].shape} has {W['W_c'].shape[0]} rows, expected "
                         f"C = B*S = {B}*{S} = {C} (B from W_in shape {W['W_in'].shape}, S={S})")
    why = (f" (nz = 1+I+C+B{'+B' if has_out else ''} with I = {I} from x shape {x.shape}, "
           f"B = {B}, C = {C})")
    _check_shape("W_in", W["W_in"], (B, nz), why)
    if has_out:
        _check_shape("W_out", W["W_out"], (B, nz), why)
    _check_shape("W_c", W["W_c"], (C, nz), why)
    _check_shape("W_k", W["W_k"], (K, 1 + I + C), f" (1+I+C with I = {I} from x shape {x.shape})")
    dims = dict(T=T, I=I, K=K, B=B, S=S, C=C, nz=nz)
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
    has_out = W["W_out"] is not None

    rec = {
        "z": np.zeros((T, nz)),          # hidden source vector z(t)
        "u": np.zeros((T, 1 + I + C)),   # output source vector u(t)
        "y_in": np.zeros((T, B)),
        "y_out": np.ones((T, B)),        # stays 1 without output gate
        "g_c": np.zeros((T, C)),         # g(net_c)
        "s": np.zeros((T, C)),           # cell state after step t
        "h_s": np.zeros((T, C)),         # h(s)
        "y_k": np.zeros((T, K)),
    }
    s = np.zeros(C)                      # s(t-1)
    y_c = np.zeros(C)                    # y_c(t-1)
    y_in = np.zeros(B)                   # y_in(t-1)
    y_out = np.zeros(B)                  # y_out(t-1); only read with output gate
    for t in range(T):
        parts = [np.ones(1), x[t], y_c, y_in] + ([y_out] if has_out else [])
        z = np.concatenate(parts)                                   # (nz,)
        y_in = _sigmoid(W["W_in"] @ z)                              # (B,)
        y_out = _sigmoid(W["W_out"] @ z) if has_out else np.ones(B)  # (B,)
        g_c = g_fn(W["W_c"] @ z)                                    # (C,)
        s = s + np.repeat(y_in, S) * g_c                            # (C,) CEC, self-weight 1
        h_s = h_fn(s)                                               # (C,)
        y_c = np.repeat(y_out, S) * h_s                             # (C,)
        u = np.concatenate([np.ones(1), x[t], y_c])                 # (1+I+C,)
        y_k = out_fn(W["W_k"] @ u)                                  # (K,)

        rec["z"][t], rec["u"][t] = z, u
        rec["y_in"][t], rec["y_out"][t] = y_in, y_out
        rec["g_c"][t], rec["s"][t], rec["h_s"][t] = g_c, s, h_s
        rec["y_k"][t] = y_k
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
        ``"W_c"`` (C, nz) with C = B*S, ``"W_k"`` (K, 1+I+C).
    x : array_like, shape (T, I)
    S : int
        Cells per block.
    g, h, out : str
        Activation names of ``docs/model.md`` (g: "g2", "g1", "tanh"; h: "h1", "id", "tanh";
        out: "logistic", "linear").

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
    """Squared-error loss of one sequence and its gradient by back-propagation through time.

    Parameters
    ----------
    params : dict
        ``"W_in"`` (B, nz), optional ``"W_out"`` (B, nz) (absent or None: no output gate,
        y_out = 1), ``"W_c"`` (C, nz) with C = B*S, ``"W_k"`` (K, 1+I+C);
        nz = 1 + I + C + B (+ B with output gate).
    x : array_like, shape (T, I)
    y : array_like, shape (T, K)
        Targets; rows of steps without a target are ignored (may hold NaN).
    mask : array_like of bool, shape (T,), optional
        Steps that carry a target; None means every step.
    S, g, h, out
        As in :func:`forward`.
    truncated : bool
        True: the recurrent entries y_c(t-1), y_in(t-1), y_out(t-1) of z(t) are constants
        (stop-gradient) and error flows back in time only through s (the 1997 rule,
        ``docs/model.md``).  False: the exact gradient.

    Returns
    -------
    L : float
        1/2 sum over target steps t and units k of (y[t, k] - y_k(t))^2.
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
    has_out = W["W_out"] is not None

    rec = _forward_record(W, dims, x, g, h, out)
    y_k = rec["y_k"]                                                    # (T, K)
    err = np.where(mask[:, None], y_k - y, 0.0)                         # (T, K) dL/dy_k
    L = 0.5 * float(np.sum(err * err))

    dW = {name: np.zeros_like(W[name]) for name in _PARAM_NAMES if W[name] is not None}
    r0 = 1 + I                      # first recurrent column of z: y_c(t-1) at [r0, r0+C)
    ds_next = np.zeros(C)           # dL/ds(t) arriving through s(t+1) = s(t) + ...
    dz_next = np.zeros(nz)          # dL/dz(t+1); stays 0 under truncation
    for t in reversed(range(T)):
        z, u = rec["z"][t], rec["u"][t]
        y_in, y_out = rec["y_in"][t], rec["y_out"][t]                   # (B,)
        g_c, s, h_s = rec["g_c"][t], rec["s"][t], rec["h_s"][t]         # (C,)

        # output units
        e_k = err[t] * dout(y_k[t])                                     # (K,) dL/dnet_k
        dW["W_k"] += np.outer(e_k, u)
        # cell outputs: read by the outputs now and (full gradient only) by z(t+1)
        dy_c = W["W_k"][:, 1 + I:].T @ e_k + dz_next[r0:r0 + C]         # (C,)
        # cell states: through y_c(t) and along the CEC from s(t+1)
        ds = dy_c * np.repeat(y_out, S) * dh(h_s) + ds_next            # (C,)
        # cell input
        dnet_c = ds * np.repeat(y_in, S) * dg(g_c)                      # (C,)
        dW["W_c"] += np.outer(dnet_c, z)
        # input gate: one per block, scales g_c of each of its S cells
        dy_in = (ds * g_c).reshape(B, S).sum(axis=1) + dz_next[r0 + C:r0 + C + B]   # (B,)
        dnet_in = dy_in * _dsigmoid(y_in)                               # (B,)
        dW["W_in"] += np.outer(dnet_in, z)
        dz = W["W_c"].T @ dnet_c + W["W_in"].T @ dnet_in                # (nz,) dL/dz(t)
        # output gate: one per block, scales h(s) of each of its S cells
        if has_out:
            dy_out = (dy_c * h_s).reshape(B, S).sum(axis=1) + dz_next[r0 + C + B:]  # (B,)
            dnet_out = dy_out * _dsigmoid(y_out)                        # (B,)
            dW["W_out"] += np.outer(dnet_out, z)
            dz = dz + W["W_out"].T @ dnet_out

        ds_next = ds
        if not truncated:
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
