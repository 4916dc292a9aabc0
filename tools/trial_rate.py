"""Seconds per training sequence of some rows: the trial records against the current code.

For each row, the records ``<out>/<row>/trial-*.json`` give the old rate (summed
``wall_time`` over summed ``sequences_at_stop`` or ``sequences``); the current code runs
trial 0 of the row capped at ``--sequences`` (or its whole cap if smaller) and gives the
new rate.  The projection multiplies the new rate by the records' mean sequences per
trial and by the paper's trial count (``Row.trials``): valid where the trials' sequence
counts are those of the records, which holds for code that keeps every trial's result
bit for bit.  The old rate comes from the records' own runs (other days, other loads):
compare rates side by side in one run for a speed-up figure.

Usage::

    python tools/trial_rate.py ROW [ROW ...] [--out results] [--sequences 3000]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import time
from typing import List


def main(argv: List[str]) -> int:
    from fastlstm.experiments import ROWS
    from fastlstm.experiments.runner import run_trial

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rows", nargs="+")
    ap.add_argument("--out", default="results", help="folder of the trial records")
    ap.add_argument("--sequences", type=int, default=3000,
                    help="training sequences of the timed run (default 3000)")
    args = ap.parse_args(argv)
    print("| row | old s/seq | new s/seq | speed-up | old s/trial | new s/trial (est.) | "
          "paper trials | new core-h (est.) |")
    print("|---|---|---|---|---|---|---|---|")
    for rid in args.rows:
        row = ROWS[rid]
        walls, seqs = [], []
        for path in sorted(glob.glob(os.path.join(args.out, rid, "trial-*.json"))):
            with open(path) as f:
                rec = json.load(f)
            walls.append(float(rec["wall_time"]))
            seqs.append(int(rec.get("sequences_at_stop") or rec["sequences"]))
        cap = min(args.sequences, row.cap)
        t0 = time.perf_counter()
        rec = run_trial(rid, 0, 0, cap)
        wall = time.perf_counter() - t0
        n = int(rec.get("sequences_at_stop") or rec["sequences"])
        new = wall / n
        if not walls:
            print(f"| {rid} | - | {new * 1e3:.3f} ms | - | - | - | {row.trials} | - |")
            continue
        old = sum(walls) / sum(seqs)
        mean_old = statistics.fmean(walls)
        est = new * statistics.fmean(seqs)
        print(f"| {rid} | {old * 1e3:.3f} ms | {new * 1e3:.3f} ms | {old / new:.1f}x | "
              f"{mean_old:,.0f} | {est:,.0f} | {row.trials} | {est * row.trials / 3600:.2f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
