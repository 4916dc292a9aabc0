"""The numpy oracle: the 1997 LSTM and its truncated gradient, written for clarity.

It mirrors ``csrc/lstm97_impl.h`` function for function (``step``, ``forward``,
``train``, ``apply``) and has the same API as :class:`fastlstm.LSTM`, much more slowly.
Equation numbers are Hochreiter & Schmidhuber (1997); the math is ``docs/model.md``.
It imports numpy only, never the compiled core.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np
from numpy.typing import NDArray

from ._base import MODE_ACCUMULATE, MODE_FORWARD, MODE_LEARN, NetBase, PathLike

#: a float64 or float32 array
Array = NDArray[Any]
#: an elementwise function of arrays
Squash = Callable[[Array], Array]

__all__ = ["LSTM", "load", "sig", "G", "G_PRIME", "H", "H_PRIME"]


# --------------------------------------------------------------------------- activations


def sig(x: Array) -> Array:
    """Logistic 1 / (1 + e^-x), overflow-free: ``e^-|x|`` never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# cell input squash g and g' written in terms of g's value
SQUASH: Dict[str, Squash]
SQUASH = {"g2": lambda x: 4 * sig(x) - 2,           # range [-2, 2]
          "g1": sig,
          "tanh": np.tanh,
          "h1": lambda x: 2 * sig(x) - 1,           # range [-1, 1]
          "id": lambda x: x}
SQUASH_PRIME: Dict[str, Squash]
SQUASH_PRIME = {"g2": lambda v: (4 - v * v) * 0.25,
                "g1": lambda v: v * (1 - v),
                "tanh": lambda v: 1 - v * v,
                "h1": lambda v: (1 - v * v) * 0.5,
                "id": lambda v: np.ones_like(v)}
# cell input squash g and cell output squash h, derivatives in terms of the value; each
# may be any of the five (the paper: g2 or g1 for g, h1 or id for h)
G = H = SQUASH
G_PRIME = H_PRIME = SQUASH_PRIME
OUT: Dict[str, Squash]
OUT = {"logistic": sig, "linear": lambda x: x}
OUT_PRIME: Dict[str, Squash]
OUT_PRIME = {"logistic": lambda y: y * (1 - y), "linear": lambda y: np.ones_like(y)}


# --------------------------------------------------------------------------- the kernel


def softmax(a: Array) -> Array:
    """exp(a_k) / sum_j exp(a_j), computed from a - max(a) (never overflows)."""
    e = np.exp(a - np.max(a))
    return e / e.sum()


OUT["softmax"] = softmax


def new_state(net: NetBase) -> Dict[str, Array]:
    """All activations, states and traces 0 (a sequence start).

    ``z`` holds z(t+1) minus its x part: [1, ., y_c, y_in, y_out, y_phi] (sources "full",
    absent gates left out) or [1, ., y_c] (sources "cells").
    """
    C, S, nz, dt = net.C, net.S, net.nz, net.dtype
    state = {"z": np.zeros(nz, dt),                 # (nz)
             "s": np.zeros(C, dt),                  # (C)      cell states s_c
             "dS_c": np.zeros((C, nz), dt),         # (C, nz)  ds_c / dW_c[c, :]          eq. 27
             "dS_in": np.zeros((C, nz), dt)}        # (C, nz)  ds_c / dW_in[block(c), :]  eq. 25
    if "W_phi" in net.params:
        state["dS_phi"] = np.zeros((C, nz), dt)     # (C, nz)  ds_c / dW_phi[block(c), :]
    if "P_in" in net.params:
        state["dS_in_P"] = np.zeros((C, S), dt)     # (C, S)   ds_c / dP_in[c'], c' in block(c)
    if "P_phi" in net.params:
        state["dS_phi_P"] = np.zeros((C, S), dt)    # (C, S)   ds_c / dP_phi[c'], c' in block(c)
    return state


def _peep(P: Array, s: Array, B: int, S: int) -> Array:
    """sum over the cells c of block j of P[c] s[c]: a peephole input per block (B)."""
    return (P * s).reshape(B, S).sum(axis=1)


def step(net: NetBase, state: Dict[str, Array], x_t: Array, t_t: Optional[Array],
         alpha: Any, mode: int, dW: Optional[Array]) -> Array:
    """One time step: forward pass, traces, and (with a target) the update.

    ``mode``: MODE_FORWARD (no traces), MODE_LEARN (update ``net.params`` now) or
    MODE_ACCUMULATE (add the update to the flat ``dW``).  Returns y_k(t), shape (K,).
    Without a forget gate y_phi is 1 and every product with it is exact, so the 1997
    cell is computed as it always was.
    """
    cfg = net.config
    I, B, S, C = net.I, net.B, net.S, net.C
    W = net.params
    f, g, h = sig, G[cfg["g"]], H[cfg["h"]]
    blk = np.arange(C) // S                                       # (C) block of cell c
    one = np.ones(B, net.dtype)                                   # (B)

    z = state["z"].copy()                                         # (nz)
    z[0] = 1
    z[1:1 + I] = x_t                                              # z(t)
    s_prev = state["s"]                                           # (C)  s_c(t-1)

    net_in = W["W_in"] @ z                                        # (B)
    if "P_in" in W:
        net_in = net_in + _peep(W["P_in"], s_prev, B, S)          # (B)  peephole, s(t-1)
    y_in = f(net_in)                                              # (B)
    if "W_phi" in W:
        net_phi = W["W_phi"] @ z                                  # (B)
        if "P_phi" in W:
            net_phi = net_phi + _peep(W["P_phi"], s_prev, B, S)   # (B)  peephole, s(t-1)
        y_phi = f(net_phi)                                        # (B)
    else:
        y_phi = one                                               # (B)  the 1997 CEC: 1.0
    g_c = g(W["W_c"] @ z)                                         # (C)
    s = y_phi[blk] * s_prev + y_in[blk] * g_c                     # (C)  CEC
    if "W_out" in W:
        net_out = W["W_out"] @ z                                  # (B)
        if "P_out" in W:
            net_out = net_out + _peep(W["P_out"], s, B, S)        # (B)  peephole, s(t)
        y_out = f(net_out)                                        # (B)
    else:
        y_out = one                                               # (B)
    h_s = h(s)                                                    # (C)
    y_c = y_out[blk] * h_s                                        # (C)
    u = np.concatenate([[1], x_t, y_c]).astype(net.dtype)         # (1+I+C)
    y_k = OUT[cfg["out"]](W["W_k"] @ u)                           # (K)

    finite = np.isfinite(y_k).all() and np.isfinite(s).all()
    if mode != MODE_FORWARD:
        # traces with z(t), eqs. 27 and 25, each decayed by y_phi (1 in the 1997 cell)
        decay = y_phi[blk][:, None]                               # (C, 1)
        a = G_PRIME[cfg["g"]](g_c) * y_in[blk]                    # (C)
        b = g_c * y_in[blk] * (1 - y_in[blk])                     # (C)
        state["dS_c"] = decay * state["dS_c"] + np.outer(a, z)    # (C, nz)
        state["dS_in"] = decay * state["dS_in"] + np.outer(b, z)  # (C, nz)
        s_src = s_prev.reshape(B, S)[blk]                         # (C, S)  s_c'(t-1), c' in j
        if "W_phi" in W:
            p = s_prev * y_phi[blk] * (1 - y_phi[blk])            # (C)
            state["dS_phi"] = decay * state["dS_phi"] + np.outer(p, z)        # (C, nz)
            if "P_phi" in W:
                state["dS_phi_P"] = decay * state["dS_phi_P"] + p[:, None] * s_src  # (C, S)
        if "P_in" in W:
            state["dS_in_P"] = decay * state["dS_in_P"] + b[:, None] * s_src        # (C, S)
        if t_t is not None:
            dWs = _deltas(net, state, z, u, s, y_in, y_out, h_s, y_k, t_t, alpha)
            if mode == MODE_LEARN:
                for name, d in dWs.items():
                    W[name] += d
                finite = finite and np.isfinite(net._theta).all()
            else:
                for name, d in dWs.items():
                    net._view(dW, name)[...] += d
    state["z"] = z
    state["s"] = s
    state["z"][1 + I:1 + I + C] = y_c                             # y_c(t)
    if cfg["sources"] == "full":
        r = 1 + I + C
        for name, y_gate in (("W_in", y_in), ("W_out", y_out), ("W_phi", y_phi)):
            if name in W:
                state["z"][r:r + B] = y_gate                      # y_in(t), y_out(t), y_phi(t)
                r += B
    if not finite:
        raise FloatingPointError("an output, cell state or weight became NaN or infinite")
    return y_k


def _deltas(net: NetBase, state: Dict[str, Array], z: Array, u: Array, s: Array,
            y_in: Array, y_out: Array, h_s: Array, y_k: Array, t_t: Array,
            alpha: Any) -> Dict[str, Array]:
    """The weight changes of one step with a target, eqs. 19-28 and the family's
    (masked)."""
    cfg, I, B, S = net.config, net.I, net.B, net.S
    W, M = net.params, net.masks
    blk = np.arange(net.C) // S
    if cfg["out"] == "softmax":
        e_k = t_t - y_k                                           # (K)  cross-entropy
    else:
        e_k = OUT_PRIME[cfg["out"]](y_k) * (t_t - y_k)            # (K)  eq. 19
    back_c = W["W_k"][:, 1 + I:].T @ e_k                          # (C)
    e_s = y_out[blk] * H_PRIME[cfg["h"]](h_s) * back_c            # (C)  eq. 23
    dW = {"W_k": alpha * np.outer(e_k, u) * M["W_k"]}             # (K, 1+I+C)  eq. 22
    if "W_out" in W:
        e_out = y_out * (1 - y_out) * (h_s * back_c).reshape(B, S).sum(axis=1)  # (B) eq. 21
        dW["W_out"] = alpha * np.outer(e_out, z) * M["W_out"]     # (B, nz)  eq. 22
        if "P_out" in W:
            dW["P_out"] = alpha * e_out[blk] * s * M["P_out"]     # (C)  source s_c(t)
    dW["W_c"] = alpha * e_s[:, None] * state["dS_c"] * M["W_c"]   # (C, nz)  eq. 28
    per_cell = e_s[:, None] * state["dS_in"]                      # (C, nz)
    dW["W_in"] = alpha * per_cell.reshape(B, S, -1).sum(axis=1) * M["W_in"]  # (B, nz) eq. 26
    if "W_phi" in W:
        per_cell = e_s[:, None] * state["dS_phi"]                 # (C, nz)
        dW["W_phi"] = alpha * per_cell.reshape(B, S, -1).sum(axis=1) * M["W_phi"]  # (B, nz)
    for P, trace in (("P_in", "dS_in_P"), ("P_phi", "dS_phi_P")):
        if P in W:
            per_cell = e_s[:, None] * state[trace]                # (C, S)
            dW[P] = alpha * per_cell.reshape(B, S, S).sum(axis=1).reshape(-1) * M[P]  # (C)
    return dW


def forward(net: NetBase, x: Array) -> Array:
    """Outputs (T, K) over a sequence; state reset at its start."""
    state = new_state(net)
    return np.array([step(net, state, x_t, None, 0.0, MODE_FORWARD, None) for x_t in x])


def train(net: NetBase, x: Array, y: Array, tmask: Optional[Array], alpha: Any,
          schedule: str) -> Array:
    """On-line training over one sequence; returns the outputs (T, K)."""
    state = new_state(net)
    mode = MODE_LEARN if schedule == "step" else MODE_ACCUMULATE
    dW = np.zeros_like(net._theta)
    out = np.empty((len(x), net.K), net.dtype)
    for t in range(len(x)):
        has_target = tmask is None or tmask[t]
        out[t] = step(net, state, x[t], y[t] if has_target else None, alpha, mode, dW)
    if mode == MODE_ACCUMULATE:
        apply(net, dW)
    elif not np.isfinite(net._theta).all():
        raise FloatingPointError("a weight became NaN or infinite")
    return out


def train_batch(net: NetBase, x: Array, y: Array, tmask: Optional[Array], alpha: Any,
                schedule: str) -> Array:
    """N sequences in lockstep, each with its own state; the mean update (1/N) sum_n dW_n
    after every step ("step") or at the end ("sequence").  Returns outputs (N, T, K)."""
    N, T = x.shape[:2]
    tmask = np.ones((N, T), bool) if tmask is None else tmask.reshape(N, T).astype(bool)
    states = [new_state(net) for _ in range(N)]
    dWs = np.zeros((N, net._theta.size), net.dtype)                  # (N, n_params)
    out = np.empty((N, T, net.K), net.dtype)
    for t in range(T):
        for n in range(N):
            out[n, t] = step(net, states[n], x[n, t], y[n, t] if tmask[n, t] else None,
                             alpha, MODE_ACCUMULATE, dWs[n])
        if schedule == "step" and tmask[:, t].any():
            apply(net, dWs.sum(axis=0) / N)
            dWs[...] = 0
    if schedule == "sequence":
        apply(net, dWs.sum(axis=0) / N)
    return out


def apply(net: NetBase, dW: Array) -> None:
    """params += dW, then dW = 0."""
    net._theta += dW
    dW[...] = 0
    if not np.isfinite(net._theta).all():
        raise FloatingPointError("a weight became NaN or infinite")


# --------------------------------------------------------------------------- the net


class LSTM(NetBase):
    """Same constructor and methods as :class:`fastlstm.LSTM`, in pure numpy, and the
    whole LSTM family (the compiled net may not have every option yet).

    Options beyond the 1997 cell (keyword-only; the defaults give the 1997 cell):

    forget_gate : bool, default False
        One forget gate per block (Gers, Schmidhuber & Cummins 2000), weights ``W_phi``
        (B, nz): s_c(t) = y_phi_j(t) s_c(t-1) + y_in_j(t) g(net_c(t)).
    forget_gate_bias : float or sequence of B floats, optional
        Initial forget-gate biases (None: random like the other weights).
    peepholes : bool, default False
        Peephole weights from each cell's state to the gates of its block (Gers,
        Schraudolph & Schmidhuber 2002): ``P_in``, ``P_phi``, ``P_out``, shape (C,);
        the input and forget gates see s(t-1), the output gate s(t).
    sources : {"full", "cells"}, default "full"
        What gates and cell inputs read: "full" z(t) = [1, x(t), y_c(t-1), y_in(t-1),
        y_out(t-1), y_phi(t-1)] (the 1997 topology), "cells" z(t) = [1, x(t), y_c(t-1)]
        (the modern LSTM).
    out : {"logistic", "linear", "softmax"}
        "softmax" (n_out >= 2): a softmax output layer trained on the cross-entropy,
        output error e_k = t_k - y_k.
    """

    backend: str = "oracle"
    _family_options: tuple = ("forget_gate", "peepholes", "sources", "softmax")

    def _new_state(self):
        return new_state(self)

    def _state_to_backend(self, flat):
        # the flat state's order (the layout's state_len): z, s, dS_c, dS_in, then the
        # family's traces dS_phi, dS_in_P, dS_phi_P where the net has them
        flat = np.asarray(flat, self.dtype)
        state, pos = {}, 0
        for key, arr in new_state(self).items():
            state[key] = flat[pos:pos + arr.size].reshape(arr.shape).copy()
            pos += arr.size
        return state

    def _state_from_backend(self, bstate):
        return np.concatenate([np.ravel(bstate[key]) for key in new_state(self)]).astype(
            self.dtype, copy=False)

    def _forward_kernel(self, x):
        with np.errstate(over="ignore", invalid="ignore"):
            y = forward(self, x)
        if not np.isfinite(y).all():
            raise FloatingPointError("forward: an output became NaN or infinite")
        return y

    def _train_kernel(self, x, y, tmask, lr, schedule):
        a = self.dtype.type(lr)
        with np.errstate(over="ignore", invalid="ignore"):
            return train(self, x, y, tmask, a, schedule)

    def _gradient_kernel(self, x, y, tmask, truncated):
        from . import bptt           # the independent reverse-mode implementation
        c = self.config
        mask = None if tmask is None else tmask.astype(bool)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads, out = bptt.loss_and_grad(
                self.params, x, y, mask, S=self.S, g=c["g"], h=c["h"], out=c["out"],
                truncated=truncated)
        if not (np.isfinite(out).all() and np.isfinite(loss)):
            raise FloatingPointError("gradient: an output became NaN or infinite")
        flat = np.zeros_like(self._theta)
        for name, gW in grads.items():
            if gW is not None:
                self._view(flat, name)[...] = gW
        flat *= self._mask
        if not np.isfinite(flat).all():
            raise FloatingPointError("gradient: a gradient entry became NaN or infinite")
        return loss, flat, out.astype(self.dtype, copy=False)

    def _step_kernel(self, state, x_t, t_t, lr, mode, dW):
        with np.errstate(over="ignore", invalid="ignore"):
            return step(self, state, x_t, t_t, self.dtype.type(lr), mode, dW)

    def _apply_kernel(self, dW):
        with np.errstate(over="ignore", invalid="ignore"):
            apply(self, dW)

    def _train_batch_kernel(self, x, y, tmask, lr, schedule, n_threads):
        with np.errstate(over="ignore", invalid="ignore"):
            return train_batch(self, x, y, tmask, self.dtype.type(lr), schedule)


def load(path: PathLike) -> LSTM:
    """Read an oracle :class:`LSTM` from a file written by ``save``."""
    return LSTM.load(path)
