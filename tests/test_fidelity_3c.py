"""Exp. 3c's two further readings as named ablations: 'noise-free-signal' (the first N
inputs exactly +-1, as in 3a) and 'fixed-test-set' (one set of 256 test sequences per
trial, reused at every check), and the count of Bayes-unavoidable test sequences."""
from __future__ import annotations

import numpy as np
import pytest

import fastlstm
from fastlstm.experiments import ABLATIONS, ablation_applies, protocols
from fastlstm.tasks import Noise3cTask
from fastlstm.tasks._base import _final_target_example


def _spy_forward(monkeypatch):
    """Record the inputs of every forward pass of the nets a trial builds."""
    seen = []
    real = fastlstm.LSTM

    def make(*a, **kw):
        net = real(*a, **kw)
        fwd = net.forward

        def forward(x, *args, **kwargs):
            seen.append(np.array(x, copy=True))
            return fwd(x, *args, **kwargs)
        net.forward = forward
        return net
    monkeypatch.setattr(protocols.fastlstm, "LSTM", make)
    return seen


def _trial(ablation, **kw):
    return protocols.noise_trial("3c", 20, 1, seed=3, max_sequences=40, eval_every=20,
                                 ablation=ablation, **kw)


def test_the_readings_are_named_ablations_of_exp3():
    assert {"noise-free-signal", "fixed-test-set"} <= set(ABLATIONS)
    assert ablation_applies("noise-free-signal", "3c")
    assert not ablation_applies("noise-free-signal", "3b")
    assert all(ablation_applies("fixed-test-set", v) for v in ("3a", "3b", "3c"))
    assert not ablation_applies("fixed-test-set", "adding")
    with pytest.raises(ValueError, match="applies to"):
        protocols.noise_trial("3b", 20, 1, seed=0, max_sequences=5,
                              ablation="noise-free-signal")


@pytest.mark.parametrize("ablation, reused", [("fixed-test-set", True), (None, False)])
def test_fixed_test_set_is_reused_at_every_check(monkeypatch, ablation, reused):
    seen = _spy_forward(monkeypatch)
    rec = _trial(ablation)
    assert rec["last_eval"][0] == 40                    # two checks, at 20 and 40
    first, second = seen[:256], seen[256:512]
    assert len(second) == 256
    same = all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, second))
    assert same is reused
    if reused:
        assert "test_set_unavoidable" in rec
        assert any("reused at every check" in d for d in rec["decided"])
    else:
        assert "test_set_unavoidable" not in rec
        assert any("drawn afresh" in d for d in rec["decided"])


def test_fixed_test_set_records_its_bayes_unavoidable_sequences(monkeypatch):
    sets = []
    real = protocols.bayes_unavoidable

    def keep(test, N):
        sets.append((list(test), N))
        return real(test, N)
    monkeypatch.setattr(protocols, "bayes_unavoidable", keep)
    rec = _trial("fixed-test-set")
    (test, N), = sets
    assert N == 1 and len(test) == 256
    wrong_sign = [e for e in test if np.sign(e.x[0, 0]) != e.info["sign"]]
    assert rec["test_set_unavoidable"] == len(wrong_sign)
    # N = 1 with noise on the signal: about 1.27% of 256 (3.2) expected; seed 3 has some
    assert rec["test_set_unavoidable"] > 0


def test_bayes_unavoidable_counts_wrong_signed_sums_of_the_first_n_inputs():
    def ex(first, sign, rest=(5.0, -9.0)):
        x = np.array(list(first) + list(rest)).reshape(-1, 1)
        return _final_target_example(x, np.array([0.2]), {"sign": sign, "class": 1,
                                                          "clean_target": 0.2})
    test = [ex([0.9, -0.2, 0.1], 1.0),      # sum 0.8 > 0: right
            ex([0.3, -0.9, 0.1], 1.0),      # sum -0.5: unavoidable
            ex([-0.3, 0.9, 0.1], -1.0),     # sum 0.7 for class 2: unavoidable
            ex([-1.0, -1.0, -1.0], -1.0),   # right
            ex([0.5, -0.5, 0.0], -1.0)]     # sum 0: unavoidable
    assert protocols.bayes_unavoidable(test, 3) == 3
    assert protocols.bayes_unavoidable(test, 1) == 1     # first input only: the last


def test_noise_free_signal_trains_and_tests_on_exact_first_inputs(monkeypatch):
    seen = _spy_forward(monkeypatch)
    rec = _trial("noise-free-signal")
    assert any("exactly +1 / -1" in d for d in rec["decided"])
    assert rec["rule"].startswith("noise-free-signal ablation")
    firsts = np.array([x[0, 0] for x in seen])           # test and final-test inputs
    assert len(firsts) == 2 * 256 + 2560
    assert set(np.unique(firsts)) == {-1.0, 1.0}
    task = protocols._Noise3cNoiseFreeSignal(T=30, N=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y, mask = task.sample_xy(rng)
        assert np.all(np.abs(x[:3, 0]) == 1.0) and np.all(x[:3, 0] == x[0, 0])
        assert y[-1, 0] not in (0.2, 0.8)                # the target noise stays
    plain = _spy_forward(monkeypatch)
    protocols.noise_trial("3c", 20, 1, seed=3, max_sequences=20, eval_every=20)
    assert not set(np.unique([x[0, 0] for x in plain])) <= {-1.0, 1.0}
    assert isinstance(task, Noise3cTask) and task.noisy_signal is False
