"""The continual embedded Reber grammar and the spike-delay task: generators, trial
protocols (tiny smoke runs of every row) and their report section."""
import math

import numpy as np
import pytest

import fastlstm
from fastlstm.experiments import ROWS, resolve, run_trial
from fastlstm.experiments.continual import (CERG_VARIANTS, _CergNet, cerg_class, cerg_trial,
                                            spike_trial)
from fastlstm.experiments.report import write_report
from fastlstm.experiments.report_ext import NOTES_NAME
from fastlstm.experiments.rows import EXTENSION_EXPERIMENTS
from fastlstm.tasks import REBER_SYMBOLS, get_task
from fastlstm.tasks.cerg import ContinualReberStream, ContinualReberTask, first_error
from fastlstm.tasks.reber import accepts_embedded, legal_next
from fastlstm.tasks.spikes import SpikeDelayStream, SpikeDelayTask


def rng(seed=0):
    return np.random.default_rng(seed)


def split_strings(text):
    """Split a stream into embedded Reber strings by walking the grammar (independent of
    the generator): each string ends where the automaton accepts."""
    out, start = [], 0
    while start < len(text):
        end = start + 1
        while end <= len(text) and legal_next(text[start:end]):
            end += 1
        out.append(text[start:end])
        start = end
    return out


def decode(x):
    assert np.all(x.sum(axis=1) == 1.0)
    return "".join(REBER_SYMBOLS[k] for k in x.argmax(axis=1))


# ----------------------------------------------------------------------------- stream


def test_stream_is_a_concatenation_of_embedded_reber_strings():
    s = ContinualReberStream(rng(1))
    xs, ys = zip(*(s.take(n) for n in (1, 7, 30, 3, 500, 2000)))
    x, y = np.concatenate(xs), np.concatenate(ys)
    text = decode(x)
    assert text == s.text()
    strings = split_strings(text)
    assert all(accepts_embedded(w) for w in strings[:-1])
    assert "".join(strings) == text
    assert s.strings >= len(strings) and s.t == x.shape[0]
    # both branches and the long lag occur
    assert {w[1] for w in strings[:-1]} == {"T", "P"}


def test_targets_are_the_legal_next_symbols():
    s = ContinualReberStream(rng(2))
    x, y = s.take(3000)
    text = decode(x)
    start = 0
    for t in range(len(text)):
        if t > start and not legal_next(text[start:t]):     # previous string complete
            start = t
        allowed = legal_next(text[start:t + 1]) or frozenset("B")   # after E: next B
        expect = np.array([c in allowed for c in REBER_SYMBOLS], dtype=float)
        assert np.array_equal(y[t], expect), (t, text[start:t + 1], y[t])


def test_stream_determinism_and_pieces():
    a, b, c = ContinualReberStream(rng(3)), ContinualReberStream(rng(3)), \
        ContinualReberStream(rng(4))
    xa, ya = a.take(1000)
    xb = np.concatenate([b.take(n)[0] for n in (1, 1, 98, 400, 500)])
    assert np.array_equal(xa, xb)
    assert not np.array_equal(xa, c.take(1000)[0])
    w, x1, y1 = ContinualReberStream(rng(3)).take_string()
    assert accepts_embedded(w) and decode(x1) == w and x1.shape == y1.shape == (len(w), 7)
    assert y1[-1, REBER_SYMBOLS.index("B")] == 1.0 and y1[-1].sum() == 1.0


def test_stream_branch_frequency():
    s = ContinualReberStream(rng(5))
    s.take(25_000)
    strings = split_strings(s.text())[:-1]
    n, k = len(strings), sum(w[1] == "T" for w in strings)
    assert abs(k - n / 2) <= 5 * math.sqrt(n / 4)


def test_stream_bad_input():
    with pytest.raises(TypeError):
        ContinualReberStream(0)
    with pytest.raises(ValueError):
        ContinualReberStream(rng()).take(0)
    with pytest.raises(TypeError):
        ContinualReberStream(rng()).take(2.5)


def test_first_error():
    y = np.zeros((4, 2))
    assert first_error(y + 0.48, y) == -1
    out = y.copy()
    out[2, 1] = 0.49
    assert first_error(out, y) == 2
    out[1, 0] = np.nan
    assert first_error(out, y) == 1


def test_task_interface():
    task = get_task("cerg", length=50)
    assert isinstance(task, ContinualReberTask)
    ex = task.sample(rng(0))
    assert ex.T == 50 and ex.mask.all() and decode(ex.x) == ex.info["symbols"]
    assert task.correct(ex.y, ex) and not task.correct(1.0 - ex.y, ex)
    with pytest.raises(ValueError):
        ContinualReberTask(length=0)


# ----------------------------------------------------------------------------- spikes


def test_spike_stream():
    s = SpikeDelayStream(rng(0), F=4, intervals=(0, 1, 2))
    x, y, mask = (np.concatenate(p) for p in zip(*(s.take(n) for n in (3, 1, 200, 96))))
    at = np.flatnonzero(x[:, 0])
    assert at[0] == 0 and np.all(np.isin(np.diff(at), [4, 5, 6]))
    assert set(np.unique(np.diff(at) - 4)) == {0, 1, 2}
    assert np.array_equal(y[at[1:], 0], np.diff(at) - 4)       # target: I(n) at spike n
    nz = np.zeros(len(x), bool)
    nz[at] = True
    assert np.all(y[~nz] == 0.0)
    assert np.array_equal(np.flatnonzero(~mask), [0])          # the first spike only
    assert s.spikes == len(at) and s.t == 300
    # pieces and seeds
    x2 = SpikeDelayStream(rng(0), F=4, intervals=(0, 1, 2)).take(300)[0]
    assert np.array_equal(x, x2)
    assert not np.array_equal(x, SpikeDelayStream(rng(1), 4, (0, 1, 2)).take(300)[0])


def test_spike_bad_input():
    for kw in ({"F": 0}, {"intervals": ()}, {"intervals": (1, 1)}, {"intervals": (-1, 0)}):
        with pytest.raises(ValueError):
            SpikeDelayStream(rng(), **kw)
    with pytest.raises(TypeError):
        SpikeDelayStream(rng(), intervals=(0.5, 1))
    with pytest.raises(ValueError):
        SpikeDelayTask(n_spikes=1)


def test_spike_task():
    task = get_task("spikes", F=5, n_spikes=8)
    ex = task.sample(rng(0))
    at = np.flatnonzero(ex.x[:, 0])
    assert len(at) == 8 and at[0] == 0 and at[-1] == ex.T - 1
    assert np.array_equal(ex.y[at[1:], 0], np.diff(at) - 5)
    assert task.correct(ex.y + 0.48, ex) and not task.correct(ex.y + 0.49, ex)


# ----------------------------------------------------------------------------- protocol


def cerg_net(forget, seed=0):
    return fastlstm.LSTM(7, 7, 4, 2, sources="cells", input_to_output=True,
                         bias=("gates", "outputs"), init_range=0.2, forget_gate=forget,
                         seed=seed)


def pretrained(forget, reset):
    """A net that gets the first symbols of a stream right (so streams last a while)."""
    net = cerg_net(forget)
    runner = _CergNet(net, reset)
    g = rng(9)
    for _ in range(300):
        runner.train_stream(ContinualReberStream(g), 0.5, 10_000)
    return net


@pytest.mark.parametrize("forget, reset", [(True, False), (False, True)])
def test_training_stream_ends_at_first_error(forget, reset):
    """The chunked training stream with its rollback gives exactly the weights of
    learning one step at a time and stopping after the first wrong step."""
    net = pretrained(forget, reset)
    ref = cerg_net(forget)
    ref._theta[...] = net._theta
    for seed in range(6):
        n = _CergNet(net, reset).train_stream(ContinualReberStream(rng(100 + seed)), 0.5,
                                              10_000)
        stream = ContinualReberStream(rng(100 + seed))
        st = ref.stream(learn=True, lr=0.5)
        m = 0
        while True:
            if reset and m and stream._pos == 0:
                st.reset()                       # a new string: state reset
            x, y = stream.take(1)
            out = st.step(x[0], y[0])
            m += 1
            if first_error(out[None], y) >= 0:
                break
        assert n == m
        assert np.array_equal(net._theta, ref._theta), seed
    assert n > 1                                 # the streams were not trivially short


def test_training_stream_limit():
    net = cerg_net(True)
    assert _CergNet(net, False).train_stream(ContinualReberStream(rng()), 0.0, 1) == 1


def test_cerg_class():
    assert cerg_class([100] * 3, 100) == "perfect"
    assert cerg_class([100, 100, 1], 100) == "rest"
    assert cerg_class([1999, 1], 100_000) == "rest"        # mean 1000: not above
    assert cerg_class([2000, 2], 100_000) == "good"


@pytest.mark.parametrize("variant", sorted(CERG_VARIANTS))
def test_cerg_trial_smoke(variant):
    kw = dict(seed=3, max_sequences=30, test_length=300, test_streams=3)
    r = cerg_trial(variant, **kw)
    assert r["n_weights"] == (424 if "forget" in variant else 360)
    assert r["stop_reason"] in ("cap", "success", "budget")
    assert r["sequences"] == 30 or r["success"]
    assert r["class"] in ("perfect", "good", "rest") and len(r["test"]["lengths"]) == 3
    assert r["symbols"] > 0 and r["curve"]["sequences"][-1] == r["sequences"]
    again = cerg_trial(variant, **kw)
    assert again["test"] == r["test"] and again["symbols"] == r["symbols"]
    if variant == "forget-decay":
        long = cerg_trial(variant, **{**kw, "max_sequences": 200})
        assert long["final_lr"] == pytest.approx(0.5 * 0.99 ** (long["sequences"] // 100))
        assert long["sequences"] < 200 or long["final_lr"] < 0.5


def test_cerg_budget_and_errors():
    r = cerg_trial("forget", seed=0, max_sequences=1000, max_symbols=50, test_length=100)
    assert r["stop_reason"] == "budget" and r["sequences"] < 1000
    with pytest.raises(ValueError, match="variant"):
        cerg_trial("nope", seed=0)
    with pytest.raises(ValueError, match="ablation"):
        cerg_trial("reset", seed=0, ablation="sequence")
    with pytest.raises(ValueError, match="ablation"):
        spike_trial(10, (0, 1), True, seed=0, ablation="full-gradient")


@pytest.mark.parametrize("peep", [True, False])
def test_spike_trial_smoke(peep):
    r = spike_trial(10, (0, 1), peep, seed=1, max_sequences=3, test_spikes=50)
    assert r["n_weights"] == (17 if peep else 14)
    assert r["sequences"] == 3 or r["success"]
    assert 0 <= r["test"]["fraction_wrong"] <= 1


def test_rows_at_the_end_and_runner(tmp_path, monkeypatch):
    ids = list(ROWS)
    ext = [i for i in ids if ROWS[i].experiment in EXTENSION_EXPERIMENTS]
    assert ids[-len(ext):] == ext
    assert resolve(["cerg"]) == ["cerg-reset", "cerg-noreset", "cerg-forget",
                                 "cerg-forget-decay"]
    assert ROWS["cerg-forget-decay"].paper["perfect"] == (62, 14_087)
    recs = [run_trial(rid, 0, max_sequences=3) for rid in ext]
    assert all(r["max_sequences"] == 3 for r in recs)
    # the report: the extension rows in their own section, beside the published figures
    import json
    for r in recs:
        d = tmp_path / r["row"]
        d.mkdir()
        (d / "trial-000.json").write_text(json.dumps(r))
    import fastlstm.experiments.report_ext as report_ext
    monkeypatch.setattr(report_ext, "_plot", lambda *a: None)     # matplotlib is slow
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / NOTES_NAME).write_text("### Findings\n\nhand-written\n")
    md = write_report(str(tmp_path), str(tmp_path / "r.md"), str(tmp_path / "plots"),
                      log=lambda m: None)
    head, _, tail = md.partition("## Beyond 1997")
    assert "cerg" not in head and "spikes" not in head
    assert "[paper 62 (14,087)]" in tail and "| cerg-forget | forget gates | 424 | 1 (100)" \
        in tail
    assert "spikes-F10-I01-nopeep (F = 10, I in {0, 1}, no peepholes) | 14 | 1 |" in tail
    assert tail.index("hand-written") < tail.index("## Commands run")
