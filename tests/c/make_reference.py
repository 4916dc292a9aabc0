"""Write tests/c/reference.txt: numbers computed by the Python package (fastlstm.LSTM) that
the C test test_reference.c recomputes through the C API from the same weights and inputs.

    python tests/c/make_reference.py            # rewrites tests/c/reference.txt

Each record is one line ``name n v_1 ... v_n`` (floats written with repr, so they read
back exactly); a case starts with ``case`` and ends with ``end``.  Per case: the dims,
the topology options, the weights and masks as fastlstm.LSTM built them, the inputs, and
the outputs of forward, train_sequence ("step" and "sequence"), gradient (exact and
truncated) and train_batch (2 threads).
"""
from __future__ import annotations

import pathlib
import sys
from typing import Any

import numpy as np

import fastlstm
from fastlstm._base import G_CHOICES, GROUPS, H_CHOICES, OUT_CHOICES

OUT = pathlib.Path(__file__).resolve().parent / "reference.txt"

CASES: list[dict[str, Any]] = [
    # the adding problem's net (python -m fastlstm demo), a target at the last step only
    dict(name="adding", T=30, lr=0.5, target="last",
         net=dict(n_in=2, n_out=1, n_blocks=2, block_size=2, init_range=0.1,
                  in_gate_bias=[-3.0, -6.0], seed=1)),
    dict(name="no_output_gate", T=12, lr=0.1, target="random",
         net=dict(n_in=3, n_out=2, n_blocks=2, block_size=3, output_gate=False,
                  input_to_output=True, bias=("cells", "outputs"), g="tanh", h="id",
                  out="linear", init_range=0.3, seed=2)),
    dict(name="not_recurrent", T=8, lr=0.2, target="all",
         net=dict(n_in=4, n_out=3, n_blocks=3, block_size=1, recurrent=False,
                  bias=("gates",), g="g1", h="tanh", init_range=0.5,
                  out_gate_bias=[1.0, -1.0, 0.5], seed=3)),
]
N_BATCH = 5


def _targets(kind: str, T: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "last":
        m = np.zeros(T, dtype=bool)
        m[-1] = True
    elif kind == "all":
        m = np.ones(T, dtype=bool)
    else:
        m = rng.random(T) < 0.5
        m[-1] = True
    return m


def _record(f, name: str, values) -> None:
    flat = np.asarray(values, dtype=np.float64).ravel()
    f.write(f"{name} {flat.size} " + " ".join(repr(float(v)) for v in flat) + "\n")


def main() -> int:
    rng = np.random.default_rng(1997)
    with open(OUT, "w") as f:
        f.write(f"# written by tests/c/make_reference.py with fastlstm "
                f"{fastlstm.__version__}; do not edit\n")
        for case in CASES:
            kw = case["net"]
            net = fastlstm.LSTM(**kw)
            c = net.config
            T, I, K = case["T"], net.I, net.K
            bias = sum(1 << GROUPS.index(g) for g in c["bias"])   # LSTM97_BIAS_* flags
            x = rng.uniform(-1, 1, size=(T, I))
            y = rng.uniform(0, 1, size=(T, K))
            tmask = _targets(case["target"], T, rng)
            xb = rng.uniform(-1, 1, size=(N_BATCH, T, I))
            yb = rng.uniform(0, 1, size=(N_BATCH, T, K))
            mb = np.stack([_targets(case["target"], T, rng) for _ in range(N_BATCH)])

            f.write(f"case 1 {CASES.index(case)}\n")
            _record(f, "dims", [I, K, net.B, net.S, int(c["output_gate"]),
                                G_CHOICES.index(c["g"]), H_CHOICES.index(c["h"]),
                                OUT_CHOICES.index(c["out"])])
            _record(f, "topology", [int(c["recurrent"]), int(c["input_to_output"]), bias])
            _record(f, "T", [T])
            _record(f, "lr", [case["lr"]])
            _record(f, "params", net._theta)
            _record(f, "masks", net._mask)
            _record(f, "x", x)
            _record(f, "y", y)
            _record(f, "tmask", tmask)
            _record(f, "forward", net.forward(x))
            for schedule in ("step", "sequence"):
                n2 = fastlstm.LSTM(**kw)
                out = n2.train_sequence(x, y, tmask, lr=case["lr"], schedule=schedule)
                _record(f, f"train_{schedule}_y", out)
                _record(f, f"train_{schedule}_params", n2._theta)
            for truncated in (False, True):
                loss, grads, out = net.gradient(x, y, tmask, truncated=truncated)
                flat = np.zeros(net.n_params)
                for name, g in grads.items():
                    off = net._layout["offsets"][name]
                    flat[off:off + g.size] = g.ravel()
                tag = "truncated" if truncated else "exact"
                _record(f, f"gradient_{tag}_loss", [loss])
                _record(f, f"gradient_{tag}", flat)
            _record(f, "batch_N", [N_BATCH])
            _record(f, "batch_x", xb)
            _record(f, "batch_y", yb)
            _record(f, "batch_tmask", mb)
            n3 = fastlstm.LSTM(**kw)
            out = n3.train_batch(xb, yb, mb, lr=case["lr"], schedule="step", n_threads=2)
            _record(f, "batch_out", out)
            _record(f, "batch_params", n3._theta)
            f.write("end 0\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
