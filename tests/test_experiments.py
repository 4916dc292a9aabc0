"""Tests of fastlstm.experiments: every row end to end with a small cap, the ablations,
the stopping-rule helpers, the runner (resume, process pool, Dask), the report and the CLI.
The real convergence test (adding, T = 100) takes a few seconds."""
import importlib.util
import json
import os

import numpy as np
import pytest

from fastlstm.experiments import (ABLATIONS, EXPERIMENTS, ROWS, ablation_applies, resolve,
                                  run, run_trial, trial_seed)
from fastlstm.experiments import cli, protocols
from fastlstm.experiments.report import reproduced, summarise, write_report
from fastlstm.experiments.runner import load_results, trial_path
from fastlstm.tasks import get_task

REQUIRED = {"experiment", "row", "params", "seed", "trial", "success", "stop_reason",
            "sequences", "max_sequences", "wall_time", "curve", "decided", "n_weights",
            "rule", "paper", "test"}


@pytest.mark.parametrize("row_id", list(ROWS))
def test_every_row_end_to_end(row_id):
    """Each row runs a capped trial, has the paper's weight count and a JSON record."""
    cap = 30 if row_id.startswith(("2a", "2b", "2c-q1000-p1000", "2c-q500")) else 120
    rec = run_trial(row_id, 0, seed=1, max_sequences=cap)
    assert REQUIRED <= set(rec)
    assert rec["n_weights"] == ROWS[row_id].weights
    assert rec["sequences"] <= cap and rec["max_sequences"] == cap
    assert rec["stop_reason"] in ("success", "cap", "diverged")
    assert rec["success"] == (rec["stop_reason"] == "success")
    assert rec["curve"]["sequences"][-1] == rec.get("sequences_at_stop", rec["sequences"])
    json.loads(json.dumps(rec, allow_nan=False))          # strict JSON


@pytest.mark.parametrize("ablation", ABLATIONS)
@pytest.mark.parametrize("row_id", ["adding-T100", "reber-3x2-lr0.5", "2a-p100"])
def test_ablations_run(row_id, ablation):
    if not ablation_applies(ablation, ROWS[row_id].experiment):
        with pytest.raises(ValueError, match="applies to"):
            run_trial(row_id, 0, seed=2, max_sequences=15, ablation=ablation)
        return
    rec = run_trial(row_id, 0, seed=2, max_sequences=15, ablation=ablation)
    assert rec["ablation"] == ablation and ablation in rec["rule"]
    assert rec["sequences"] == 15


def test_full_gradient_ablation_is_the_numpy_reverse_mode():
    """The ablation's compiled BPTT step moves the weights as the independent numpy
    implementation (fastlstm.bptt) does, to rounding, over a few on-line sequences."""
    import fastlstm
    from fastlstm import bptt
    kw = dict(n_in=7, n_out=7, n_blocks=3, block_size=2, bias="gates", init_range=0.2,
              out_gate_bias=[-1, -2, -3], seed=3)
    net, ref = fastlstm.LSTM(**kw), fastlstm.LSTM(**kw)
    learner = protocols._Learner(net, 0.5, "full-gradient")
    task, rng = get_task("reber"), np.random.default_rng(0)
    c = ref.config
    for _ in range(20):
        ex = task.sample(rng)
        out = learner.learn(ex.x, ex.y, ex.mask)
        out_ref = bptt.sgd_bptt_sequence(ref.params, ex.x, ex.y, ex.mask, 0.5,
                                         masks=ref.masks, S=2, g=c["g"], h=c["h"],
                                         out=c["out"], truncated=False)
        np.testing.assert_allclose(out, out_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net._theta, ref._theta, rtol=0, atol=1e-12)
    assert np.abs(net._theta - net.__class__(**kw)._theta).max() > 1e-3    # it learned


def test_ablation_changes_weights_differently():
    """Reber has targets at every step: 'step' and 'sequence' schedules differ, the exact
    gradient differs from both and swapped squashing functions from all; trial seeds are
    shared by the ablations."""
    recs = [run_trial("reber-3x2-lr0.5", 0, max_sequences=100, ablation=a)
            for a in (None, *ABLATIONS) if ablation_applies(a, "reber")]
    assert len({r["seed"] for r in recs}) == 1
    errs = [tuple(r["curve"]["train_abs_error"]) for r in recs]
    assert len(set(errs)) == len(recs)


@pytest.mark.parametrize("row_id", ["reber-3x2-lr0.5", "2a-p100", "adding-T100"])
def test_swapped_squash_ablation_swaps_g_and_h(row_id):
    rec = run_trial(row_id, 0, seed=1, max_sequences=20, ablation="swapped-squash")
    base = run_trial(row_id, 0, seed=1, max_sequences=20)
    swap = {("g2", "h1"): ("h1", "g2"), ("g1", "id"): ("id", "g1")}
    assert (rec["config"]["g"], rec["config"]["h"]) == \
        swap[(base["config"]["g"], base["config"]["h"])]
    assert rec["n_weights"] == base["n_weights"]


def test_trials_are_deterministic():
    a = run_trial("6a", 3, seed=5, max_sequences=200)
    b = run_trial("6a", 3, seed=5, max_sequences=200)
    assert a["curve"] == b["curve"] and a["seed"] == b["seed"]
    assert trial_seed(5, "6a", 3) == a["seed"] != trial_seed(5, "6a", 4)


@pytest.mark.parametrize("q,p", [(5, 3), (20, 50), (0, 1)])
def test_fast_lag2c_matches_task(q, p):
    task = get_task("lag2c", q=q, p=p)
    fast = protocols.FastLag2c(q, p)
    r1, r2 = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(60):
        ex = task.sample(r1)
        x, y, mask = fast.sample(r2)
        np.testing.assert_array_equal(x, ex.x)
        np.testing.assert_array_equal(y, ex.y)
        np.testing.assert_array_equal(mask, ex.mask)


def test_window_running_statistics():
    w = protocols._Window(5)
    rng = np.random.default_rng(0)
    errs = rng.uniform(size=23)
    for i, e in enumerate(errs):
        w.add(e, e > 0.5)
        last = errs[max(0, i - 4):i + 1]
        assert w.mean == pytest.approx(last.mean())
        assert w.n_bad == np.count_nonzero(last > 0.5)
        assert w.full == (i >= 4)


def test_curve_subsampling():
    c = protocols._Curve(block=10, max_points=8)
    for n in range(1, 1001):
        c.add(n, 1.0 / n, n % 2)
    out = c.finish(1000)
    assert len(out["sequences"]) <= 8 + 1
    assert out["sequences"][-1] == 1000
    assert all(0.45 <= w <= 0.55 for w in out["train_wrong"])


def test_stop_rule_adding_fires():
    """A hand-made stream: the ST3(0.01) rule holds exactly when the window of 2000
    is full, has no wrong sequence and a mean below 0.01."""
    w = protocols._Window(2000)
    for i in range(1999):
        w.add(0.005, False)
    assert not w.full
    w.add(0.039, False)
    assert w.full and w.n_bad == 0 and w.mean < 0.01
    w.add(0.05, True)
    assert w.n_bad == 1


def test_reber_success_rule_matches_task():
    """The vectorised success check of the Reber trial agrees with ReberTask.correct."""
    from fastlstm.tasks import ReberTask
    task = ReberTask()
    rng = np.random.default_rng(3)
    for _ in range(50):
        ex = task.sample(rng)
        out = rng.uniform(size=ex.y.shape)
        if rng.integers(2):
            out = ex.info["legal"] * 0.9 + 0.05 * out
        leg = ex.info["legal"]
        ok = np.where(leg, out, np.inf).min(axis=1) > np.where(leg, -np.inf, out).max(axis=1)
        assert bool(ok.all()) == task.correct(out, ex)


def test_resolve_names():
    assert resolve(["adding"]) == EXPERIMENTS["adding"]
    assert resolve(["exp4", "adding-T100"]) == EXPERIMENTS["adding"]
    assert set(resolve(["all"])) == set(ROWS)
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        resolve(["nope"])


def test_runner_resume_and_report(tmp_path):
    out = str(tmp_path / "res")
    logs = []
    recs = run(["adding-T100", "6a"], 2, seed=0, out_dir=out, max_sequences=50,
               log=logs.append)
    assert len(recs) == 4
    assert os.path.exists(trial_path(out, "adding-T100", 1))
    again = run(["adding-T100", "6a"], 2, seed=0, out_dir=out, max_sequences=50,
                log=logs.append)
    assert again == [] and "4 trials already done" in logs[-1]
    more = run(["adding-T100"], 2, seed=0, out_dir=out, max_sequences=60, log=logs.append)
    assert len(more) == 2                        # a larger cap reruns failed trials
    run(["adding-T100"], 1, seed=0, out_dir=out, max_sequences=30, ablation="sequence",
        log=logs.append)
    assert len(load_results(out)) == 5
    md = str(tmp_path / "docs" / "reproduction.md")
    text = write_report(out, md, str(tmp_path / "docs" / "plots"), log=logs.append)
    assert "adding-T100" in text and "Ablation: sequence" in text and "not run" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert os.path.exists(tmp_path / "docs" / "plots" / "adding-T100.png")
    else:
        assert "matplotlib is not installed" in text


def test_reproduced_rule():
    row = ROWS["adding-T100"]
    base = {"trials": 10, "success_rate": 100.0, "mean": 74_000 * 1.9}
    assert reproduced(row, base)
    assert not reproduced(row, dict(base, mean=74_000 * 2.1))
    assert not reproduced(row, dict(base, success_rate=80.0))
    row1 = ROWS["reber-3x2-lr0.2"]                 # paper 97%
    assert reproduced(row1, dict(base, success_rate=90.0, mean=14_060))
    s = summarise([{"success": True, "sequences": 10, "wall_time": 1.0},
                   {"success": False, "sequences": 50, "wall_time": 2.0,
                    "stop_reason": "cap"}])
    assert s["success_rate"] == 50 and s["mean"] == 10 and s["wall"] == 3.0


def test_process_pool(tmp_path):
    from fastlstm.experiments.runner import make_executor
    ex, close = make_executor(jobs=2)
    try:
        recs = run(["adding-T100"], 2, out_dir=str(tmp_path), max_sequences=40,
                   executor=ex, log=lambda m: None)
    finally:
        close()
    serial = run_trial("adding-T100", 1, max_sequences=40)
    got = {r["trial"]: r for r in recs}
    assert got[1]["curve"] == serial["curve"]


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        from fastlstm.experiments.runner import make_executor
        ex, close = make_executor(scheduler=cluster.scheduler_address)
        try:
            recs = run(["adding-T100"], 2, out_dir=str(tmp_path), max_sequences=40,
                       executor=ex, log=lambda m: None)
        finally:
            close()
    assert sorted(r["trial"] for r in recs) == [0, 1]
    assert len(load_results(str(tmp_path))) == 2


def test_cli(tmp_path, capsys):
    out, md = str(tmp_path / "r"), str(tmp_path / "rep.md")
    with pytest.raises(SystemExit) as e:
        cli.main(["nope"])
    assert e.value.code == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["adding", "--trials", "0"])
    assert e.value.code == 2
    assert cli.main(["--list"]) == 0
    assert "adding-T100" in capsys.readouterr().out
    assert cli.main(["adding-T100", "--trials", "1", "--max-sequences", "30", "--jobs", "1",
                     "--out", out, "--report", md, "--no-progress"]) == 0
    assert os.path.exists(trial_path(out, "adding-T100", 0))
    assert cli.main(["--report-only", "--out", out, "--report", md]) == 0
    text = open(md).read()
    assert "python -m fastlstm reproduce adding-T100" in text


def test_progress_bar_runs(capsys):
    rec = run_trial("adding-T100", 0, max_sequences=600, progress=True)
    assert rec["sequences"] == 600


def test_adding_T100_converges():
    """(About 6 s on a 2020s core, so not marked slow.)  The paper's adding net (T = 100) reaches a mean absolute training error below
    0.02 (over the 2000 most recent sequences) within 300,000 sequences."""
    import fastlstm
    rng_w, rng = np.random.default_rng(0), np.random.default_rng(1)
    net = fastlstm.LSTM(2, 1, 2, 2, init_range=0.1, in_gate_bias=[-3.0, -6.0], seed=rng_w)
    task = get_task("adding", T=100)
    w = protocols._Window(2000)
    for n in range(1, 300_001):
        ex = task.sample(rng)
        out = net.train_sequence(ex.x, ex.y, ex.mask, lr=0.5)
        w.add(abs(out[-1, 0] - ex.y[-1, 0]), False)
        if w.full and w.mean < 0.02:
            break
    assert w.full and w.mean < 0.02, f"mean abs error {w.mean:.4f} after {n} sequences"
    test_rng = np.random.default_rng(2)
    errs = [abs(net.forward(e.x)[-1, 0] - e.y[-1, 0])
            for e in (task.sample(test_rng) for _ in range(500))]
    assert np.mean(errs) < 0.03


def test_report_without_matplotlib(tmp_path, monkeypatch):
    """The report skips the PNG plots with a message when matplotlib is missing."""
    import sys
    out = str(tmp_path / "res")
    run(["6a"], 1, out_dir=out, max_sequences=20, log=lambda m: None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import raises ImportError
    msgs = []
    text = write_report(out, str(tmp_path / "r.md"), str(tmp_path / "plots"),
                        log=msgs.append)
    assert "matplotlib is not installed" in text
    assert any("matplotlib not installed" in m for m in msgs)
    assert not os.path.exists(tmp_path / "plots")
