"""Side-by-side timing of trials under the current code and a baseline source tree.

For each row, trial ``--trial`` capped at ``--sequences`` runs in fresh processes under
the current code and under ``--baseline`` (a folder holding the baseline's ``fastlstm``
package, put first on PYTHONPATH), alternating, ``--rounds`` times each; the minimum of
each side's trial ``wall_time`` gives the ratio (the machine's load drifts; the rounds
are interleaved).  The two records must be the same except for the run's time stamps
(``same`` in the table: the code change kept the trial's result bit for bit).  The
projection applies the ratio to the mean ``wall_time`` of the row's records under
``--out`` and multiplies by the paper's trial count (``Row.trials``).

Usage::

    python tools/trial_compare.py ROW [ROW ...] --baseline OLD/src [--sequences 5000]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

_SNIPPET = """
import json, sys
from fastlstm.experiments.runner import run_trial
r = run_trial(sys.argv[1], int(sys.argv[2]), 0, int(sys.argv[3]) or None)
w = r.pop("wall_time"); r.pop("started"); r.pop("fastlstm")
print(json.dumps({"wall": w, "record": r}, sort_keys=True))
"""


def _run(row: str, trial: int, cap: int, pythonpath: Optional[str]) -> Dict[str, Any]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _SNIPPET, row, str(trial), str(cap)],
                         env=env, capture_output=True, text=True, check=True)
    res: Dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return res


def _records_mean(out: str, row: str) -> Tuple[int, float]:
    walls = []
    for path in sorted(glob.glob(os.path.join(out, row, "trial-*.json"))):
        with open(path) as f:
            walls.append(float(json.load(f)["wall_time"]))
    return len(walls), (statistics.fmean(walls) if walls else float("nan"))


def main(argv: List[str]) -> int:
    from fastlstm.experiments import ROWS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rows", nargs="+")
    ap.add_argument("--baseline", required=True,
                    help="folder holding the baseline's fastlstm package (its compiled "
                         "_core included)")
    ap.add_argument("--out", default="results", help="folder of the trial records")
    ap.add_argument("--sequences", type=int, default=5000,
                    help="cap on training sequences of the timed trials (0: the row's)")
    ap.add_argument("--trial", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    print("| row | baseline s | current s | speed-up | same | records: trials, mean "
          "s/trial | est. s/trial now | paper trials | est. core-h now |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = 0.0
    for rid in args.rows:
        row = ROWS[rid]
        cap = min(args.sequences, row.cap) if args.sequences else 0
        base: List[float] = []
        cur: List[float] = []
        same = True
        for _ in range(args.rounds):
            b = _run(rid, args.trial, cap, args.baseline)
            c = _run(rid, args.trial, cap, None)
            base.append(b["wall"])
            cur.append(c["wall"])
            same &= b["record"] == c["record"]
        ratio = min(cur) / min(base)
        n, mean = _records_mean(args.out, rid)
        est = mean * ratio
        core_h = est * row.trials / 3600
        total += core_h if n else 0.0
        print(f"| {rid} | {min(base):.2f} | {min(cur):.2f} | {1 / ratio:.2f}x | "
              f"{'yes' if same else 'NO'} | {n}, {mean:,.1f} | {est:,.1f} | {row.trials} | "
              f"{core_h:.2f} |", flush=True)
    print(f"\nestimated total of these rows: {total:.2f} core-hours")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
