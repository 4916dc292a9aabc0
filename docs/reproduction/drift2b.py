"""Why the drift remedy that lets Exp. 2a learn does not help Exp. 2b: numbers for the notes.

Runs trial ``TRIAL`` of the rows 2a-p100 and 2b-p100 under the ablation ``drift-remedy``
(the same seeds as the tables' trials) for ``CAP`` training sequences and probes the net
every ``EVERY`` sequences on 40 fixed probe sequences of its task (20 starting with x, 20
with y), with the numpy oracle's forward step from the net's current weights.  Prints per
probe point:

* ``gate0`` / ``gate_mid``: the input gate's mean activation at the first step (when x or
  y is read) and over the middle steps;
* ``s_x`` / ``s_y``: the mean cell state at the last step of the x- and y-sequences, and
  ``sd``: its standard deviation within a class (pooled); ``sep`` = |s_x - s_y| / sd;
* ``w_x`` / ``w_y``: the cell-to-output weights of the x and y output units;
* ``right``: the fraction of the probe sequences whose last prediction is right
  (every output within 0.25 of its target, the success rule's test).

Run: ``python docs/reproduction/drift2b.py [TRIAL [CAP [EVERY]]]`` (default 0 30000 2500).

Two diagnostics of 2b with the drift remedy (not the tables' protocol), trials 0-2 of
2b-p100 by default: ``python docs/reproduction/drift2b.py --final-only [CAP]`` trains on
the target of the last step only (the middle steps' targets masked out), and
``python docs/reproduction/drift2b.py --late [CAP]`` lets the plateau rule compare blocks
of 3,500 sequences instead of 200, so the cell is connected after 7,000 or more
sequences, as in 2a.  Each prints success, sequences, when the cell was connected and
the last block's training error and fraction wrong.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mechanisms import observe, trace  # noqa: E402

from fastlstm.experiments import protocols  # noqa: E402
from fastlstm.experiments.runner import trial_seed  # noqa: E402
from fastlstm.tasks import get_task  # noqa: E402


def probe_for(variant: str) -> Any:
    task = get_task(variant, p=100)
    rng = np.random.default_rng(1)
    exs = []
    while len(exs) < 40:
        e = task.sample(rng)
        if sum(1 for f in exs if f.info["class"] == e.info["class"]) < 20:
            exs.append(e)
    cls = np.array([e.info["class"] for e in exs])
    ix, iy = 99, 100                        # the x and y units (codes p - 1 and p)

    def probe(net: Any) -> Dict[str, float]:
        tr = [trace(net, e.x) for e in exs]
        s_end = np.array([t["s"][-1, 0] for t in tr])
        sx, sy = s_end[cls == 0], s_end[cls == 1]
        sd = float(np.sqrt((sx.var() + sy.var()) / 2))
        col = 1 + net.I
        right = np.mean([np.all(np.abs(net.forward(e.x)[-1] - e.y[-1]) < 0.25)
                         for e in exs])
        return {"gate0": float(np.mean([t["y_in"][0, 0] for t in tr])),
                "gate_mid": float(np.mean([t["y_in"][1:-1, 0].mean() for t in tr])),
                "s_x": float(sx.mean()), "s_y": float(sy.mean()), "sd": sd,
                "sep": abs(float(sx.mean() - sy.mean())) / max(sd, 1e-12),
                "w_x": float(net.params["W_k"][ix, col]),
                "w_y": float(net.params["W_k"][iy, col]), "right": float(right)}
    return probe


def variants(mode: str, cap: int, trials: range = range(3)) -> None:
    """The ``--final-only`` and ``--late`` diagnostics of 2b-p100 with the drift remedy."""
    # --final-only is the ablation "last-target" (the drift remedy, the last target only)
    ablation = "last-target" if mode == "--final-only" else "drift-remedy"
    block = 3500 if mode == "--late" else 200
    for t in trials:
        r = protocols._lag2_trial("lag2b", 100, seed=trial_seed(0, "2b-p100", t),
                                  max_sequences=cap, ablation=ablation,
                                  progress=False, plateau_block=block)
        c = r["curve"]
        print(f"2b-p100 {ablation} {mode} trial {t}: success {r['success']}, "
              f"sequences {r['sequences']:,}, cell connected after "
              f"{r['cell_added_at']:,}, last block: training error "
              f"{c['train_abs_error'][-1]:.4f}, wrong {c['train_wrong'][-1]:.2f}",
              flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("--"):
        variants(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 60_000)
        return
    trial = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    cap = int(sys.argv[2]) if len(sys.argv) > 2 else 30_000
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 2_500
    for row, variant in (("2a-p100", "lag2a"), ("2b-p100", "lag2b")):
        pts = observe(row, trial, cap, "drift-remedy", every, probe_for(variant))
        end = pts.pop()
        print(f"{row} drift-remedy trial {trial} (success {bool(end['success'])}, "
              f"sequences {end['sequences']:,.0f})")
        print("      n  gate0 gate_mid     s_x     s_y      sd     sep     w_x     w_y right")
        for p in pts:
            print(f"{p['n']:7.0f} {p['gate0']:6.3f} {p['gate_mid']:8.3f} {p['s_x']:7.2f} "
                  f"{p['s_y']:7.2f} {p['sd']:7.3f} {p['sep']:7.2f} {p['w_x']:7.2f} "
                  f"{p['w_y']:7.2f} {p['right']:5.2f}")


if __name__ == "__main__":
    main()
