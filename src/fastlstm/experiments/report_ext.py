"""The report section of the experiments beyond the 1997 paper (``cerg``, ``spikes``).

:func:`extension_section` turns their trial records into markdown: the continual
embedded Reber grammar beside Gers, Schmidhuber & Cummins (2000), Table 2, and the
spike-delay rows; with matplotlib, one figure per experiment. Hand-written findings on
these rows, if any, are read from ``NOTES_NAME`` in the plot folder and appended.
"""
from __future__ import annotations

import os
import statistics
from typing import Any, Dict, List, Optional

from .rows import EXTENSION_EXPERIMENTS, ROWS

__all__ = ["extension_section", "cerg_summary", "NOTES_NAME"]

#: file in the plot folder whose markdown ends the section (hand-written findings)
NOTES_NAME = "beyond-1997-notes.md"


def _mean(v: List[float]) -> Optional[float]:
    return statistics.mean(v) if v else None


def _num(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:,.0f}"


def cerg_summary(recs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Per-class figures of one cerg row.

    Returns
    -------
    dict
        ``trials``; for each class ``perfect``, ``good``, ``rest``: ``(percent, figure)``
        with the figure the mean training streams to perfect, resp. the mean error-free
        test length of the class; ``budget`` (trials stopped by the symbol budget),
        ``diverged``, ``wall`` (seconds).
    """
    n = len(recs)
    out: Dict[str, Any] = {"trials": n}
    for cls in ("perfect", "good", "rest"):
        rs = [r for r in recs if r.get("class") == cls]
        if cls == "perfect":
            fig = _mean([r["sequences"] for r in rs])
        else:
            fig = _mean([r["test"]["mean_length"] for r in rs])
        out[cls] = (100.0 * len(rs) / n if n else 0.0, fig)
    out["budget"] = sum(r.get("stop_reason") == "budget" for r in recs)
    out["diverged"] = sum(r.get("stop_reason") == "diverged" for r in recs)
    out["streams"] = _mean([r["sequences"] for r in recs])
    out["wall"] = sum(r.get("wall_time", 0.0) for r in recs)
    return out


def _cell(ours: Any, paper: Any, what: str) -> str:
    pct, fig = ours
    ppct, pfig = paper
    return (f"{pct:.0f} ({_num(fig)} {what}) [paper {ppct} ({_num(pfig)})]"
            if fig is not None else f"{pct:.0f} [paper {ppct} ({_num(pfig)})]")


def _plot(exp: str, by_row: Dict[str, List[Dict[str, Any]]], plot_dir: str
          ) -> Optional[str]:
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    rids = [rid for rid in ROWS if ROWS[rid].experiment == exp and rid in by_row]
    if not rids:
        return None
    fig, axes = plt.subplots(1, len(rids), figsize=(3.0 * len(rids), 3.0), sharey=True,
                             squeeze=False)
    for ax, rid in zip(axes[0], rids):
        for r in by_row[rid]:
            c = r.get("curve") or {}
            # (the first records named the x axis "streams" resp. "chunks")
            xs = c.get("sequences") or c.get("streams") or c.get("chunks") or []
            ys = c.get("test_mean_length" if exp == "cerg" else "test_wrong_fraction") or []
            if xs:      # a log axis: lengths 0 shown as 0.5, fractions 0 as 1e-4
                floor = 0.5 if exp == "cerg" else 1e-4
                ax.plot(xs, [max(y, floor) for y in ys], lw=0.8, alpha=0.6)
        if exp == "cerg":
            ax.axhline(1000, color="k", ls="--", lw=0.6)       # "good" above this
        ax.set_yscale("log")
        ax.set_title(ROWS[rid].label, fontsize=8)
        ax.set_xlabel("training streams" if exp == "cerg" else "training chunks", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("mean error-free test length" if exp == "cerg"
                          else "fraction of test steps wrong", fontsize=8)
    fig.tight_layout()
    os.makedirs(plot_dir, exist_ok=True)
    path = os.path.join(plot_dir, f"{exp}.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def extension_section(recs: List[Dict[str, Any]], md_dir: str, plot_dir: str
                      ) -> List[str]:
    """Markdown lines of the section on the experiments beyond the 1997 paper.

    Parameters
    ----------
    recs : list of dict
        Trial records (others than the extension rows' are ignored).
    md_dir : str
        Folder of the report (figure links are relative to it).
    plot_dir : str
        Where the figures go (and where ``NOTES_NAME`` is looked for).

    Returns
    -------
    list of str
    """
    by_row: Dict[str, List[Dict[str, Any]]] = {}
    for r in recs:
        row = ROWS.get(r.get("row", ""))
        if row is not None and row.experiment in EXTENSION_EXPERIMENTS and \
                r.get("ablation") is None:
            by_row.setdefault(row.id, []).append(r)
    lines = ["## Beyond 1997: continual prediction and timing", "",
             "Generated like the tables above; the protocols are in "
             "[experiments.md](experiments.md#the-continual-embedded-reber-grammar).", "",
             "### The continual embedded Reber grammar (Gers, Schmidhuber & Cummins 2000, "
             "Table 2)", "",
             "Percent of the trials in each class: *perfect* (all 10 test streams of "
             "100,000 symbols without an error; in brackets the mean training streams "
             "until then), *good* (mean error-free test length above 1,000; the mean "
             "length), *rest* (the mean length). The published figures (100 nets per "
             "row) are in square brackets.", "",
             "| row | net | weights | trials (paper) | perfect % | good % | rest % | "
             "mean streams run | stopped by the symbol budget | wall |",
             "|" + "---|" * 10]
    for rid, row in ROWS.items():
        if row.experiment != "cerg":
            continue
        rs = by_row.get(rid)
        if not rs:
            lines.append(f"| {rid} | {row.label} | {row.weights} | 0 ({row.trials}) | "
                         "not run | | | | | |")
            continue
        s = cerg_summary(rs)
        p = row.paper
        w = sorted({int(r.get("n_weights") or 0) for r in rs})
        lines.append(
            f"| {rid} | {row.label} | {w[0] if len(w) == 1 else w} | {s['trials']} "
            f"({row.trials}) | {_cell(s['perfect'], p['perfect'], 'streams')} | "
            f"{_cell(s['good'], p['good'], 'symbols')} | "
            f"{_cell(s['rest'], p['rest'], 'symbols')} | {_num(s['streams'])} | "
            f"{s['budget']} | {s['wall']:.0f} s |")
    lines.append("")
    lines += ["### Measuring spike delays, with and without peepholes", "",
              "Success: a test stream of 1,000 spikes without a wrong step. *chunks*: "
              "training chunks of about 100 spikes until success (mean over the "
              "successful trials). No published figures are compared.", "",
              "| row | weights | trials | success % | mean chunks (median) | fraction of "
              "test steps wrong at the end, failed trials | wall |",
              "|" + "---|" * 7]
    for rid, row in ROWS.items():
        if row.experiment != "spikes":
            continue
        rs = by_row.get(rid)
        if not rs:
            lines.append(f"| {rid} ({row.label}) | {row.weights} | 0 | not run | | | |")
            continue
        ok = [r["sequences"] for r in rs if r.get("success")]
        bad = [r["test"]["fraction_wrong"] for r in rs
               if not r.get("success") and r["test"].get("fraction_wrong") is not None]
        w = sorted({int(r.get("n_weights") or 0) for r in rs})
        med = statistics.median(ok) if ok else None
        lines.append(
            f"| {rid} ({row.label}) | {w[0] if len(w) == 1 else w} | {len(rs)} | "
            f"{100.0 * len(ok) / len(rs):.0f} | {_num(_mean(ok))} ({_num(med)}) | "
            f"{'-' if not bad else f'{statistics.mean(bad):.4f}'} | "
            f"{sum(r.get('wall_time', 0.0) for r in rs):.0f} s |")
    lines.append("")
    for exp, what in (("cerg", "mean error-free length of the test streams against "
                               "training streams, one line per trial (dashed: 1,000, the "
                               "threshold of 'good'; a line ending at 100,000 is a perfect "
                               "net)"),
                      ("spikes", "fraction of test steps wrong against training chunks, "
                                 "one line per trial")):
        path = _plot(exp, by_row, plot_dir)
        if path is not None:
            lines += [f"{exp}: {what}.", "",
                      f"![{exp}]({os.path.relpath(path, md_dir)})", ""]
    for exp in EXTENSION_EXPERIMENTS:
        items: List[str] = []
        for rid, row in ROWS.items():
            if row.experiment == exp and rid in by_row:
                items += [d for d in by_row[rid][0].get("decided", []) if d not in items]
        if items:
            lines.append(f"**{exp}**, choices where the sources are silent (from the "
                         "trial records):")
            lines += [f"- {d}" for d in items]
            lines.append("")
    notes = os.path.join(plot_dir, NOTES_NAME)
    if os.path.isfile(notes):
        with open(notes) as f:
            lines += [f.read().rstrip(), ""]
    return lines
