"""``python -m fastlstm reproduce EXPERIMENT|all [options]``: run the paper's experiments.

Exit codes: 0 done, 1 a trial raised, 2 bad arguments (unknown experiment name, ...).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import uuid

from . import ABLATIONS, EXPERIMENTS, ROWS

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fastlstm reproduce",
        description="Reproduce the LSTM rows of Tables 1-9 of Hochreiter & Schmidhuber "
                    "(1997): per-trial JSON under --out, then a markdown report beside the "
                    "paper's figures.",
        epilog="experiments: all, " + ", ".join(EXPERIMENTS) + "; or row ids: "
               + ", ".join(ROWS))
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help="'all', an experiment name or a row id (several allowed)")
    p.add_argument("--trials", type=int, default=None,
                   help="trials per row (default: the paper's count where it fits in about "
                        "an hour, else 3)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: one per core; 1 runs in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="Dask scheduler address (tcp://host:8786); needs the 'dask' extra")
    p.add_argument("--max-sequences", type=int, default=None, metavar="N",
                   help="cap on training sequences per trial (default: each row's cap)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="directory of the per-trial JSON (default: results)")
    p.add_argument("--ablation", choices=ABLATIONS, default=None,
                   help="train with schedule 'sequence' or with the exact BPTT gradient")
    p.add_argument("--report", default="docs/reproduction.md", metavar="PATH",
                   help="markdown report to (re)write (default: docs/reproduction.md)")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="directory of the PNG plots (default: beside the report, "
                        "<report without .md>/)")
    p.add_argument("--notes", default=None, metavar="PATH",
                   help="markdown file appended to the report (findings)")
    p.add_argument("--report-only", action="store_true",
                   help="only regenerate the report from the existing JSON")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.add_argument("--no-resume", action="store_true",
                   help="rerun trials whose JSON exists")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    p.add_argument("--list", action="store_true", help="list the rows and exit")
    return p


def _list_rows(out=None):
    out = out or sys.stdout
    for rid, r in ROWS.items():
        print(f"{rid:18s} {r.table:8s} {r.label:26s} paper: {r.trials} trials, "
              f"{r.paper['sequences']:,} seq; default {r.default_trials} trials, "
              f"cap {r.cap:,}", file=out)


def main(argv=None) -> int:
    from .report import write_report
    from .rows import resolve
    from .runner import make_executor, run

    p = build_parser()
    args = p.parse_args(argv)
    if args.list:
        _list_rows()
        return 0
    for name in ("trials", "jobs", "max_sequences"):
        v = getattr(args, name)
        if v is not None and v < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {v}")
    if args.seed < 0:
        p.error("--seed must be >= 0")
    plots = args.plots or os.path.splitext(args.report)[0]
    if args.report_only:
        write_report(args.out, args.report, plots, args.notes)
        return 0
    if not args.experiments:
        p.error("name an experiment ('all', " + ", ".join(EXPERIMENTS) + ") or use "
                "--report-only / --list")
    try:
        row_ids = resolve(args.experiments)
    except ValueError as exc:
        p.error(str(exc))
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "commands.jsonl")
    cmd_id = uuid.uuid4().hex[:12]
    command = "python -m fastlstm reproduce " + " ".join(shlex.quote(a) for a in
                                                          (argv if argv is not None
                                                           else sys.argv[1:]))
    t0 = time.time()
    with open(log_path, "a") as f:
        f.write(json.dumps({"id": cmd_id, "command": command, "rows": row_ids,
                            "started": time.strftime("%Y-%m-%d %H:%M:%S",
                                                     time.gmtime(t0))}) + "\n")
    try:
        executor, close = make_executor(args.jobs, args.scheduler)
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = 0
    try:
        run(row_ids, args.trials, seed=args.seed, out_dir=args.out,
            max_sequences=args.max_sequences, ablation=args.ablation, executor=executor,
            progress=not args.no_progress, resume=not args.no_resume,
            log=lambda m: print(m, flush=True))
    except KeyboardInterrupt:
        print("interrupted; finished trials are saved", file=sys.stderr)
        status = 130
    except Exception as exc:               # a trial raised: report, keep what is saved
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        status = 1
    finally:
        close()
        with open(log_path, "a") as f:
            f.write(json.dumps({"id": cmd_id, "wall": time.time() - t0,
                                "status": status}) + "\n")
    if not args.no_report:
        write_report(args.out, args.report, plots, args.notes)
    return status


if __name__ == "__main__":
    sys.exit(main())
