"""The reproduction runner's fast paths give the trials' records bit for bit: the index
inputs of Exp. 2c, the tasks' sample_xy, the continual Reber stream; --trials paper and
the longest-first order of a pool."""
import concurrent.futures as cf
import hashlib

import numpy as np
import pytest

import fastlstm
from fastlstm.experiments import ROWS
from fastlstm.experiments import protocols as P
from fastlstm.experiments.runner import run
from fastlstm.tasks import get_task
from fastlstm.tasks.cerg import ContinualReberStream


def _strip(rec):
    return {k: v for k, v in rec.items() if k != "wall_time"}


@pytest.mark.parametrize("q,p", [(50, 50), (100, 20)])
def test_fastlag2c_indices_are_the_dense_sample(q, p):
    a, b = P.FastLag2c(q, p), P.FastLag2c(q, p)
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(50):
        x, y, m = a.sample(r1)
        idx, y2, m2 = b.sample_indices(r2)
        assert idx.dtype == np.int32
        assert np.array_equal(np.argmax(x, axis=1), idx) and np.all(x.sum(axis=1) == 1)
        assert np.array_equal(y, y2) and np.array_equal(m, m2)
    ex = a.task.sample(np.random.default_rng(9))
    x, y, m = a.sample(np.random.default_rng(9))
    assert np.array_equal(ex.x, x) and np.array_equal(ex.y, y)


@pytest.mark.parametrize("ablation", [None, "drift-remedy"])
def test_lag2c_trial_same_with_dense_inputs(monkeypatch, ablation):
    """the trial on index inputs = the trial on the dense one-hot inputs"""
    fast = P.lag2c_trial(30, 30, seed=11, max_sequences=1500, ablation=ablation)

    def dense(self, idx, y, mask=None, lr=0.1):
        x = np.zeros((len(idx), self.I))
        x[np.arange(len(idx)), idx] = 1.0
        return self.train_sequence(x, y, mask, lr)

    monkeypatch.setattr(fastlstm.LSTM, "train_onehot", dense)
    slow = P.lag2c_trial(30, 30, seed=11, max_sequences=1500, ablation=ablation)
    assert _strip(fast) == _strip(slow)


@pytest.mark.parametrize("name,kw", [("adding", dict(T=100)), ("adding", dict(T=40)),
                                     ("multiplication", dict(T=100)),
                                     ("noise3a", dict(T=50, N=3)), ("noise3b", dict(T=50, N=1)),
                                     ("noise3c", dict(T=60, N=1))])
def test_sample_xy_is_sample(name, kw):
    task = get_task(name, **kw)
    r1, r2 = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(300):
        ex = task.sample(r1)
        x, y, m = task.sample_xy(r2)
        for a, b in ((ex.x, x), (ex.y, y), (ex.mask, m)):
            assert a.dtype == b.dtype and b.flags.c_contiguous and np.array_equal(a, b)
    assert r1.bit_generator.state == r2.bit_generator.state


def test_final_target_trial_same_as_with_examples(monkeypatch):
    """the training loop on sample_xy = the loop on the Example records"""
    fast = P.adding_trial(40, seed=5, max_sequences=3000)
    monkeypatch.setattr(P, "_draw_xy", lambda task: (
        lambda rng: (lambda ex: (ex.x, ex.y, ex.mask))(task.sample(rng))))
    slow = P.adding_trial(40, seed=5, max_sequences=3000)
    assert _strip(fast) == _strip(slow)


def test_cerg_stream_pinned():
    """the continual Reber stream of a seed, as drawn by the coin-per-call generator"""
    h = hashlib.sha256()
    for seed in range(40):
        s = ContinualReberStream(np.random.default_rng(seed))
        rng = np.random.default_rng(seed + 1000)
        for _ in range(60):
            k = int(rng.integers(1, 3000))
            if rng.random() < 0.3:
                st, x, y = s.take_string()
                h.update(st.encode())
            else:
                x, y = s.take(k)
            h.update(x.tobytes())
            h.update(y.tobytes())
        h.update(s.text().encode())
        h.update(str((s.t, s.strings)).encode())
    assert h.hexdigest() == \
        "14c8d1814c0f4858fc31006b657050a3fab92e1c30afea46e4f0f62ad8467e3d"


def test_cerg_take_returns_copies():
    """a whole cached string is handed out as a copy: changing it changes no later take"""
    s1 = ContinualReberStream(np.random.default_rng(1))
    x, y = s1.take_string()[1:]
    x[...] = 7.0
    y[...] = 7.0
    s2 = ContinualReberStream(np.random.default_rng(1))
    x2, y2 = s2.take_string()[1:]
    assert x2.max() == 1.0 and y2.max() == 1.0


class _Inline:
    """An executor that runs each trial when it is submitted, recording the order."""

    def __init__(self):
        self.order = []

    def submit(self, fn, *args):
        self.order.append(args[0])
        fut = cf.Future()
        fut.set_result(fn(*args))
        return fut


def test_paper_trials_and_longest_first(tmp_path):
    ex = _Inline()
    recs = run(["6a", "3b-T100-N3"], "paper", out_dir=str(tmp_path), max_sequences=3,
               executor=ex, log=lambda m: None)
    assert len(recs) == ROWS["3b-T100-N3"].trials + ROWS["6a"].trials
    first, second = sorted(["3b-T100-N3", "6a"], key=lambda r: -ROWS[r].cost)
    assert ROWS[first].cost > ROWS[second].cost
    assert ex.order == [first] * ROWS[first].trials + [second] * ROWS[second].trials
    with pytest.raises(ValueError, match="paper"):
        run(["6a"], "all", out_dir=str(tmp_path), log=lambda m: None)


def test_cli_trials_paper(tmp_path, capsys):
    from fastlstm.experiments.cli import main
    assert main(["3b-T100-N3", "--trials", "paper", "--max-sequences", "2", "--jobs", "1",
                 "--out", str(tmp_path), "--no-report", "--no-progress"]) == 0
    assert len(list((tmp_path / "3b-T100-N3").glob("trial-*.json"))) == \
        ROWS["3b-T100-N3"].trials
    with pytest.raises(SystemExit):
        main(["6a", "--trials", "most", "--out", str(tmp_path)])
