"""Nets to and from PyTorch: a one-layer ``torch.nn.LSTM`` (with an optional
``torch.nn.Linear`` head) is fastlstm's forget-gate cell with one cell per block,
"cells" sources, tanh squashing and linear output units.

torch is imported here only, when a function is called; ``import fastlstm`` never needs it.

Mapping (PyTorch's gate rows i, f, g, o): rows ``0:H`` <-> W_in, ``H:2H`` <-> W_phi,
``2H:3H`` <-> W_c, ``3H:4H`` <-> W_out; column 0 <-> ``bias_ih + bias_hh``, columns
``1:1+I`` <-> ``weight_ih``, columns ``1+I:1+I+H`` <-> ``weight_hh``; c_t <-> s, h_t <-> y_c.
The head's weight and bias are W_k's cell columns and bias column; without a head the net's
outputs are h_t (K = H, W_k = [0, 0, identity]).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Type

import numpy as np

__all__ = ["from_torch", "to_torch"]


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
