"""The paper's experiments (Hochreiter & Schmidhuber 1997, section 5) with fastlstm.

One trial function per experiment (:mod:`.protocols`), the table rows with the paper's
figures (:mod:`.rows`), a parallel runner writing one JSON per trial (:mod:`.runner`), the
markdown report (:mod:`.report`) and the command line (:mod:`.cli`)::

    python -m fastlstm reproduce adding --trials 10 --jobs 1 --out runs
    python -m fastlstm reproduce --report-only --out runs

>>> from fastlstm.experiments import run_trial
>>> rec = run_trial("adding-T100", 0, max_sequences=200)
>>> rec["success"], rec["n_weights"]
(False, 93)
"""
from typing import Any, Callable, Optional

from .protocols import (ABLATION_EXPERIMENTS, ABLATIONS, DRIFT_REMEDY_BIAS, ablation_applies,
                        adding_trial, lag2a_trial, lag2b_trial, lag2c_trial,
                        multiplication_trial, noise_trial, order_trial, reber_trial)
from .rows import EXPERIMENTS, ROWS, Row, resolve
from .runner import load_results, make_executor, run, run_trial, stop_executor, trial_seed

__all__ = ["ABLATIONS", "ABLATION_EXPERIMENTS", "DRIFT_REMEDY_BIAS", "ablation_applies", "EXPERIMENTS", "ROWS", "Row", "resolve", "run", "run_trial",
           "trial_seed", "load_results", "make_executor", "reber_trial", "lag2a_trial",
           "lag2b_trial", "lag2c_trial", "noise_trial", "adding_trial",
           "multiplication_trial", "order_trial", "write_report", "stop_executor"]


def write_report(out_dir: str, md_path: str, plot_dir: str,
                 notes_path: Optional[str] = None,
                 log: Callable[[str], Any] = print) -> str:
    """See :func:`fastlstm.experiments.report.write_report` (imported on first call)."""
    from .report import write_report as _w
    return _w(out_dir, md_path, plot_dir, notes_path, log)
