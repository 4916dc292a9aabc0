"""Run trials in parallel and keep one JSON file per trial.

Trials are submitted to a ``concurrent.futures``-style executor: by default a local
process pool with one worker per core (or the current process for ``jobs=1``), or a Dask
distributed cluster (``scheduler="tcp://host:8786"``, optional extra ``dask``).  Results are
written by the submitting process as ``OUT/<row>[--<ablation>]/trial-NNN.json``; a trial
whose file exists (successful, or run to at least the requested cap) is skipped, so runs
can be interrupted, resumed and merged across runs and machines.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import os
import platform
import signal
import socket
import tempfile
import time
import zlib
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from .rows import ROWS, trial_function

__all__ = ["trial_seed", "run_trial", "trial_path", "run", "load_results", "make_executor",
           "stop_executor"]


def trial_seed(seed: int, row_id: str, trial: int) -> int:
    """Seed of trial ``trial`` of ``row_id`` under base seed ``seed``.

    Independent of the ablation, so an ablation trial starts from the same weights and
    sees the same sequences as the paper-rule trial with the same number.
    """
    ss = np.random.SeedSequence([int(seed), zlib.crc32(row_id.encode()), int(trial)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_trial(row_id: str, trial: int, seed: int = 0, max_sequences: Optional[int] = None,
              ablation: Optional[str] = None, progress: bool = False) -> Dict[str, Any]:
    """Run trial number ``trial`` of row ``row_id``; return its JSON-ready record."""
    row = ROWS[row_id]
    f = trial_function(row, max_sequences)
    kw = {}
    if row.experiment == "reber":          # 3 training/test set pairs x 10 initialisations
        kw["set_seed"] = trial_seed(seed, "reber-sets", trial % 3)
    s = trial_seed(seed, row_id, trial)
    t0 = time.time()
    res = f(seed=s, ablation=ablation, progress=progress, **kw)
    rec = {"experiment": row.experiment, "row": row_id, "table": row.table,
           "label": row.label, "params": row.params, "trial": trial, "base_seed": seed,
           "seed": s, "ablation": ablation,
           "max_sequences": max_sequences if max_sequences else row.cap,
           "paper": row.paper, "paper_weights": row.weights, **kw, **res,
           "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)),
           "host": socket.gethostname(), "python": platform.python_version(),
           "numpy": np.__version__, "fastlstm": _code_version()}
    out: Dict[str, Any] = _jsonable(rec)
    return out


def _code_version() -> Dict[str, Any]:
    """fastlstm version and, where known, the git commit of the code that ran."""
    import subprocess

    import fastlstm
    pkg = os.path.dirname(os.path.abspath(fastlstm.__file__))
    commit = None
    snap = os.path.join(pkg, "..", "..", "COMMIT")       # a copied snapshot of the repo
    try:
        with open(snap) as f:
            commit = f.read().strip() or None
    except OSError:
        try:
            commit = subprocess.run(["git", "-C", pkg, "rev-parse", "HEAD"],
                                    capture_output=True, text=True, timeout=10
                                    ).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            pass
    return {"version": fastlstm.__version__, "commit": commit}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def trial_path(out_dir: str, row_id: str, trial: int, ablation: Optional[str] = None) -> str:
    sub = row_id if ablation is None else f"{row_id}--{ablation}"
    return os.path.join(out_dir, sub, f"trial-{trial:03d}.json")


def _done(path: str, cap: int, seed: int) -> bool:
    """True if ``path`` holds a finished trial that need not run again."""
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return False
    if rec.get("base_seed") != seed:
        return False
    return bool(rec.get("success")) or rec.get("stop_reason") == "diverged" or \
        rec.get("max_sequences", 0) >= cap


def _write(path: str, rec: Dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".trial-", suffix=".tmp", dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as f:
        json.dump(rec, f, indent=1)
    os.replace(tmp, path)


def make_executor(jobs: Optional[int] = None, scheduler: Optional[str] = None
                  ) -> Tuple[Any, Callable[[], None]]:
    """A process pool (``jobs`` workers, default one per core) or a Dask executor.

    Returns ``(executor, close)``; ``close()`` shuts it down.  ``jobs=1`` without a
    scheduler returns ``(None, noop)``: trials run in the calling process.
    """
    if scheduler:
        try:
            from distributed import Client  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise RuntimeError("--scheduler needs the optional extra 'dask': "
                               "pip install 'fastlstm[dask]'") from None
        client = Client(scheduler)
        ex = client.get_executor(pure=False)

        def close() -> None:
            client.close()
        return ex, close
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1:
        return None, lambda: None
    ex = cf.ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint)
    return ex, lambda: ex.shutdown(wait=True, cancel_futures=True)


def _ignore_sigint() -> None:
    """Initializer of the pool's workers: Ctrl-C (sent to the whole process group) is
    the submitting process's to handle (see :func:`stop_executor`); a worker would print
    a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_executor(executor: Any) -> None:
    """Stop the trials running in a process pool of :func:`make_executor` at once (after
    Ctrl-C: its workers ignore SIGINT, and ``shutdown`` would wait for their trials).
    Other executors (None, Dask) are left to their ``close``."""
    if not isinstance(executor, cf.ProcessPoolExecutor):
        return
    terminate = getattr(executor, "terminate_workers", None)     # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    # before shutdown(), which forgets the processes
    procs = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()


def run(row_ids: Iterable[str], trials: Union[int, str, None] = None, *, seed: int = 0,
        out_dir: str = "results", max_sequences: Optional[int] = None,
        ablation: Optional[str] = None, executor: Any = None, progress: bool = False,
        resume: bool = True, log: Callable[[str], Any] = print) -> List[Dict[str, Any]]:
    """Run the trials of the given rows; write and return their records.

    Parameters
    ----------
    row_ids : iterable of str
        Row ids (see :data:`fastlstm.experiments.ROWS`).
    trials : int or "paper", optional
        Trials per row (default: each row's ``default_trials``; "paper": each row's
        count in the paper, ``Row.trials``).
    executor : concurrent.futures.Executor-like, optional
        Anything with ``submit(fn, *args, **kw) -> future`` whose futures work with
        :func:`concurrent.futures.as_completed` or have ``result()``; a Dask
        ``Client.get_executor()`` qualifies.  None runs the trials one after another in
        this process, in the order of ``row_ids``; an executor gets the most expensive
        trials first (``Row.cost``), so that no long trial starts when the others are
        done (the order of the results only: each trial's record is the same).
    resume : bool
        Skip trials whose result file exists (see :func:`_done`).
    """
    if isinstance(trials, str) and trials != "paper":
        raise ValueError(f"trials: expected a count or 'paper', got {trials!r}")
    jobs = []
    skipped = []
    for rid in row_ids:
        row = ROWS[rid]
        n = row.trials if trials == "paper" else int(trials) if trials else row.default_trials
        cap = max_sequences if max_sequences else row.cap
        for t in range(n):
            path = trial_path(out_dir, rid, t, ablation)
            if resume and _done(path, cap, seed):
                skipped.append(path)
                continue
            jobs.append((rid, t, path))
    if skipped:
        log(f"{len(skipped)} trials already done (skipped; delete their JSON to rerun)")
    records: List[Dict[str, Any]] = []
    if not jobs:
        return records

    def finish(rid: str, t: int, path: str, rec: Dict[str, Any]) -> None:
        _write(path, rec)
        records.append(rec)
        seq = rec["sequences"]
        log(f"{rid} trial {t}: {'success' if rec['success'] else rec['stop_reason']} "
            f"after {seq} sequences, {rec['wall_time']:.1f} s -> {path}")

    if executor is None:
        for rid, t, path in jobs:
            finish(rid, t, path, run_trial(rid, t, seed, max_sequences, ablation, progress))
        return records
    # longest first (stable: trial order within a row)
    jobs.sort(key=lambda job: -ROWS[job[0]].cost)
    futures = {executor.submit(run_trial, rid, t, seed, max_sequences, ablation, progress):
               (rid, t, path) for rid, t, path in jobs}
    try:
        done_iter = cf.as_completed(futures)
        for fut in done_iter:
            rid, t, path = futures[fut]
            finish(rid, t, path, fut.result())
    except TypeError:               # futures of another kind: wait in order
        for fut, (rid, t, path) in futures.items():
            finish(rid, t, path, fut.result())
    return records


def load_results(out_dir: str) -> List[Dict[str, Any]]:
    """Every trial record under ``out_dir`` (unreadable files are ignored)."""
    recs: List[Dict[str, Any]] = []
    if not os.path.isdir(out_dir):
        return recs
    for sub in sorted(os.listdir(out_dir)):
        d = os.path.join(out_dir, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.startswith("trial-") and name.endswith(".json"):
                try:
                    with open(os.path.join(d, name)) as f:
                        recs.append(json.load(f))
                except (OSError, ValueError):
                    pass
    return recs
