"""How closely PyTorch and ONNX Runtime agree with fastlstm, over random architectures.

Prints the largest absolute difference, over ``--nets`` random nets (every topology
switch, squashing function and option of the family, random masks, both backends),
between

* ``net.forward`` and ``net.to_torch_module()`` (float64);
* ``net.gradient(..., truncated=False)`` and autograd through the module's loss (and the
  loss itself); the truncated gradient and autograd with the sources detached;
* ``net.forward`` (float64) and ONNX Runtime running ``net.to_onnx()`` (float32): the
  ``LSTM``-operator graph for the 1997, forget-gate and peephole cells it expresses, and
  the ``Scan`` graph for every net.

Run from a checkout with the ``torch`` and ``onnx`` extras installed::

    python tools/interop_agreement.py --nets 200
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from typing import Any, Dict

import numpy as np

import fastlstm
from fastlstm import oracle

# the random architectures of the tests (every topology switch and family option)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from _helpers import family_config  # noqa: E402


def random_config(rng: np.random.Generator) -> Dict[str, Any]:
    """A random architecture of the family, as the tests draw them."""
    return family_config(rng)


def lstm_op_config(rng: np.random.Generator, cell: str) -> Dict[str, Any]:
    """A random net the ONNX LSTM operator expresses (as in ``tests/test_onnx.py``)."""
    cfg = random_config(rng)
    cfg.update(forget_gate=False, peepholes=False)
    cfg.pop("forget_gate_bias", None)
    if cfg["sources"] == "full":
        cfg["recurrent"] = False
    if cell == "1997":
        cfg.update(g="g2", h="h1")
    elif cell == "forget":
        cfg.update(forget_gate=True)
    else:
        cfg.update(peepholes=True, block_size=1, forget_gate=bool(rng.integers(2)))
    cfg["init_range"] = max(cfg["init_range"], 0.1)
    return cfg


def cpu() -> str:
    """The processor's model name (Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def targets(rng: np.random.Generator, net: Any, T: int) -> np.ndarray:
    if net.config["out"] == "softmax":
        return rng.dirichlet(np.ones(net.K), size=T)
    return rng.uniform(0, 1, (T, net.K))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", type=int, default=200, help="random nets per comparison")
    ap.add_argument("--T", type=int, default=30, help="longest sequence")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    import onnx
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.log_severity_level = 3                    # errors only

    def run_onnx(model: Any, x: np.ndarray) -> np.ndarray:
        sess = ort.InferenceSession(model.SerializeToString(), options,
                                    providers=["CPUExecutionProvider"])
        return sess.run(["y"], {"x": x.astype(np.float32)})[0]

    print(f"fastlstm {fastlstm.__version__}, torch {torch.__version__}, onnx "
          f"{onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    print(f"{cpu()}, {platform.system()}, "
          f"python {platform.python_version()}, "
          f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"{args.nets} random nets per row, T in [1, {args.T}], seed {args.seed}\n")

    rng = np.random.default_rng(args.seed)
    worst: Dict[str, float] = {}
    scale: Dict[str, float] = {}

    def note(key: str, a: Any, b: Any) -> None:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        worst[key] = max(worst.get(key, 0.0), float(np.abs(a - b).max(initial=0.0)))
        scale[key] = max(scale.get(key, 0.0), float(np.abs(b).max(initial=0.0)))

    for i in range(args.nets):
        backend = (fastlstm.LSTM, oracle.LSTM)[i % 2]
        net = backend(**random_config(rng), seed=i)
        if rng.integers(2):
            name = str(rng.choice(list(net.params)))
            net.set_mask(name, np.asarray(net.masks[name]) *
                         (rng.random(net.masks[name].shape) < 0.7))
        T = int(rng.integers(1, args.T + 1))
        x = rng.uniform(-1, 1, (T, net.I))
        y = targets(rng, net, T)
        mask = rng.random(T) < 0.7
        module = net.to_torch_module()
        with torch.no_grad():
            note("torch module: forward (float64)", module(x).numpy(), net.forward(x))
        for truncated in (False, True):
            module.zero_grad()
            loss_t = module.loss(x, y, mask, truncated=truncated)
            loss_t.backward()
            loss, grads, _ = net.gradient(x, y, mask, truncated=truncated)
            kind = "truncated" if truncated else "exact"
            got = np.concatenate([getattr(module, n).grad.numpy().ravel() for n in grads])
            want = np.concatenate([np.ravel(grads[n]) for n in grads])
            note(f"torch module: {kind} gradient vs autograd", got, want)
            note(f"torch module: {kind} loss", float(loss_t.detach()), loss)
        xb = rng.uniform(-1, 1, (2, T, net.I))
        note("ONNX Scan graph (float32)", run_onnx(net.to_onnx(op="scan"), xb),
             net.forward(xb))
    for cell in ("1997", "forget", "peepholes"):
        for i in range(args.nets // 3):
            net = fastlstm.LSTM(**lstm_op_config(rng, cell), seed=i)
            T = int(rng.integers(1, args.T + 1))
            xb = rng.uniform(-1, 1, (int(rng.integers(1, 4)), T, net.I))
            note(f"ONNX LSTM operator, {cell} cell (float32)",
                 run_onnx(net.to_onnx(op="lstm"), xb), net.forward(xb))

    width = max(map(len, worst))
    print(f"{'comparison':<{width}}  max |diff|  max |value|")
    for key in worst:
        print(f"{key:<{width}}  {worst[key]:10.2e}  {scale[key]:11.3g}")


if __name__ == "__main__":
    main()
