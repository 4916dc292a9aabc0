"""Command line: ``python -m fastlstm demo``, ``python -m fastlstm reproduce ...`` and
``python -m fastlstm --version``.

Every bad option is a one-line error (exit status 2); Ctrl-C ends a command with a
one-line message (exit status 130) after saving what can be saved.
"""
from __future__ import annotations

import collections
import math
import os
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Deque, List, Optional, Sequence

import numpy as np

import fastlstm

if TYPE_CHECKING:
    from fastlstm.experiments.cli import OneLineParser

__all__ = ["main", "demo", "adding_net"]

#: the window of the paper's stopping rule ST3(0.01), in sequences
WINDOW = 2000
#: |error| at or above which an adding sequence counts as wrong (the paper's 0.04)
WRONG = 0.04
#: test sequences after training (the paper's 2560)
N_TEST = 2560
#: where the differences between these runs and the paper's are explained
WHY_DIFFERENT = "docs/reproduction.md (Exp. 4, adding) in the fastlstm source tree"


def adding_net(seed: int, dtype: str = "float64") -> fastlstm.LSTM:
    """The paper's Exp. 4 net: 2 blocks x 2 cells, all non-input units biased (93
    weights), init [-0.1, 0.1], input-gate biases -3 and -6.

    Parameters
    ----------
    seed : int
        Seed of the initial weights.
    dtype : {"float64", "float32"}
        Floating-point type of the net.

    Returns
    -------
    fastlstm.LSTM
    """
    return fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2, init_range=0.1,
                         in_gate_bias=[-3.0, -6.0], dtype=dtype, seed=seed)


def _save_problem(path: str) -> Optional[str]:
    """None if a net can be saved at ``path``, else the reason it cannot (checked by
    creating and removing a temporary file in its folder)."""
    if not path:
        return "empty path"
    if os.path.isdir(path):
        return f"{path} is a directory"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror or exc})"
    return None


def _save(net: fastlstm.LSTM, path: str) -> bool:
    """Save ``net`` at ``path``; on failure save it to a new file in the current folder
    or, failing that, the temporary folder, and say where.  True if ``path`` was
    written."""
    try:
        net.save(path)
        print(f"saved the trained net to {path}")
        return True
    except (OSError, ValueError) as exc:
        print(f"error: could not save to {path}: {exc}", file=sys.stderr)
    for folder in (os.getcwd(), tempfile.gettempdir()):
        fallback = None
        try:
            fd, fallback = tempfile.mkstemp(prefix="fastlstm-demo-", suffix=".npz",
                                            dir=folder)
            os.close(fd)
            net.save(fallback)
        except (OSError, ValueError):
            if fallback is not None and os.path.exists(fallback):
                os.unlink(fallback)
            continue
        print(f"saved the trained net to {fallback} instead", file=sys.stderr)
        return False
    print("error: the trained net could not be saved anywhere", file=sys.stderr)
    return False


class _Window:
    """Absolute errors of the most recent :data:`WINDOW` sequences and how many of them
    are wrong (|error| >= :data:`WRONG`)."""

    def __init__(self) -> None:
        self.errors: Deque[float] = collections.deque(maxlen=WINDOW)
        self.n_wrong = 0

    def add(self, err: float) -> None:
        if len(self.errors) == WINDOW and self.errors[0] >= WRONG:
            self.n_wrong -= 1
        self.errors.append(err)
        self.n_wrong += err >= WRONG

    @property
    def mean(self) -> float:
        return float(np.mean(self.errors)) if self.errors else math.nan

    def solved(self) -> bool:
        """The paper's ST3(0.01): a full window, no wrong sequence, mean below 0.01."""
        return len(self.errors) == WINDOW and self.n_wrong == 0 and self.mean < 0.01

    def label(self) -> str:
        return (f"last {len(self.errors)} seq: mean |error| {self.mean:.4f}, "
                f"wrong {self.n_wrong}")


def _demo_parser() -> OneLineParser:
    from fastlstm.experiments.cli import OneLineParser

    p = OneLineParser(
        prog="python -m fastlstm demo",
        description="Train the adding problem (Exp. 4 of the paper) until its criterion "
                    f"ST3(0.01) (over the {WINDOW} most recent sequences: mean absolute "
                    f"error below 0.01 and none wrong, |error| < {WRONG}) or a cap, then "
                    f"test on {N_TEST} sequences.")
    p.add_argument("--T", type=int, default=100,
                   help="minimal sequence length, >= 20 (default 100; the paper: 100, "
                        "500, 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and data (default 0)")
    p.add_argument("--max-sequences", type=int, default=300_000, metavar="N",
                   help="stop after N training sequences (default 300000)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate (paper: 0.5)")
    p.add_argument("--save", metavar="PATH",
                   help="save the trained net to PATH (checked before training; if the "
                        "save fails, the net goes to a new file in the current or the "
                        "temporary folder)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def demo(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m fastlstm demo [options]``: train the adding problem (Exp. 4).

    Parameters
    ----------
    argv : sequence of str, optional
        The options (default: ``sys.argv[2:]``).

    Returns
    -------
    int
        Exit status: 0 done, 1 the net could not be saved at ``--save`` (it was saved
        elsewhere), 130 interrupted (Ctrl-C; the net is saved if ``--save`` was given).
        Bad options exit with status 2 (SystemExit) and a one-line message.
    """
    from fastlstm.experiments import ROWS
    from fastlstm.tasks import AddingTask

    p = _demo_parser()
    args = p.parse_args(sys.argv[2:] if argv is None else list(argv))
    if args.max_sequences < 1:
        p.error(f"--max-sequences must be >= 1, got {args.max_sequences}")
    if args.seed < 0:
        p.error(f"--seed must be >= 0, got {args.seed}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--lr must be a finite number > 0, got {args.lr}")
    if args.T > 1_000_000:
        p.error(f"--T must be <= 1000000, got {args.T}")
    try:
        task = AddingTask(T=args.T)
    except (TypeError, ValueError) as exc:
        p.error(f"--T: {exc}")
    if args.save is not None:
        problem = _save_problem(args.save)
        if problem:
            p.error(f"--save {args.save}: {problem}")

    net = adding_net(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    window = _Window()
    print(f"adding problem, T = {args.T}: {net} ({net.n_weights} weights), lr {args.lr}, "
          f"stop at ST3(0.01) or {args.max_sequences:,} sequences")
    if not args.no_progress:
        print(f"progress: training sequences; 'last {WINDOW} seq' is the window of "
              f"ST3(0.01): mean absolute error and number wrong (|error| >= {WRONG})")
    n, solved, interrupted, diverged = 0, False, False, False
    t0 = time.perf_counter()
    try:
        from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]
        with tqdm(total=args.max_sequences, unit="seq", mininterval=0.5, smoothing=0.05,
                  disable=args.no_progress) as bar:
            for n in range(1, args.max_sequences + 1):
                ex = task.sample(rng)
                out = net.train_sequence(ex.x, ex.y, ex.mask, lr=args.lr)
                window.add(abs(float(out[-1, 0]) - float(ex.y[-1, 0])))
                if n % 500 == 0:
                    bar.update(500)
                    bar.set_postfix_str(window.label(), refresh=False)
                if window.solved():
                    solved = True
                    break
            bar.update(n % 500)
    except KeyboardInterrupt:
        interrupted = True
    except FloatingPointError:            # the net keeps its weights before that step
        diverged = True
    wall = time.perf_counter() - t0
    rate = f"{n / wall:,.0f} sequences/s" if wall > 0 else "-"
    if solved:
        print(f"reached ST3(0.01) after {n:,} sequences in {wall:.1f} s ({rate})")
    elif diverged:
        print(f"error: training diverged at sequence {n:,} (a weight or output became "
              f"NaN or infinite; the net keeps its weights before that step): try a "
              f"smaller --lr", file=sys.stderr)
    elif interrupted:
        print(f"\ninterrupted after {n:,} training sequences ({window.label()})",
              file=sys.stderr)
    else:
        print(f"stopped at the cap of {n:,} sequences without reaching ST3(0.01) "
              f"({window.label()}) in {wall:.1f} s ({rate})")
    if not interrupted:
        try:
            test_rng = np.random.default_rng(10_000 + args.seed)
            wrong, abs_err = 0, []
            for _ in range(N_TEST):
                ex = task.sample(test_rng)
                out = net.forward(ex.x)
                wrong += not task.correct(out, ex)
                abs_err.append(task.abs_error(out, ex))
            print(f"test: {wrong} of {N_TEST} wrong (|error| >= {WRONG}), mean absolute "
                  f"error {np.mean(abs_err):.4f}")
        except KeyboardInterrupt:
            interrupted = True
            print("\ninterrupted during the test", file=sys.stderr)
    row = ROWS.get(f"adding-T{args.T}")
    if row is not None:
        print(f"the paper ({row.table}, T = {args.T}): ST3(0.01) after "
              f"{row.paper['sequences']:,} training sequences on average (one run each of "
              f"10 initialisations), {row.paper['wrong']} of {N_TEST} test sequences wrong")
    else:
        print("the paper ran the adding problem at T = 100, 500 and 1000 (Table 7)")
    print(f"why fastlstm's runs differ from the paper's: {WHY_DIFFERENT}")
    status = 130 if interrupted else (1 if diverged else 0)
    if args.save is not None:
        if not _save(net, args.save) and not interrupted:
            status = 1
    elif interrupted:
        print("(the net is not saved: use --save PATH to keep it)", file=sys.stderr)
    return status


COMMANDS = {"demo": "train the adding problem (Exp. 4) with the paper's settings",
            "reproduce": "run the paper's experiments (see reproduce --help)"}


def _usage() -> str:
    lines = ["usage: python -m fastlstm {demo,reproduce} [options]  |  --version", ""]
    lines += [f"  {name:10s} {text}" for name, text in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m fastlstm`` and of the ``fastlstm`` script.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status (0 done, 1 failed, 2 bad arguments, 130 interrupted).
    """
    args: List[str] = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if args[0] in ("--version", "-V"):
        print(f"fastlstm {fastlstm.__version__}")
        return 0
    if args[0] not in COMMANDS:
        print(f"python -m fastlstm: error: unknown command {args[0]!r} (choose from "
              f"{', '.join(COMMANDS)}, or --version; see --help)", file=sys.stderr)
        return 2
    try:
        if args[0] == "demo":
            return demo(args[1:])
        from fastlstm.experiments import cli
        return cli.main(args[1:])
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
