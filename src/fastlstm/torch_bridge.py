"""Nets to and from PyTorch.

* :func:`from_torch` and :func:`to_torch`: a one-layer ``torch.nn.LSTM`` (with an optional
  ``torch.nn.Linear`` head) is fastlstm's forget-gate cell with one cell per block,
  "cells" sources, tanh squashing and linear output units.
* :func:`to_torch_module` and :func:`load_torch_module`: any fastlstm net (every option)
  as a small ``torch.nn.Module`` computing the same forward pass, with the net's
  parameters as ``torch.nn.Parameter``; autograd through it gives the net's exact (or
  truncated) gradient, and trained parameters go back into a net.

torch is imported here only, when a function is called; ``import fastlstm`` never needs it.

Mapping (PyTorch's gate rows i, f, g, o): rows ``0:H`` <-> W_in, ``H:2H`` <-> W_phi,
``2H:3H`` <-> W_c, ``3H:4H`` <-> W_out; column 0 <-> ``bias_ih + bias_hh``, columns
``1:1+I`` <-> ``weight_ih``, columns ``1+I:1+I+H`` <-> ``weight_hh``; c_t <-> s, h_t <-> y_c.
The head's weight and bias are W_k's cell columns and bias column; without a head the net's
outputs are h_t (K = H, W_k = [0, 0, identity]).
"""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Dict, Optional, Tuple, Type

import numpy as np

__all__ = ["from_torch", "to_torch", "to_torch_module", "load_torch_module"]


def _torch() -> Any:
    try:
        import torch
    except ImportError:            # pragma: no cover - depends on the environment
        raise ImportError("the PyTorch bridge needs torch (pip install "
                          "'fastlstm[torch]')") from None
    return torch


def from_torch(cls: Type[Any], lstm: Any, head: Any = None, dtype: str = "float64") -> Any:
    """A fastlstm net of class ``cls`` with the weights of ``lstm`` (and ``head``).

    Parameters
    ----------
    cls : type
        :class:`fastlstm.LSTM` or :class:`fastlstm.oracle.LSTM`.
    lstm : torch.nn.LSTM
        One layer, one direction, no projection.
    head : torch.nn.Linear, optional
        Read-out of the hidden states (in_features = hidden_size).  None: the net's
        outputs are the hidden states h_t.
    dtype : {"float64", "float32"}

    Returns
    -------
    A net with ``forget_gate=True, sources="cells", g="tanh", h="tanh", out="linear"``.
    """
    torch = _torch()
    if not isinstance(lstm, torch.nn.LSTM):
        raise TypeError(f"lstm: expected a torch.nn.LSTM, got {type(lstm).__name__}")
    if lstm.num_layers != 1 or lstm.bidirectional or getattr(lstm, "proj_size", 0):
        raise ValueError("lstm: only a one-layer, one-direction nn.LSTM without projection "
                         "maps onto a fastlstm net")
    I, H = lstm.input_size, lstm.hidden_size
    if head is not None:
        if not isinstance(head, torch.nn.Linear):
            raise TypeError(f"head: expected a torch.nn.Linear or None, got "
                            f"{type(head).__name__}")
        if head.in_features != H:
            raise ValueError(f"head: in_features {head.in_features} != the LSTM's "
                             f"hidden_size {H}")
    K = H if head is None else head.out_features
    groups = (["gates", "cells"] if lstm.bias else []) + (
        ["outputs"] if head is not None and head.bias is not None else [])
    net = cls(I, K, H, 1, forget_gate=True, sources="cells", g="tanh", h="tanh",
              out="linear", bias=groups, dtype=dtype, seed=0)

    def arr(t: Any) -> np.ndarray:
        return t.detach().cpu().to(torch.float64).numpy()

    w_ih, w_hh = arr(lstm.weight_ih_l0), arr(lstm.weight_hh_l0)      # (4H, I), (4H, H)
    b = (arr(lstm.bias_ih_l0) + arr(lstm.bias_hh_l0)) if lstm.bias else np.zeros(4 * H)
    for n, name in enumerate(("W_in", "W_phi", "W_c", "W_out")):
        rows = slice(n * H, (n + 1) * H)
        W = net.params[name]
        W[:, 0] = b[rows] if lstm.bias else 0.0
        W[:, 1:1 + I] = w_ih[rows]
        W[:, 1 + I:] = w_hh[rows]
    W_k = net.params["W_k"]
    W_k[...] = 0.0
    if head is None:
        W_k[:, 1 + I:] = np.eye(H)
    else:
        W_k[:, 1 + I:] = arr(head.weight)
        if head.bias is not None:
            W_k[:, 0] = arr(head.bias)
    return net


def to_torch(net: Any) -> Tuple[Any, Optional[Any]]:
    """``(torch.nn.LSTM, torch.nn.Linear)`` with the weights of ``net``.

    The net must be of the form :func:`from_torch` makes: one cell per block, a forget
    gate and an output gate, "cells" sources, no peepholes, g = h = tanh, linear outputs
    that read the cells only.  The tensors are float64 for a float64 net, else float32;
    the whole bias goes to ``bias_ih`` (``bias_hh`` is 0).
    """
    torch = _torch()
    c = net.config
    wrong = [text for ok, text in (
        (c["block_size"] == 1, "block_size=1"), (c["forget_gate"], "forget_gate=True"),
        (c["output_gate"], "output_gate=True"), (c["sources"] == "cells", "sources='cells'"),
        (not c["peepholes"], "peepholes=False"), (c["g"] == "tanh" and c["h"] == "tanh",
                                                  "g='tanh', h='tanh'"),
        (c["out"] == "linear", "out='linear'")) if not ok]
    I, H = net.I, net.B
    if not wrong and np.any(net.params["W_k"][:, 1:1 + I] != 0):
        wrong.append("output units that do not read the inputs")
    if wrong:
        raise ValueError(f"net: has no torch.nn.LSTM counterpart; it needs {', '.join(wrong)}")
    tdt = torch.float64 if net.dtype == np.float64 else torch.float32
    has_bias = "gates" in c["bias"] or "cells" in c["bias"]
    lstm = torch.nn.LSTM(I, H, bias=has_bias, dtype=tdt)
    rows = [net.params[n] for n in ("W_in", "W_phi", "W_c", "W_out")]
    head = torch.nn.Linear(H, net.K, bias="outputs" in c["bias"], dtype=tdt)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(np.vstack([r[:, 1:1 + I] for r in rows])))
        lstm.weight_hh_l0.copy_(torch.from_numpy(np.vstack([r[:, 1 + I:] for r in rows])))
        if has_bias:
            lstm.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([r[:, 0] for r in rows])))
            lstm.bias_hh_l0.zero_()
        head.weight.copy_(torch.from_numpy(np.array(net.params["W_k"][:, 1 + I:])))
        if head.bias is not None:
            head.bias.copy_(torch.from_numpy(np.array(net.params["W_k"][:, 0])))
    return lstm, head


# --------------------------------------------------------------------------- any net as a module

#: the configuration entries that fix a net's structure (the masks fix the rest)
_STRUCTURE = ("n_in", "n_out", "n_blocks", "block_size", "output_gate", "forget_gate",
              "peepholes", "sources", "g", "h", "out")
#: the order of the gate activations in z(t) with sources "full" (absent gates left out)
_GATES = (("W_in", "y_in"), ("W_out", "y_out"), ("W_phi", "y_phi"))


def _squashes(torch: Any) -> Dict[str, Callable[[Any], Any]]:
    """The squashing functions of ``docs/model.md`` as torch functions."""
    return {"g2": lambda v: 4 * torch.sigmoid(v) - 2,
            "g1": torch.sigmoid,
            "tanh": torch.tanh,
            "h1": lambda v: 2 * torch.sigmoid(v) - 1,
            "id": lambda v: v}


@functools.lru_cache(maxsize=None)
def _module_class() -> Any:
    """The class ``LSTMModule``, made on first use (it needs torch)."""
    torch = _torch()

    class LSTMModule(torch.nn.Module):  # type: ignore[name-defined]
        __doc__ = _MODULE_DOC

        def __init__(self, net: Any) -> None:
            super().__init__()
            self.config: Dict[str, Any] = copy.deepcopy(dict(net.config))
            self.I, self.K, self.B, self.S, self.C = net.I, net.K, net.B, net.S, net.C
            dt = torch.float64 if net.dtype == np.float64 else torch.float32
            self.param_names: Tuple[str, ...] = tuple(net.params)
            with net._lock:                 # a consistent copy, not one mid-update
                values = {n: np.array(net.params[n]) for n in self.param_names}
                masks = {n: np.array(net.masks[n]) for n in self.param_names}
            for name in self.param_names:
                setattr(self, name, torch.nn.Parameter(torch.tensor(values[name], dtype=dt)))
                self.register_buffer(name + "_mask", torch.tensor(masks[name], dtype=dt))

        def extra_repr(self) -> str:
            c = self.config
            return (f"n_in={c['n_in']}, n_out={c['n_out']}, n_blocks={c['n_blocks']}, "
                    f"block_size={c['block_size']}, forget_gate={c['forget_gate']}, "
                    f"peepholes={c['peepholes']}, sources={c['sources']!r}, g={c['g']!r}, "
                    f"h={c['h']!r}, out={c['out']!r}")

        def weights(self) -> Dict[str, Any]:
            """Each parameter times its 0/1 mask (what the forward pass uses)."""
            return {n: getattr(self, n) * getattr(self, n + "_mask")
                    for n in self.param_names}

        def _as_x(self, x: Any) -> Tuple[Any, bool]:
            x = torch.as_tensor(x).to(device=self.W_k.device, dtype=self.W_k.dtype)
            if x.ndim not in (2, 3) or x.shape[-1] != self.I:
                raise ValueError(f"x: expected shape (T, {self.I}) or (N, T, {self.I}), "
                                 f"got {tuple(x.shape)}")
            if x.shape[-2] < 1:
                raise ValueError(f"x: T must be >= 1, got shape {tuple(x.shape)}")
            if not bool(torch.isfinite(x).all()):
                raise ValueError(f"x: contains NaN or infinite values (as {x.dtype})")
            return (x if x.ndim == 3 else x.unsqueeze(0)), x.ndim == 2

        def net_inputs(self, x: Any, truncated: bool = False) -> Any:
            """net_k(t), the output units' net inputs: (T, K) or (N, T, K).

            ``truncated=True`` detaches every recurrent entry of z(t) and every peephole
            input, so that autograd gives the truncated gradient of the 1997 rule.
            """
            x, single = self._as_x(x)
            N, T, _ = x.shape
            I, B, S, C = self.I, self.B, self.S, self.C
            W = self.weights()
            f = torch.sigmoid
            g, h = _squashes(torch)[self.config["g"]], _squashes(torch)[self.config["h"]]
            full = self.config["sources"] == "full"

            def cut(v: Any) -> Any:
                return v.detach() if truncated else v

            def peep(P: Any, s: Any) -> Any:        # (N, B): sum_{c in j} P[c] s_c
                return (P * cut(s)).reshape(N, B, S).sum(dim=2)

            def per_cell(v: Any) -> Any:            # (N, B) -> (N, C): the block's value
                return v.repeat_interleave(S, dim=1)

            one = x.new_ones(N, 1)
            s = x.new_zeros(N, C)                                       # s(t-1)
            rec = x.new_zeros(N, self.W_in.shape[1] - 1 - I)            # z(t) after x
            net_k = []
            for t in range(T):
                x_t = x[:, t]                                           # (N, I)
                z = torch.cat([one, x_t, cut(rec)], dim=1)              # (N, nz)
                act = {}
                net_in = z @ W["W_in"].T                                # (N, B)
                if "P_in" in W:
                    net_in = net_in + peep(W["P_in"], s)
                act["y_in"] = f(net_in)
                if "W_phi" in W:
                    net_phi = z @ W["W_phi"].T
                    if "P_phi" in W:
                        net_phi = net_phi + peep(W["P_phi"], s)
                    act["y_phi"] = f(net_phi)
                    s = per_cell(act["y_phi"]) * s
                s = s + per_cell(act["y_in"]) * g(z @ W["W_c"].T)      # (N, C)  the CEC
                if "W_out" in W:
                    net_out = z @ W["W_out"].T
                    if "P_out" in W:
                        net_out = net_out + peep(W["P_out"], s)         # sees s(t)
                    act["y_out"] = f(net_out)
                    y_c = per_cell(act["y_out"]) * h(s)                 # (N, C)
                else:
                    y_c = h(s)
                u = torch.cat([one, x_t, y_c], dim=1)                   # (N, 1+I+C)
                net_k.append(u @ W["W_k"].T)                            # (N, K)
                rec = torch.cat([y_c] + ([act[a] for n, a in _GATES if n in W] if full
                                         else []), dim=1)
            out = torch.stack(net_k, dim=1)                             # (N, T, K)
            return out[0] if single else out

        def activate(self, net_k: Any) -> Any:
            """y_k from net_k: the output units' activation function."""
            kind = self.config["out"]
            if kind == "logistic":
                return torch.sigmoid(net_k)
            if kind == "softmax":
                return torch.softmax(net_k, dim=-1)
            return net_k

        def forward(self, x: Any, truncated: bool = False) -> Any:
            """The outputs y_k(t) of ``net.forward(x)``: (T, K) or (N, T, K)."""
            return self.activate(self.net_inputs(x, truncated))

        def loss(self, x: Any, y: Any, mask: Any = None, truncated: bool = False) -> Any:
            """The loss of ``net.gradient(x, y, mask)``, summed over the sequences.

            ``1/2 sum (y - y_k)^2`` over the target steps, or with softmax outputs
            ``sum (logsumexp(net_k) - sum_k y_k net_k)``; ``mask``: (T,) or (N, T) bool,
            the steps with a target (default: all).  ``truncated`` as in
            :meth:`net_inputs`.
            """
            net_k = self.net_inputs(x, truncated)
            y = torch.as_tensor(y).to(device=net_k.device, dtype=net_k.dtype)
            if y.shape != net_k.shape:
                raise ValueError(f"y: expected shape {tuple(net_k.shape)} to match x, "
                                 f"got {tuple(y.shape)}")
            steps = net_k.shape[:-1]
            if mask is None:
                m = torch.ones(steps, dtype=torch.bool, device=net_k.device)
            else:
                m = torch.as_tensor(mask).to(net_k.device)
                if m.shape != steps:
                    raise ValueError(f"mask: expected shape {tuple(steps)} to match x, "
                                     f"got {tuple(m.shape)}")
                m = m.to(torch.bool)
            if not bool(torch.isfinite(y[m]).all()):
                raise ValueError("y: contains NaN or infinite values at target steps")
            if self.config["out"] == "softmax":
                per_step = torch.logsumexp(net_k, dim=-1) - (y * net_k).sum(dim=-1)
            else:
                per_step = 0.5 * ((y - self.activate(net_k)) ** 2).sum(dim=-1)
            return per_step[m].sum()

    LSTMModule.__module__ = __name__
    LSTMModule.__qualname__ = "LSTMModule"
    return LSTMModule


_MODULE_DOC = """A fastlstm net as a ``torch.nn.Module`` (made by :func:`to_torch_module`).

Its forward pass computes ``net.forward``: ``module(x)`` for x of shape (T, n_in) or
(N, T, n_in) (a tensor or an array, converted to the module's dtype) returns y_k(t),
(T, n_out) or (N, T, n_out); every sequence starts from zero.  The parameters are
``torch.nn.Parameter`` named as in ``net.params`` (``W_in``, ``W_out``, ``W_phi``, ``W_c``,
``W_k``, ``P_in``, ``P_phi``, ``P_out``, those the net has), each with its 0/1 mask as the
buffer ``<name>_mask``: the forward pass uses parameter times mask, so a masked weight acts
as 0 and its gradient is 0.  ``module.loss(x, y, mask)`` is the loss of
``net.gradient(x, y, mask)``, so that autograd gives its exact gradient (and, with
``truncated=True``, the truncated one).  ``net.load_torch_module(module)`` copies the
(trained) parameters back into a net of the same architecture.

Attributes
----------
config : dict
    A copy of the net's ``config``.
param_names : tuple of str
    The parameters, in the order of the net's parameter block.
"""


def __getattr__(name: str) -> Any:
    # ``fastlstm.torch_bridge.LSTMModule`` is made on first use (it needs torch)
    if name == "LSTMModule":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_torch_module(net: Any) -> Any:
    """A ``torch.nn.Module`` computing the forward pass of any fastlstm net.

    Every option is supported: blocks of several cells, every g/h squashing function,
    ``sources="full"`` (gates reading the previous gate activations) or ``"cells"``, forget
    gates, peepholes, logistic/linear/softmax outputs, bias groups and any masks.  The
    module's tensors are float64 for a float64 net, else float32; it holds a copy of the
    weights (the net and the module do not share memory).

    Parameters
    ----------
    net : fastlstm.LSTM or fastlstm.oracle.LSTM

    Returns
    -------
    LSTMModule
        ``module(x)`` equals ``net.forward(x)`` (float64: to rounding, within 1e-12);
        ``module.loss(x, y, mask)`` is the loss of ``net.gradient``; parameters named as
        in ``net.params``.  Its class is ``fastlstm.torch_bridge.LSTMModule``
        (made when torch is first needed).
    """
    return _module_class()(net)


def load_torch_module(net: Any, module: Any) -> None:
    """Copy the parameters of ``module`` (from :func:`to_torch_module`) into ``net``.

    The net must have the module's architecture (the structure entries of ``config``
    and the same masks).  The values written are parameter times mask (what the module
    computes with), converted to the net's dtype.  Nothing is written if a check fails.

    Raises
    ------
    TypeError
        ``module`` is not an ``LSTMModule``.
    ValueError
        Different architecture or masks, or a parameter that is not finite.
    """
    cls = _module_class()
    if not isinstance(module, cls):
        raise TypeError(f"module: expected a fastlstm.torch_bridge.LSTMModule (from "
                        f"net.to_torch_module()), got {type(module).__name__}")
    diff = [f"{k}: net {net.config[k]!r}, module {module.config.get(k)!r}"
            for k in _STRUCTURE if net.config[k] != module.config.get(k)]
    if diff:
        raise ValueError("module: a different architecture from the net's (" +
                         "; ".join(diff) + ")")
    new = {}
    for name in net.params:
        mask = getattr(module, name + "_mask").detach().cpu().to(dtype=_torch().float64)
        if not np.array_equal(mask.numpy(), np.asarray(net.masks[name])):
            raise ValueError(f"module: the mask of {name} differs from the net's")
        w = (getattr(module, name).detach().cpu().to(mask.dtype) * mask).numpy()
        if not np.isfinite(w).all():
            raise ValueError(f"module: {name} contains NaN or infinite values")
        with np.errstate(over="ignore"):
            new[name] = w.astype(net.dtype)
        if not np.isfinite(new[name]).all():
            raise ValueError(f"module: {name} does not fit in {net.dtype}")
    with net._lock:
        for name, w in new.items():
            net.params[name][...] = w
