"""fastlstm's river estimators beside deep-river, river's linear regression and the naive
forecast, on river's bundled time series (no downloads).

An explicit forecast-then-learn loop over each series: at step t the model forecasts
y(t) from x(t), the forecast is scored (absolute error), then the model learns (x(t),
y(t)).  x(t) holds the series' previous value ``y_lag1`` = y(t-1) and the dataset's
numeric features at t (TrumpApproval's poll averages; the other series have only a
date, left out).  Beside river's three bundled series, ``Sine7`` is a synthetic series
on which memory pays (see :func:`sine7`).  The series' first value only serves as the
first ``y_lag1``: the loop starts at its second value, and every step is scored.
Reported per model: the progressive-validation MAE and the samples per second of the
whole loop (forecast, score, learn), one thread.

(river's ``evaluate.progressive_val_score`` with a ``time_series`` forecaster scores
each forecast one step off; this loop does not use it.)

Models, all with their inputs and target standardised on-line:

* ``fastlstm, forget gate``: ``fastlstm.river.LSTMRegressor()`` (its defaults);
* ``fastlstm, 1997 cell``: the same with ``forget_gate=False``;
* ``fastlstm, forget gate, 32 blocks``: ``n_blocks=32``, deep-river's width;
* ``deep-river LSTM``: ``deep_river.regression.zoo.LSTMRegressor`` with its defaults
  (hidden size 32, Adam, learning rate 1e-3, a rolling window of 10 samples replayed by
  BPTT at every sample), inside ``StandardScaler`` and ``TargetStandardScaler``;
* ``river linear``: ``StandardScaler() | LinearRegression()`` inside
  ``TargetStandardScaler``;
* ``naive``: the previous value y(t-1).

Each learnt model runs with several seeds (``--seeds``); the MAE is given as the mean
over seeds with its range, the speed as the median.

Run (deep-river 0.3.4 pins torch < 2.6 and river < 0.26: it goes into its own virtual
environment beside torch 2.13.0, without its dependencies; see docs/river.md)::

    python benchmarks/river_bench.py --out benchmarks/results/river.json --lrs 0.01 0.02 0.03 0.05

``--lrs`` adds a sweep of the fastlstm models' learning rate (their default, 0.03, was
chosen from such a sweep over these same series; the other models run with their own
defaults, untuned).

Results are written after each (dataset, model) pair; a rerun skips the pairs already in
the file (``--force`` reruns them).  Without deep-river its rows are left out and the
reason is recorded.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

DATASETS = ("AirlinePassengers", "TrumpApproval", "WaterFlow", "Sine7")
MODELS = ("fastlstm, forget gate", "fastlstm, 1997 cell", "fastlstm, forget gate, 32 blocks",
          "deep-river LSTM", "river linear", "naive")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_series(name: str) -> List[Tuple[Dict[str, float], float]]:
    """The samples (x(t), y(t)) of a bundled river dataset (or of ``Sine7``), x(t) with
    ``y_lag1``, from the series' second value on."""
    from river import datasets
    rows = []
    prev: Optional[float] = None
    series = sine7() if name == "Sine7" else getattr(datasets, name)()
    for x, y in series:
        feats = {k: float(v) for k, v in x.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if prev is not None:
            feats["y_lag1"] = prev
            rows.append((feats, float(y)))
        prev = float(y)
    return rows


def sine7(n: int = 2000, seed: int = 0) -> List[Tuple[Dict[str, float], float]]:
    """A synthetic series where memory pays: y(t) = 10 + sin(2 pi t / 7) + N(0, 0.05^2).
    With y(t-1) alone as input a forecast cannot tell a rising from a falling phase;
    it needs y(t-2) too (y(t) = 2 cos(2 pi / 7) y(t-1) - y(t-2) without noise), which a
    model with memory keeps."""
    import numpy as np
    rng = np.random.default_rng(seed)
    y = 10 + np.sin(2 * np.pi * np.arange(n) / 7) + 0.05 * rng.normal(size=n)
    return [({}, float(v)) for v in y]


class Naive:
    """The previous value (the ``y_lag1`` feature) as the forecast."""

    def predict_one(self, x: Dict[str, float]) -> float:
        return x.get("y_lag1", 0.0)

    def learn_one(self, x: Dict[str, float], y: float) -> None:
        pass


def make_model(name: str, seed: int, n_features: int, lr: Optional[float] = None) -> Any:
    """The model ``name`` (one of MODELS); ``lr``: the learning rate of a fastlstm model
    (default: the estimator's)."""
    from river import linear_model, preprocessing
    if name.startswith("fastlstm"):
        from fastlstm.river import LSTMRegressor
        kw: Dict[str, Any] = {"seed": seed} if lr is None else {"seed": seed, "lr": lr}
        if name == "fastlstm, 1997 cell":
            return LSTMRegressor(forget_gate=False, **kw)
        if name == "fastlstm, forget gate, 32 blocks":
            return LSTMRegressor(n_blocks=32, **kw)
        return LSTMRegressor(**kw)
    if name == "deep-river LSTM":
        from deep_river.regression.zoo import LSTMRegressor as DeepLSTM
        return preprocessing.TargetStandardScaler(
            preprocessing.StandardScaler()
            | DeepLSTM(n_features=n_features, is_feature_incremental=True, seed=seed))
    if name == "river linear":
        return preprocessing.TargetStandardScaler(
            preprocessing.StandardScaler() | linear_model.LinearRegression())
    if name == "naive":
        return Naive()
    raise ValueError(f"unknown model {name!r}")


def run(model: Any, rows: List[Tuple[Dict[str, float], float]]) -> Tuple[float, float]:
    """(MAE, samples per second) of the forecast-then-learn loop over ``rows``."""
    abs_err = 0.0
    n = 0
    t0 = time.perf_counter()
    for x, y in rows:
        y_hat = model.predict_one(x)
        abs_err += abs(y - y_hat)
        n += 1
        model.learn_one(x, y)
    elapsed = time.perf_counter() - t0
    return abs_err / n, len(rows) / elapsed


def _version(module: str) -> Optional[str]:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:
        return None


def machine() -> Dict[str, Any]:
    from fastlstm.experiments.report import machine_info
    cpu = machine_info()["cpu"]
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        commit = None
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "fastlstm_commit": commit,
            "versions": {m: _version(m) for m in ("fastlstm", "river", "torch",
                                                  "deep-river", "numpy")}}


def deep_river_status() -> Optional[str]:
    """None if deep-river imports, else why not."""
    try:
        import deep_river.regression.zoo  # noqa: F401
    except Exception as exc:               # the reason goes into the results
        return f"{type(exc).__name__}: {exc}"
    return None


def table(results: Dict[str, Any]) -> str:
    """The results as a markdown table: MAE (mean over seeds, range) and samples/s."""
    lines = ["| model | " + " | ".join(f"{d} MAE | {d} samples/s" for d in DATASETS) + " |",
             "|---" * (1 + 2 * len(DATASETS)) + "|"]
    for m in MODELS:
        cells = []
        for d in DATASETS:
            r = results["runs"].get(d, {}).get(m)
            if r is None:
                cells += ["-", "-"]
                continue
            maes = r["mae"]
            mae = statistics.mean(maes)
            rng = (f" ({min(maes):.3g}-{max(maes):.3g})" if len(maes) > 1
                   and min(maes) != max(maes) else "")
            cells += [f"{mae:.3g}{rng}", f"{statistics.median(r['samples_per_s']):,.0f}"]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_table(results: Dict[str, Any]) -> str:
    """The learning-rate sweep as a markdown table (mean MAE over seeds)."""
    sweep = results["lr_sweep"]
    lrs = sorted({float(lr) for d in sweep.values() for m in d.values() for lr in m})
    lines = ["| model | dataset | " + " | ".join(f"lr {lr:g}" for lr in lrs) + " |",
             "|---|---" + "|---" * len(lrs) + "|"]
    for m in MODELS:
        for d in DATASETS:
            r = sweep.get(d, {}).get(m)
            if r:
                cells = [f"{statistics.mean(r[repr(lr)]):.3g}" if repr(lr) in r else "-"
                         for lr in lrs]
                lines.append(f"| {m} | {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "river.json"))
    p.add_argument("--seeds", type=int, default=3, help="seeds per learnt model")
    p.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    p.add_argument("--force", action="store_true", help="rerun pairs already in --out")
    p.add_argument("--lrs", nargs="*", type=float, default=[],
                   help="also sweep these learning rates for the fastlstm models "
                        "(stored under lr_sweep)")
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error("--seeds: must be >= 1")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        p.error(f"--out: directory {out_dir} does not exist")
    try:
        import torch
        torch.set_num_threads(1)           # one thread, as fastlstm's per-sample step
    except ImportError:
        pass
    results: Dict[str, Any] = {"runs": {}}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    results["command"] = "python benchmarks/river_bench.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]))
    results["machine"] = machine()
    results["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["loop"] = ("forecast y(t) from x(t) = {y_lag1: y(t-1), numeric features}, score "
                       "|y(t) - forecast|, then learn (x(t), y(t)); from the series' second value on")
    why = deep_river_status()
    results["deep_river"] = "ok" if why is None else f"not run: {why}"

    def save() -> None:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, args.out)

    for d in args.datasets:
        rows = load_series(d)
        n_features = len(rows[-1][0])
        for m in args.models:
            if m == "deep-river LSTM" and why is not None:
                continue
            if not args.force and m in results["runs"].get(d, {}):
                continue
            seeds = [0] if m in ("naive", "river linear") else list(range(args.seeds))
            maes, speeds = [], []
            for s in seeds:
                mae, sps = run(make_model(m, s, n_features), rows)
                if not math.isfinite(mae):
                    raise FloatingPointError(f"{m} on {d}, seed {s}: MAE {mae}")
                maes.append(mae)
                speeds.append(sps)
                print(f"{d:18s} {m:34s} seed {s}: MAE {mae:.4g}, {sps:,.0f} samples/s",
                      flush=True)
            results["runs"].setdefault(d, {})[m] = {
                "mae": maes, "samples_per_s": speeds, "seeds": seeds, "n_samples": len(rows)}
            save()
        for m in [m for m in args.models if m.startswith("fastlstm")] if args.lrs else []:
            for lr in args.lrs:
                sweep = results.setdefault("lr_sweep", {}).setdefault(d, {}).setdefault(m, {})
                if not args.force and repr(lr) in sweep:
                    continue
                maes = [run(make_model(m, s, n_features, lr), rows)[0]
                        for s in range(args.seeds)]
                sweep[repr(lr)] = maes
                print(f"{d:18s} {m:34s} lr {lr}: MAE {statistics.mean(maes):.4g}", flush=True)
                save()
    save()
    print()
    print(table(results))
    if results.get("lr_sweep"):
        print()
        print(sweep_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
