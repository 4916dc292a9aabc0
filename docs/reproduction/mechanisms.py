"""The figures of the reproduction notes: what happens inside the nets of Exp. 1 and 2a.

Runs a few trials of ``fastlstm.experiments`` (the same seeds as trial 0 of the rows) and
records, every few hundred training sequences, the cell states and gate activations of
the net on fixed probe sequences (computed with the numpy oracle's forward step from the
net's current weights).  Writes three PNGs beside this file::

    python docs/reproduction/mechanisms.py            # needs matplotlib (extra 'plot')

* ``mech-drift-2a.png``: Exp. 2a, p = 100: the cell state and the cell-to-output weights,
  the paper's protocol against the drift remedy (input-gate bias -3);
* ``mech-abuse-reber.png``: Exp. 1, 3 blocks x 2, lr 0.5, the paper's wiring: per block,
  the largest |s| and the input gate's activation when the T/P symbol is read;
* ``mech-wiring-reber.png``: the same trial with the output-wiring ablation.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from fastlstm import oracle
from fastlstm._base import MODE_FORWARD
from fastlstm.experiments import protocols, run_trial
from fastlstm.tasks import get_task
from fastlstm.tasks.reber import ReberTask, embedded_reber_string

HERE = os.path.dirname(os.path.abspath(__file__))


def trace(net: Any, x: np.ndarray) -> Dict[str, np.ndarray]:
    """Cell states s (T, C) and input-gate activations (T, B) over one sequence."""
    state = oracle.new_state(net)
    s, y_in = [], []
    I, C, B = net.I, net.C, net.B
    for x_t in x:
        oracle.step(net, state, x_t, None, 0.0, MODE_FORWARD, None)
        s.append(state["s"].copy())
        y_in.append(state["z"][1 + I + C:1 + I + C + B].copy())
    return {"s": np.array(s), "y_in": np.array(y_in)}


def observe(row: str, trial: int, cap: int, ablation: Optional[str], every: int,
            probe: Callable[[Any], Dict[str, float]]) -> List[Dict[str, float]]:
    """Run trial ``trial`` of ``row`` to ``cap`` sequences, calling ``probe(net)`` every
    ``every`` training sequences; return the probes (with their sequence count)."""
    points: List[Dict[str, float]] = []
    real = protocols._Learner

    class Observed(real):  # type: ignore[misc, valid-type]
        def __init__(self, net: Any, lr: float, abl: Optional[str]) -> None:
            super().__init__(net, lr, abl)
            inner, count = self.learn, [0]

            def learn(x: Any, y: Any, mask: Any) -> Any:
                out = inner(x, y, mask)
                count[0] += 1
                if count[0] % every == 0:
                    points.append({"n": count[0], **probe(net)})
                return out
            self.learn = learn

    protocols._Learner = Observed
    try:
        rec = run_trial(row, trial, max_sequences=cap, ablation=ablation)
    finally:
        protocols._Learner = real
    print(f"{row} {ablation or 'paper'} trial {trial}: {rec['stop_reason']} after "
          f"{rec['sequences']} sequences", file=sys.stderr)
    points.append({"n": -1, "success": float(rec["success"]),
                   "sequences": float(rec["sequences"])})
    return points


def drift_2a(plt: Any) -> None:
    task = get_task("lag2a", p=100)
    rng = np.random.default_rng(0)
    xs = [task.sample(rng).x for _ in range(2)]

    def probe(net: Any) -> Dict[str, float]:
        s = np.concatenate([trace(net, x)["s"][:, 0] for x in xs])
        col = 1 + net.I
        return {"s_max": float(np.abs(s).max()),
                "wk_max": float(np.abs(net.params["W_k"][:, col]).max())}

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for abl, color in ((None, "tab:blue"), ("drift-remedy", "tab:olive")):
        pts = observe("2a-p100", 0, 45_000, abl, 250, probe)
        end = pts.pop()
        n = [p["n"] for p in pts]
        lab = (abl or "paper's protocol") + (
            f" (success after {end['sequences']:,.0f})" if end["success"] else " (no success)")
        axes[0].plot(n, [p["s_max"] for p in pts], color=color, label=lab)
        axes[1].plot(n, [p["wk_max"] for p in pts], color=color, label=lab)
    axes[0].set_ylabel("largest |s| on two probe sequences")
    axes[1].set_ylabel("largest |cell-to-output weight|")
    for a in axes:
        a.set_xlabel("training sequences")
        a.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle("Exp. 2a, p = 100, trial 0: internal state drift (h = identity)", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "mech-drift-2a.png"), dpi=80)
    plt.close(fig)


def reber(plt: Any, ablation: Optional[str], name: str, title: str) -> None:
    rng = np.random.default_rng(0)
    task = ReberTask()
    exs = [task.example(embedded_reber_string(rng)) for _ in range(40)]

    def probe(net: Any) -> Dict[str, float]:
        tr = [trace(net, e.x) for e in exs]
        s_max = np.max([np.abs(t["s"]).max(axis=0) for t in tr], axis=0)     # (C)
        gate_tp = np.mean([t["y_in"][1] for t in tr], axis=0)                # (B) reads T/P
        gate_all = np.mean([t["y_in"].mean(axis=0) for t in tr], axis=0)     # (B)
        out: Dict[str, float] = {}
        for b in range(net.B):
            out[f"s{b}"] = float(s_max[b * net.S:(b + 1) * net.S].max())
            out[f"tp{b}"] = float(gate_tp[b])
            out[f"all{b}"] = float(gate_all[b])
        return out

    pts = observe("reber-3x2-lr0.5", 0, 30_000, ablation, 250, probe)
    end = pts.pop()
    n = [p["n"] for p in pts]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for b, color in enumerate(("tab:blue", "tab:orange", "tab:green")):
        axes[0].plot(n, [p[f"s{b}"] for p in pts], color=color, label=f"block {b}")
        axes[1].plot(n, [p[f"all{b}"] for p in pts], color=color)
        axes[2].plot(n, [p[f"tp{b}"] for p in pts], color=color)
    axes[0].set_ylabel("largest |s| (40 probe strings)")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("input gate, mean over all steps")
    axes[2].set_ylabel("input gate when T/P is read")
    for a in axes:
        a.set_xlabel("training strings")
    axes[0].legend(fontsize=7)
    res = (f"success after {end['sequences']:,.0f} strings" if end["success"]
           else f"no success in {end['sequences']:,.0f} strings")
    fig.suptitle(f"{title} ({res})", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, name), dpi=80)
    plt.close(fig)


def main() -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    which = sys.argv[1:] or ["drift", "abuse", "wiring"]
    if "drift" in which:
        drift_2a(plt)
    if "abuse" in which:
        reber(plt, None, "mech-abuse-reber.png",
              "Exp. 1, 3 blocks x 2, lr 0.5, trial 0, the paper's wiring")
    if "wiring" in which:
        reber(plt, "output-wiring", "mech-wiring-reber.png",
              "Exp. 1, 3 blocks x 2, lr 0.5, trial 0, output-wiring ablation")


if __name__ == "__main__":
    main()
