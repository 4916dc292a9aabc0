"""``net.to_onnx()``: ONNX graphs checked with ``onnx.checker`` and run in ONNX Runtime.

The ``LSTM``-operator graph for the nets it can express (the 1997 cell with its squashing
functions and blocks, the forget-gate cell, peepholes), the ``Scan`` graph for every net;
outputs equal to ``net.forward`` to float32 rounding: max |diff| <= 1e-5 times the
largest |output| (sequences of up to 30 steps).
"""
import numpy as np
import pytest

from _helpers import assert_close, family_config, random_config
import fastlstm
from fastlstm import onnx_export, oracle

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

#: float32 graph against the float64 net: relative to the largest |output|
RTOL32 = 1e-5


def run(model, x):
    """ONNX Runtime's outputs for x (N, T, I)."""
    sess = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    return sess.run(["y"], {"x": np.asarray(x, np.float32)})[0]


def ops(model):
    return [node.op_type for node in model.graph.node]


def lstm_config(rng, cell):
    """A random net the ONNX LSTM operator expresses: "cells" sources, or "full" sources
    without recurrence (no gate-to-gate weights); peepholes only in blocks of one cell."""
    cfg = random_config(rng)
    cfg.update(sources=str(rng.choice(["full", "cells"])),
               out=str(rng.choice(["logistic", "linear", "softmax"])))
    if cfg["sources"] == "full":
        cfg["recurrent"] = False
    if cell == "1997":
        cfg.update(g="g2", h="h1")
    elif cell == "forget":
        cfg.update(forget_gate=True)
    else:
        cfg.update(peepholes=True, block_size=1, forget_gate=bool(rng.integers(2)))
    if cfg["out"] == "softmax" and cfg["n_out"] < 2:
        cfg["n_out"] = 2
    if cfg["g"] == "id" or cfg["h"] == "id" or cfg["out"] == "linear":
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    cfg["init_range"] = max(cfg["init_range"], 0.1)
    return cfg


@pytest.mark.parametrize("cell", ["1997", "forget", "peepholes"])
@pytest.mark.parametrize("seed", range(6))
def test_lstm_operator_equals_forward(cell, seed):
    rng = np.random.default_rng(41000 + seed + 100 * len(cell))
    net = fastlstm.LSTM(**lstm_config(rng, cell), seed=seed)
    model = net.to_onnx(op="lstm")
    onnx.checker.check_model(model, full_check=True)
    assert "LSTM" in ops(model) and "Scan" not in ops(model)
    N, T = int(rng.integers(1, 4)), int(rng.integers(1, 31))
    x = rng.uniform(-1, 1, (N, T, net.I))
    assert_close(run(model, x), net.forward(x), RTOL32, f"{cell} cell")
    assert net.to_onnx().SerializeToString() == model.SerializeToString()   # "auto"


def test_the_lstm_operator_cases_cover_every_activation():
    """The cases above reach every g and h (each an ONNX activation), every output kind,
    blocks of several cells, missing output gates and inputs feeding the outputs."""
    seen = set()
    for cell in ("1997", "forget", "peepholes"):
        for seed in range(6):
            c = lstm_config(np.random.default_rng(41000 + seed + 100 * len(cell)), cell)
            seen |= {("g", c["g"]), ("h", c["h"]), ("out", c["out"]),
                     ("S>1", c["block_size"] > 1), ("output_gate", c["output_gate"]),
                     ("input_to_output", c["input_to_output"])}
    want = ({("g", g) for g in ("g2", "g1", "tanh", "h1", "id")}
            | {("h", h) for h in ("h1", "id", "tanh", "g2", "g1")}
            | {("out", o) for o in ("logistic", "linear", "softmax")}
            | {("S>1", True), ("output_gate", False), ("input_to_output", True)})
    assert want <= seen, want - seen


def test_lstm_operator_attributes():
    """The 1997 squashing functions as ScaledTanh, blocks as repeated gate rows, the
    missing forget gate pinned open, peepholes in P (order i, o, f)."""
    net = fastlstm.LSTM(2, 1, 2, 3, sources="cells", seed=0)
    model = net.to_onnx(op="lstm")
    node = next(n for n in model.graph.node if n.op_type == "LSTM")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["activations"] == [b"Sigmoid", b"ScaledTanh", b"ScaledTanh"]
    assert attrs["activation_alpha"] == [2.0, 1.0]
    assert attrs["activation_beta"] == [0.5, 0.5]
    assert attrs["hidden_size"] == 6
    init = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    W, Bias = init["W"][0], init["B"][0]
    C = 6
    assert np.array_equal(W[:C], np.repeat(net.params["W_in"][:, 1:3], 3, axis=0)
                          .astype(np.float32))
    assert np.all(W[2 * C:3 * C] == 0) and np.all(Bias[2 * C:3 * C] == onnx_export.PIN)
    assert np.all(Bias[4 * C:] == 0)
    assert np.float32(1) / (1 + np.exp(np.float32(-onnx_export.PIN))) == 1.0
    peep = fastlstm.LSTM(2, 1, 3, sources="cells", peepholes=True, forget_gate=True,
                         seed=1)
    P = onnx.numpy_helper.to_array(
        next(t for t in peep.to_onnx().graph.initializer if t.name == "P"))[0]
    want = np.concatenate([peep.params[n] for n in ("P_in", "P_out", "P_phi")])
    assert np.array_equal(P, want.astype(np.float32))


def test_pinned_gates_hold_over_a_long_sequence():
    """Without forget and output gates (both pinned open) and unbounded cells, an error
    in the pinned gates would grow with every step."""
    net = fastlstm.LSTM(3, 2, 3, 2, sources="cells", output_gate=False, g="g1", h="id",
                        out="linear", init_range=0.3, seed=1)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 2000, 3))
    ref = net.forward(x)
    assert np.abs(ref).max() > 20                        # the states grew
    assert_close(run(net.to_onnx(op="lstm"), x), ref, RTOL32, "pinned gates")


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
@pytest.mark.parametrize("seed", range(10))
def test_scan_graph_equals_forward_for_any_net(seed, backend):
    rng = np.random.default_rng(42000 + seed)
    net = backend(**family_config(rng), seed=seed)
    if rng.integers(2):
        net.set_mask("W_c", rng.random(net.masks["W_c"].shape) < 0.7)
    N, T = int(rng.integers(1, 4)), int(rng.integers(1, 31))
    x = rng.uniform(-1, 1, (N, T, net.I))
    ref = net.forward(x)
    model = net.to_onnx(op="scan")
    onnx.checker.check_model(model, full_check=True)
    assert "Scan" in ops(model)
    assert_close(run(model, x), ref, RTOL32, "scan graph")
    auto = net.to_onnx()
    assert ("LSTM" in ops(auto)) == (not onnx_export.onnx_problems(net))
    assert_close(run(auto, x), ref, RTOL32, "auto")


def test_the_default_1997_net_goes_to_scan():
    """The 1997 topology's gates read the previous gate activations: not the LSTM
    operator's recurrence.  "auto" writes the Scan graph; "lstm" says why not."""
    net = fastlstm.LSTM(4, 2, 3, 2, seed=0)
    assert "Scan" in ops(net.to_onnx())
    with pytest.raises(ValueError, match=r"sources='full': W_in, W_out, W_c read the "
                                         r"previous gate activations.*op='scan'"):
        net.to_onnx(op="lstm")
    # with those weights 0 the LSTM operator expresses it
    for name in ("W_in", "W_out", "W_c"):
        net.params[name][:, 1 + 4 + 6:] = 0
    assert "LSTM" in ops(net.to_onnx())


def test_refusals_and_bad_arguments(tmp_path):
    net = fastlstm.LSTM(2, 2, 2, 3, sources="cells", peepholes=True, seed=0)
    with pytest.raises(ValueError, match="peepholes with block_size=3: P_in, P_out"):
        net.to_onnx(op="lstm")
    assert "Scan" in ops(net.to_onnx())
    with pytest.raises(ValueError, match="op: expected"):
        net.to_onnx(op="loop")
    net.params["W_k"][0, 0] = 1e39
    with pytest.raises(ValueError, match="does not fit in float32"):
        net.to_onnx()


def test_written_file_loads_and_runs(tmp_path):
    net = fastlstm.LSTM(3, 2, 2, forget_gate=True, peepholes=True, sources="cells",
                        dtype="float32", seed=2)
    path = tmp_path / "net.onnx"
    returned = net.to_onnx(path)
    model = onnx.load(str(path))
    onnx.checker.check_model(str(path), full_check=True)
    assert model.SerializeToString() == returned.SerializeToString()
    assert model.opset_import[0].version == onnx_export.OPSET
    assert model.ir_version == onnx_export.IR_VERSION
    x = np.random.default_rng(2).uniform(-1, 1, (2, 7, 3)).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert_close(sess.run(None, {"x": x})[0], net.forward(x), RTOL32, "from the file")
