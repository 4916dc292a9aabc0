"""A fastlstm net as an ONNX graph: the standard ``LSTM`` operator and the output layer,
or, for what that operator cannot express, a ``Scan`` over one step of the net.

onnx is imported here only, when :func:`to_onnx` is called (the ``onnx`` extra);
``import fastlstm`` never needs it.  The page "PyTorch and ONNX" of the documentation
(``docs/interop.md``) has the mapping and the measured agreement with ONNX Runtime.

Both graphs (opset :data:`OPSET`, IR version :data:`IR_VERSION`, float32) have one input
``x`` of shape (N, T, n_in) and one output ``y`` of shape (N, T, n_out) (N and T free;
every sequence starts from zero, as in ``net.forward``).

**The LSTM operator** (``op="lstm"``)::

    x -> Transpose -> LSTM -> Squeeze -> MatMul (+ MatMul of x) + bias -> f_out -> Transpose -> y

with hidden size C and one row of each gate per *cell*:

* gate rows i, o, f, c of ``W`` (inputs), ``R`` (previous cell outputs) and ``B`` (bias,
  in ``Wb``; ``Rb`` is 0) are ``W_in``, ``W_out``, ``W_phi``, ``W_c``; a block's shared
  gate is repeated once per cell of the block (the same forward pass);
* a gate the net does not have (the 1997 cell's forget gate; the output gate with
  ``output_gate=False``) is pinned open: zero weights and bias :data:`PIN`, whose logistic
  is 1.0 in float32;
* the squashing functions are ONNX activations: f = ``Sigmoid``; g and h from
  ``"g2"`` = ``ScaledTanh(alpha=2, beta=0.5)`` (4 sig(x) - 2 = 2 tanh(x/2)), ``"h1"`` =
  ``ScaledTanh(alpha=1, beta=0.5)`` (2 sig(x) - 1 = tanh(x/2)), ``"g1"`` = ``Sigmoid``,
  ``"tanh"`` = ``Tanh``, ``"id"`` = ``Affine(alpha=1, beta=0)``;
* peepholes go to ``P`` (order i, o, f): the input and forget gates see c_{t-1}, the
  output gate c_t, as in fastlstm.

What the operator cannot express (:func:`onnx_problems` lists it, without onnx):

* ``sources="full"`` with nonzero weights from the previous *gate* activations (z's
  y_in, y_out, y_phi columns; the default 1997 net): the operator's recurrence carries
  the cell outputs only;
* peepholes in blocks of several cells (a block's gate sums its cells' states; the
  operator has one peephole per cell and gate).

A weight that is 0 (masked or not) is not an obstacle: the check looks at the values.

**The Scan graph** (``op="scan"``, any net): ``Scan`` over the time axis of ``x``, its
state s(t) and the recurrent part of z(t), its body one step of the net in ``MatMul``,
``Add``, ``Mul``, ``Sigmoid``, ``Tanh`` and ``Concat`` (a block's gate values reach its
cells through a 0/1 matrix), the output layer included.

``op="auto"`` (the default) writes the first of the two that fits the net.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

__all__ = ["to_onnx", "onnx_problems", "OPSET", "IR_VERSION", "PIN"]

#: the ONNX opset of the graph (the ``LSTM`` operator of opset 14; ``Squeeze`` of 13)
OPSET = 17
#: the ONNX IR version written: the one that goes with opset 17 (a newer onnx would
#: stamp its own, later one, which older runtimes refuse)
IR_VERSION = 8
#: the bias of a gate pinned open: sig(40) rounds to 1.0 in float32 (and float64)
PIN = 40.0

# the squashing functions as ONNX LSTM activations: (name, alpha, beta) (None: no params)
_ACTIVATION: Dict[str, Tuple[str, Optional[float], Optional[float]]] = {
    "g2": ("ScaledTanh", 2.0, 0.5),
    "h1": ("ScaledTanh", 1.0, 0.5),
    "g1": ("Sigmoid", None, None),
    "tanh": ("Tanh", None, None),
    "id": ("Affine", 1.0, 0.0),
}


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:            # pragma: no cover - depends on the environment
        raise ImportError("ONNX export needs onnx (pip install 'fastlstm[onnx]')") from None
    return onnx


def onnx_problems(net: Any) -> List[str]:
    """Why ``net`` cannot be written as an ONNX ``LSTM`` graph (empty: it can).

    Parameters
    ----------
    net : fastlstm.LSTM or fastlstm.oracle.LSTM

    Returns
    -------
    list of str
        One sentence per obstacle, in the net's current weights.
    """
    problems = []
    I, C, S = net.I, net.C, net.S
    W = net.params
    if net.config["sources"] == "full":
        gates = [n for n in ("W_in", "W_out", "W_phi", "W_c") if n in W
                 and np.any(np.asarray(W[n])[:, 1 + I + C:] != 0)]
        if gates:
            problems.append(
                f"sources='full': {', '.join(gates)} read the previous gate activations "
                f"(nonzero weights in the y_in/y_out/y_phi columns of z); the ONNX LSTM "
                f"operator's recurrence carries the cell outputs only (use "
                f"sources='cells', recurrent=False, or masks that leave those columns out)")
    if S > 1:
        peeps = [n for n in ("P_in", "P_phi", "P_out") if n in W and np.any(np.asarray(W[n]))]
        if peeps:
            problems.append(
                f"peepholes with block_size={S}: {', '.join(peeps)} feed a gate shared by "
                f"the block's {S} cells (a sum over their states); the ONNX LSTM operator "
                f"has one peephole weight per cell and gate (use block_size=1)")
    return problems


def _float32(arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The arrays as contiguous float32; ValueError if one does not fit."""
    with np.errstate(over="ignore"):
        out = {n: np.ascontiguousarray(a, np.float32) for n, a in arrays.items()}
    for n, a in out.items():
        if not np.isfinite(a).all():
            raise ValueError(f"net: a weight does not fit in float32 ({n})")
    return out


def _output_layer(net: Any, W: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """W_k split by source: cells (C, K), inputs (I, K) if any is nonzero, bias (K)."""
    I = net.I
    out = {"W_k_c": W["W_k"][:, 1 + I:].T, "W_k_b": W["W_k"][:, 0]}
    if np.any(W["W_k"][:, 1:1 + I] != 0):
        out["W_k_x"] = W["W_k"][:, 1:1 + I].T
    return out


def _output_nodes(net: Any, helper: Any, x: str, y_c: str, y: str, p: str = "") -> List[Any]:
    """y = f_out(y_c W_k_c + [x W_k_x] + W_k_b), node names prefixed with ``p``."""
    nodes = [helper.make_node("MatMul", [y_c, "W_k_c"], [p + "net_k_c"])]
    last = p + "net_k_c"
    if np.any(np.asarray(net.params["W_k"])[:, 1:1 + net.I] != 0):
        nodes += [helper.make_node("MatMul", [x, "W_k_x"], [p + "net_k_x"]),
                  helper.make_node("Add", [last, p + "net_k_x"], [p + "net_k_cx"])]
        last = p + "net_k_cx"
    nodes.append(helper.make_node("Add", [last, "W_k_b"], [p + "net_k"]))
    kind, attrs = {"logistic": ("Sigmoid", {}), "linear": ("Identity", {}),
                   "softmax": ("Softmax", {"axis": -1})}[net.config["out"]]
    nodes.append(helper.make_node(kind, [p + "net_k"], [y], **attrs))
    return nodes


def _lstm_graph(net: Any, helper: Any) -> Tuple[List[Any], Dict[str, np.ndarray]]:
    """Nodes and initializers of the graph with the ``LSTM`` operator."""
    I, C, S = net.I, net.C, net.S
    cfg = net.config
    W = {n: np.asarray(p, np.float64) for n, p in net.params.items()}
    blk = np.arange(C) // S                                   # (C) block of cell c

    def rows(name: str) -> np.ndarray:                        # (C, nz): one row per cell
        if name not in W:                                     # pinned open
            pinned = np.zeros((C, net.nz))
            pinned[:, 0] = PIN
            return pinned
        return W[name] if name == "W_c" else W[name][blk]

    gates = [rows(n) for n in ("W_in", "W_out", "W_phi", "W_c")]   # ONNX order i, o, f, c
    weights = {
        "W": np.vstack([g[:, 1:1 + I] for g in gates])[None],          # (1, 4C, I)
        "R": np.vstack([g[:, 1 + I:1 + I + C] for g in gates])[None],  # (1, 4C, C)
        "B": np.concatenate([np.concatenate([g[:, 0] for g in gates]),
                             np.zeros(4 * C)])[None],                   # (1, 8C) Wb, Rb
    }
    if "P_in" in W:
        zero = np.zeros(C)
        weights["P"] = np.concatenate([W["P_in"], W.get("P_out", zero),
                                       W.get("P_phi", zero)])[None]    # (1, 3C) i, o, f
    weights.update(_output_layer(net, W))
    weights = _float32(weights)
    weights["squeeze_axes"] = np.array([1], np.int64)

    acts = [("Sigmoid", None, None), _ACTIVATION[cfg["g"]], _ACTIVATION[cfg["h"]]]
    attrs: Dict[str, Any] = dict(hidden_size=C, direction="forward",
                                 activations=[a[0] for a in acts])
    if any(a[1] is not None for a in acts):     # consumed by the activations that take them
        attrs["activation_alpha"] = [a[1] for a in acts if a[1] is not None]
        attrs["activation_beta"] = [a[2] for a in acts if a[2] is not None]
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tni"], perm=[1, 0, 2]),      # (T, N, I)
        helper.make_node("LSTM", ["x_tni", "W", "R", "B", "", "", "",
                                  "P" if "P" in weights else ""],
                         ["y_c4"], name="lstm", **attrs),                       # (T, 1, N, C)
        helper.make_node("Squeeze", ["y_c4", "squeeze_axes"], ["y_c"]),       # (T, N, C)
    ]
    nodes += _output_nodes(net, helper, "x_tni", "y_c", "y_k")                # (T, N, K)
    nodes.append(helper.make_node("Transpose", ["y_k"], ["y"], perm=[1, 0, 2]))  # (N, T, K)
    return nodes, weights


def _squash_nodes(helper: Any, kind: str, v: str, out: str) -> List[Any]:
    """out = squash(v) in basic operators (``docs/model.md``'s functions)."""
    if kind == "g2":                                          # 2 tanh(v / 2)
        return [helper.make_node("Mul", [v, "half"], [out + "_a"]),
                helper.make_node("Tanh", [out + "_a"], [out + "_b"]),
                helper.make_node("Mul", [out + "_b", "two"], [out])]
    if kind == "h1":                                          # tanh(v / 2)
        return [helper.make_node("Mul", [v, "half"], [out + "_a"]),
                helper.make_node("Tanh", [out + "_a"], [out])]
    op = {"g1": "Sigmoid", "tanh": "Tanh", "id": "Identity"}[kind]
    return [helper.make_node(op, [v], [out])]


def _scan_graph(net: Any, helper: Any, TensorProto: Any, numpy_helper: Any
                ) -> Tuple[List[Any], Dict[str, np.ndarray]]:
    """Nodes and initializers of the ``Scan`` graph: one step of the net per time step,
    for any architecture.  The body's state is s (N, C) and the recurrent part of z,
    ``rec`` (N, nz - 1 - I): [y_c, y_in, y_out, y_phi] ("full") or [y_c] ("cells")."""
    I, B, S, C, K = net.I, net.B, net.S, net.C, net.K
    cfg = net.config
    W = {n: np.asarray(p, np.float64) for n, p in net.params.items()}
    R = net.nz - 1 - I
    block_sum = np.zeros((C, B))
    block_sum[np.arange(C), np.arange(C) // S] = 1.0          # (C, B): sum over a block
    weights: Dict[str, np.ndarray] = {"block_sum": block_sum, "per_cell": block_sum.T,
                                      "half": np.array(0.5), "two": np.array(2.0)}
    for name in ("W_in", "W_out", "W_phi", "W_c"):
        if name in W:
            weights[name + "_x"] = W[name][:, 1:1 + I].T      # (I, rows)
            weights[name + "_r"] = W[name][:, 1 + I:].T       # (R, rows)
            weights[name + "_b"] = W[name][:, 0]              # (rows)
    for name in ("P_in", "P_phi", "P_out"):
        if name in W:
            weights[name] = W[name]                           # (C)
    weights.update(_output_layer(net, W))
    weights = _float32(weights)
    weights["n_axis"] = np.array([0], np.int64)
    weights["width_s"] = np.array([C], np.int64)
    weights["width_r"] = np.array([R], np.int64)

    mk = helper.make_node
    body = []

    def net_input(name: str, out: str, s: Optional[str], peep: str) -> None:
        body.extend([mk("MatMul", ["x_t", name + "_x"], [out + "_x"]),
                     mk("MatMul", ["rec_prev", name + "_r"], [out + "_r"]),
                     mk("Add", [out + "_x", out + "_r"], [out + "_xr"]),
                     mk("Add", [out + "_xr", name + "_b"], [out if s is None or peep not in W
                                                           else out + "_z"])])
        if s is not None and peep in W:                       # + sum_{c in j} P[c] s_c
            body.extend([mk("Mul", [s, peep], [out + "_ps"]),
                         mk("MatMul", [out + "_ps", "block_sum"], [out + "_p"]),
                         mk("Add", [out + "_z", out + "_p"], [out])])

    net_input("W_in", "net_in", "s_prev", "P_in")
    body.append(mk("Sigmoid", ["net_in"], ["y_in"]))                          # (N, B)
    body.append(mk("MatMul", ["y_in", "per_cell"], ["y_in_c"]))               # (N, C)
    net_input("W_c", "net_c", None, "")
    body += _squash_nodes(helper, cfg["g"], "net_c", "g_c")                  # (N, C)
    body.append(mk("Mul", ["y_in_c", "g_c"], ["in_c"]))
    if "W_phi" in W:
        net_input("W_phi", "net_phi", "s_prev", "P_phi")
        body += [mk("Sigmoid", ["net_phi"], ["y_phi"]),
                 mk("MatMul", ["y_phi", "per_cell"], ["y_phi_c"]),
                 mk("Mul", ["y_phi_c", "s_prev"], ["kept"]),
                 mk("Add", ["kept", "in_c"], ["s_next"])]                     # the CEC
    else:
        body.append(mk("Add", ["s_prev", "in_c"], ["s_next"]))                # the CEC
    body += _squash_nodes(helper, cfg["h"], "s_next", "h_s")
    if "W_out" in W:
        net_input("W_out", "net_out", "s_next", "P_out")                      # sees s(t)
        body += [mk("Sigmoid", ["net_out"], ["y_out"]),
                 mk("MatMul", ["y_out", "per_cell"], ["y_out_c"]),
                 mk("Mul", ["y_out_c", "h_s"], ["y_c"])]
    else:
        body.append(mk("Identity", ["h_s"], ["y_c"]))
    parts = ["y_c"]
    if cfg["sources"] == "full":
        parts += [a for n, a in (("W_in", "y_in"), ("W_out", "y_out"), ("W_phi", "y_phi"))
                  if n in W]
    body.append(mk("Concat", parts, ["rec_next"], axis=1))                    # (N, R)
    body += _output_nodes(net, helper, "x_t", "y_c", "y_t", "o_")             # (N, K)

    def info(name: str, width: int) -> Any:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", width])

    body_graph = helper.make_graph(
        body, "step", [info("s_prev", C), info("rec_prev", R), info("x_t", I)],
        [info("s_next", C), info("rec_next", R), info("y_t", K)])
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "zero")
    nodes = [
        mk("Shape", ["x"], ["x_shape"]),
        mk("Gather", ["x_shape", "n_axis"], ["n"]),                           # [N]
        mk("Concat", ["n", "width_s"], ["shape_s"], axis=0),
        mk("Concat", ["n", "width_r"], ["shape_r"], axis=0),
        mk("ConstantOfShape", ["shape_s"], ["s_0"], value=zero),              # (N, C)
        mk("ConstantOfShape", ["shape_r"], ["rec_0"], value=zero),            # (N, R)
        mk("Scan", ["s_0", "rec_0", "x"], ["s_T", "rec_T", "y"], body=body_graph,
           num_scan_inputs=1, scan_input_axes=[1], scan_output_axes=[1]),     # y (N, T, K)
    ]
    used = {name for node in body + nodes for name in node.input}
    return nodes, {n: a for n, a in weights.items() if n in used}


def to_onnx(net: Any, path: Union[str, "os.PathLike[str]", None] = None,
            op: str = "auto") -> Any:
    """The net as an ONNX model (float32), written to ``path`` if given.

    The graphs are described in :mod:`fastlstm.onnx_export`: input ``x`` (N, T, n_in),
    output ``y`` (N, T, n_out), opset :data:`OPSET`; either the standard ``LSTM``
    operator and the output layer, or, for what that operator cannot express, a ``Scan``
    over time whose body is one step of the net in basic operators.  Run one sequence
    as a batch of one (``x[None]``).  The model passes ``onnx.checker.check_model``.

    Parameters
    ----------
    net : fastlstm.LSTM or fastlstm.oracle.LSTM
        Any architecture and dtype (the graph is float32).
    path : str or path-like, optional
        Where to write the model (``onnx.save``).
    op : {"auto", "lstm", "scan"}, default "auto"
        "lstm": the ``LSTM`` operator, or ValueError naming what it cannot express
        (:func:`onnx_problems`); "scan": the ``Scan`` graph (any net); "auto": "lstm"
        where the net maps onto it, else "scan".

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ValueError
        ``op="lstm"`` for a net the ``LSTM`` operator cannot express, an unknown ``op``,
        or a weight too large for float32.
    ImportError
        onnx is not installed (the ``onnx`` extra).
    """
    if op not in ("auto", "lstm", "scan"):
        raise ValueError(f"op: expected 'auto', 'lstm' or 'scan', got {op!r}")
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    I, K = net.I, net.K
    cfg = net.config
    with net._lock:                         # the weights of one moment, not mid-update
        problems = onnx_problems(net)
        if op == "lstm" and problems:
            raise ValueError("net: cannot be written with the ONNX LSTM operator: " +
                             "; ".join(problems) + " (op='scan' writes any net)")
        if op == "scan" or (op == "auto" and problems):
            nodes, weights = _scan_graph(net, helper, TensorProto, numpy_helper)
        else:
            nodes, weights = _lstm_graph(net, helper)
    graph = helper.make_graph(
        nodes, "fastlstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "T", I])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "T", K])],
        initializer=[numpy_helper.from_array(a, name) for name, a in weights.items()])
    from . import __version__
    model = helper.make_model(
        graph, producer_name="fastlstm", producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=(f"fastlstm net: n_in={I}, n_out={K}, n_blocks={net.B}, "
                    f"block_size={net.S}, forget_gate={cfg['forget_gate']}, "
                    f"peepholes={cfg['peepholes']}, sources={cfg['sources']!r}, "
                    f"g={cfg['g']!r}, h={cfg['h']!r}, out={cfg['out']!r}"))
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model
