"""``python -m fastlstm reproduce EXPERIMENT|all --out DIR [options]``: run the paper's
experiments.

Everything goes under ``--out``: one JSON per trial, the command log
(``commands.jsonl``), the markdown report (``reproduction.md``) and its plots
(``reproduction/``), unless ``--report``/``--plots`` name other places.

Exit codes: 0 done, 1 a trial raised or the report could not be written, 2 bad
arguments (a one-line message), 130 interrupted (Ctrl-C: finished trials are kept, the
report is written from them).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
import uuid
from typing import IO, Any, Callable, List, NoReturn, Optional, Sequence, Union

from . import ABLATIONS, EXPERIMENTS, ROWS

__all__ = ["main", "build_parser", "OneLineParser"]


class OneLineParser(argparse.ArgumentParser):
    """An ``argparse.ArgumentParser`` whose errors are one line on stderr (no usage
    block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _trials_arg(text: str) -> Union[int, str]:
    """--trials: an integer (checked >= 1 by main) or 'paper'."""
    if text == "paper":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of trials or 'paper', got {text!r}") from None


def build_parser() -> OneLineParser:
    """The parser of ``python -m fastlstm reproduce``."""
    p = OneLineParser(
        prog="python -m fastlstm reproduce",
        description="Reproduce the LSTM rows of Tables 1-9 of Hochreiter & Schmidhuber "
                    "(1997): per-trial JSON, the command log, a markdown report beside the "
                    "paper's figures and its plots, all under --out.",
        epilog="experiments: all, " + ", ".join(EXPERIMENTS) + "; or row ids: "
               + ", ".join(ROWS))
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                   help="'all', an experiment name or a row id (several allowed)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder of everything written (required): the per-trial JSON "
                        "(an existing trial is resumed), commands.jsonl, reproduction.md "
                        "and reproduction/*.png")
    p.add_argument("--trials", type=_trials_arg, default=None, metavar="N|paper",
                   help="trials per row, or 'paper' for each row's count in the paper "
                        "(default: the paper's count where it fits in about an hour, "
                        "else 3)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: one per core; 1 runs in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="Dask scheduler address (tcp://host:8786); needs the 'dask' extra")
    p.add_argument("--max-sequences", type=int, default=None, metavar="N",
                   help="cap on training sequences per trial (default: each row's cap)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--ablation", choices=ABLATIONS, default=None,
                   help="a named deviation from the paper's protocol, its trials kept "
                        "apart (DIR/<row>--<ablation>/): 'sequence' (updates at the "
                        "sequence end), 'full-gradient' (the exact BPTT gradient), "
                        "'swapped-squash' (g and h as in Table 10's caption); Reber rows "
                        "only: 'distinct-sets' (512 distinct strings instead of the "
                        "literal reading), 'output-wiring' (output bias and input-to-"
                        "output connections); 2a, 2b, 2c only: 'drift-remedy' (input "
                        "gates biased towards zero, the paper's section 4 remedy); 2b "
                        "only: 'last-target' (the drift remedy, the last step's target "
                        "only); 3c "
                        "only: 'noise-free-signal' (the first N inputs exactly +-1 as in "
                        "3a); 3a, 3b, 3c only: 'fixed-test-set' (one test set per trial, "
                        "reused at every check)")
    p.add_argument("--report", default=None, metavar="PATH",
                   help="markdown report to (re)write (default: DIR/reproduction.md)")
    p.add_argument("--plots", default=None, metavar="PLOTDIR",
                   help="folder of the PNG plots (default: beside the report, "
                        "<report without .md>/)")
    p.add_argument("--notes", default=None, metavar="PATH",
                   help="markdown file appended to the report (findings)")
    p.add_argument("--report-only", action="store_true",
                   help="only regenerate the report from the JSON under --out")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.add_argument("--no-resume", action="store_true",
                   help="rerun trials whose JSON exists")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    p.add_argument("--list", action="store_true", help="list the rows and exit")
    return p


def _list_rows(out: Optional[IO[str]] = None) -> None:
    out = out or sys.stdout
    for rid, r in ROWS.items():
        seq = r.paper.get("sequences")
        print(f"{rid:18s} {r.table:8s} {r.label:26s} paper: {r.trials} trials, "
              f"{'-' if seq is None else f'{seq:,}'} seq; default {r.default_trials} "
              f"trials, cap {r.cap:,}", file=out)


def _writable_folder(path: str) -> Optional[str]:
    """Create ``path`` if needed; None if files can be written in it, else the reason."""
    if os.path.exists(path) and not os.path.isdir(path):
        return "exists and is not a folder"
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return f"cannot write there ({exc.strerror or exc})"
    return None


def _report(write_report: Callable[..., Any], out: str, report: str, plots: str,
            notes: Optional[str]) -> int:
    """Write the report; 0, or 1 with a one-line message if it could not be written."""
    try:
        write_report(out, report, plots, notes)
    except OSError as exc:
        print(f"error: could not write the report {report}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``python -m fastlstm reproduce`` with the options ``argv``.

    Parameters
    ----------
    argv : sequence of str, optional
        The options (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status (see the module docstring).  Bad options raise SystemExit(2) after a
        one-line message.
    """
    from .report import write_report
    from .rows import resolve
    from .runner import make_executor, run, stop_executor

    p = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(argv)
    if args.list:
        _list_rows()
        return 0
    for name in ("trials", "jobs", "max_sequences"):
        v = getattr(args, name)
        if v is not None and v != "paper" and v < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {v}")
    if args.seed < 0:
        p.error("--seed must be >= 0")
    if not args.experiments and not args.report_only:
        p.error("name an experiment ('all', " + ", ".join(EXPERIMENTS) + ") or use "
                "--report-only / --list")
    row_ids: List[str] = []
    if not args.report_only:
        try:
            row_ids = resolve(args.experiments)
        except ValueError as exc:
            p.error(str(exc))
    if args.ablation is not None:
        from .protocols import ablation_applies
        bad = [r for r in row_ids if not ablation_applies(args.ablation, ROWS[r].experiment)]
        if bad:
            from .protocols import ABLATION_EXPERIMENTS
            p.error(f"--ablation {args.ablation} applies to the experiment(s) "
                    f"{', '.join(ABLATION_EXPERIMENTS[args.ablation])} only, not to "
                    f"{', '.join(bad)}")
    if args.out is None:
        p.error("--out DIR is required: the trial JSON, the command log, the report and "
                "its plots are written under DIR")
    if args.notes is not None and not os.path.isfile(args.notes):
        p.error(f"--notes {args.notes}: no such file")
    report = args.report or os.path.join(args.out, "reproduction.md")
    plots = args.plots or os.path.splitext(report)[0]
    if args.report_only:
        if not os.path.isdir(args.out):
            p.error(f"--out {args.out}: no such folder (nothing to report)")
        return _report(write_report, args.out, report, plots, args.notes)
    problem = _writable_folder(args.out)
    if problem:
        p.error(f"--out {args.out}: {problem}")
    log_path = os.path.join(args.out, "commands.jsonl")
    cmd_id = uuid.uuid4().hex[:12]
    command = "python -m fastlstm reproduce " + " ".join(shlex.quote(a) for a in argv)
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
        stop_executor(executor)
        print(f"\ninterrupted: the finished trials are saved under {args.out} (the same "
              "command resumes)", file=sys.stderr)
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
        status = _report(write_report, args.out, report, plots, args.notes) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
