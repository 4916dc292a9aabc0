"""Estimate the wall time of the whole reproduction at the paper's trial counts.

For every row of :data:`fastlstm.experiments.ROWS` (and every ablation folder found),
reads the trial records ``<out>/<row>[--<ablation>]/trial-*.json`` and reports the mean
``wall_time`` per trial, the paper's trial count (``Row.trials``) and their product in
core-hours; the total is also given for ``--jobs`` workers (perfect packing, a lower
bound).  Rows without records are listed as such.

Usage::

    python tools/trial_budget.py [--out results] [--jobs 2] [--ablations]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
from typing import Dict, List, Tuple


def row_times(out: str, folder: str) -> List[float]:
    """Wall times (s) of the trial records in ``out/folder``."""
    times = []
    for path in sorted(glob.glob(os.path.join(out, folder, "trial-*.json"))):
        try:
            with open(path) as f:
                rec = json.load(f)
        except (OSError, ValueError):
            continue
        w = rec.get("wall_time")
        if isinstance(w, (int, float)):
            times.append(float(w))
    return times


def main(argv: List[str]) -> int:
    from fastlstm.experiments import ROWS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="results", help="folder of the trial records")
    ap.add_argument("--jobs", type=int, default=2, help="workers for the wall estimate")
    ap.add_argument("--ablations", action="store_true",
                    help="also the ablation folders (<row>--<ablation>)")
    args = ap.parse_args(argv)
    lines: List[Tuple[float, str]] = []
    total = 0.0
    folders: Dict[str, str] = {rid: rid for rid in ROWS}
    if args.ablations and os.path.isdir(args.out):
        for sub in sorted(os.listdir(args.out)):
            rid = sub.split("--")[0]
            if "--" in sub and rid in ROWS:
                folders[sub] = rid
    missing = []
    for folder, rid in folders.items():
        row = ROWS[rid]
        t = row_times(args.out, folder)
        if not t:
            missing.append(folder)
            continue
        mean = statistics.fmean(t)
        core_h = mean * row.trials / 3600
        total += core_h
        lines.append((core_h, f"| {folder} | {len(t)} | {mean:,.1f} | {max(t):,.1f} | "
                              f"{row.trials} | {core_h:.2f} |"))
    print("| row | trials run | mean s/trial | max s/trial | paper trials | core-h |")
    print("|---|---|---|---|---|---|")
    for _, line in sorted(lines, reverse=True):
        print(line)
    print(f"\ntotal {total:.1f} core-hours; {total / args.jobs:.1f} h on {args.jobs} "
          f"workers (perfect packing)")
    if missing:
        print("no records: " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
