"""Command line: ``python -m fastlstm demo`` and ``python -m fastlstm reproduce ...``."""
from __future__ import annotations

import argparse
import collections
import sys
import time

import numpy as np

import fastlstm


def adding_net(seed, dtype="float64"):
    """The paper's Exp. 4 net: 2 blocks x 2 cells, all non-input units biased (93
    weights), init [-0.1, 0.1], input-gate biases -3 and -6."""
    return fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2, init_range=0.1,
                         in_gate_bias=[-3.0, -6.0], dtype=dtype, seed=seed)


def demo(argv=None):
    """Train the adding problem (Exp. 4) until the paper's criterion ST3(0.01) or a cap.

    ST3(0.01): the mean absolute training error over the 2000 most recent sequences is
    below 0.01 and all of them are correct (|error| < 0.04).  Then 2560 test sequences.
    """
    from tqdm import tqdm

    from fastlstm.tasks import AddingTask

    p = argparse.ArgumentParser(prog="python -m fastlstm demo", description=demo.__doc__)
    p.add_argument("--T", type=int, default=100, help="minimal sequence length (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and data (default 0)")
    p.add_argument("--max-sequences", type=int, default=300_000,
                   help="stop after this many training sequences (default 300000)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate (paper: 0.5)")
    p.add_argument("--save", metavar="PATH", help="save the trained net to PATH")
    args = p.parse_args(argv)
    if args.max_sequences < 1:
        p.error("--max-sequences must be >= 1")

    task = AddingTask(T=args.T)
    net = adding_net(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    window = 2000
    errors = collections.deque(maxlen=window)
    n_wrong = 0            # wrong sequences inside the window
    print(f"adding problem, T = {args.T}: {net} ({net.n_weights} weights), lr {args.lr}, "
          f"stop at ST3(0.01) or {args.max_sequences} sequences")
    t0 = time.perf_counter()
    solved = False
    with tqdm(total=args.max_sequences, unit="seq", mininterval=0.5,
              smoothing=0.05) as bar:
        for n in range(1, args.max_sequences + 1):
            ex = task.sample(rng)
            out = net.train_sequence(ex.x, ex.y, ex.mask, lr=args.lr)
            err = abs(float(out[-1, 0]) - float(ex.y[-1, 0]))
            if len(errors) == window and errors[0] >= 0.04:
                n_wrong -= 1
            errors.append(err)
            n_wrong += err >= 0.04
            if n % 500 == 0:
                bar.update(500)
                bar.set_postfix(err=f"{np.mean(errors):.4f}", wrong=n_wrong, refresh=False)
            if len(errors) == window and n_wrong == 0 and np.mean(errors) < 0.01:
                solved = True
                break
        bar.update(n % 500)
    wall = time.perf_counter() - t0
    verdict = "reached ST3(0.01)" if solved else "stopped at the cap"
    print(f"{verdict} after {n} sequences in {wall:.1f} s ({n / wall:.0f} sequences/s; "
          f"the paper: success after 74,000 on average)")
    test_rng = np.random.default_rng(10_000 + args.seed)
    wrong, abs_err = 0, []
    for _ in range(2560):
        ex = task.sample(test_rng)
        out = net.forward(ex.x)
        wrong += not task.correct(out, ex)
        abs_err.append(task.abs_error(out, ex))
    print(f"test: {wrong} of 2560 wrong (|error| >= 0.04), mean absolute error "
          f"{np.mean(abs_err):.4f} (the paper: 1 wrong of 2560)")
    if args.save:
        net.save(args.save)
        print(f"saved to {args.save}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = {"demo": "train the adding problem (Exp. 4) with the paper's settings",
                "reproduce": "run the paper's experiments (see reproduce --help)"}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print("usage: python -m fastlstm {demo,reproduce} [options]\n")
        for name, text in commands.items():
            print(f"  {name:10s} {text}")
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    if argv[0] == "demo":
        return demo(argv[1:])
    from fastlstm.experiments import cli
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
