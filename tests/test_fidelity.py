"""The paper's literal readings and named deviations of the reproduction: the Reber sets
(literal and distinct), the success test after every string, the output-wiring and
drift-remedy ablations, the command line's checks of them, and Exp. 5's error column."""
import numpy as np
import pytest

from fastlstm.experiments import DRIFT_REMEDY_BIAS, ROWS, ablation_applies, cli, run_trial
from fastlstm.experiments import protocols
from fastlstm.experiments.report import summarise, _test_cell
from fastlstm.tasks import ReberTask, accepts_embedded, make_reber_sets


def test_reber_literal_sets_repeat_training_strings_only_test_excludes_them():
    train, test = make_reber_sets(np.random.default_rng(9), distinct=False)
    assert len(train) == len(test) == 256
    assert all(accepts_embedded(s) for s in train + test)
    assert len(set(train)) < 200                     # repeats: short strings are frequent
    assert not set(train) & set(test)                # the test set excludes them
    lengths = np.array([len(s) for s in train])
    assert np.mean(lengths == 9) > 0.15 and lengths.mean() < 13.5
    d_train, d_test = make_reber_sets(np.random.default_rng(9), distinct=True)
    assert len(set(d_train)) == 256 and len(set(d_test)) == 256
    assert np.mean([len(s) for s in d_train]) > 15
    assert make_reber_sets(np.random.default_rng(9), distinct=False) == (train, test)
    with pytest.raises(TypeError, match="distinct"):
        make_reber_sets(np.random.default_rng(9), distinct="yes")


def test_reber_trial_uses_literal_sets_by_default_and_distinct_as_ablation():
    rec = run_trial("reber-3x2-lr0.5", 0, max_sequences=5)
    assert rec["sets"]["distinct"] is False and rec["sets"]["train_distinct_strings"] < 256
    assert any("literal reading" in d for d in rec["decided"])
    rec = run_trial("reber-3x2-lr0.5", 0, max_sequences=5, ablation="distinct-sets")
    assert rec["sets"]["distinct"] is True and rec["sets"]["train_distinct_strings"] == 256
    assert rec["ablation"] == "distinct-sets"


def _legal_forward(examples):
    """A fake net predicting perfectly, except on the strings in ``bad``."""
    by_key = {e.x.tobytes(): e for e in examples}
    bad = set()

    def forward(x):
        e = by_key[x.tobytes()]
        out = e.info["legal"].astype(float)
        if id(e) in bad:
            out = 1.0 - out
        return out
    return forward, bad


def test_reber_check_stops_at_the_first_failure_and_agrees_with_a_full_test():
    strings, _ = make_reber_sets(np.random.default_rng(0), 40, 0)      # distinct
    task = ReberTask()
    exs = [task.example(s) for s in strings]
    forward, bad = _legal_forward(exs)
    check = protocols._ReberCheck(forward, [e.x for e in exs], [e.info["legal"] for e in exs])
    assert check.solved() and check.forward_calls == 40          # all right: all tested
    bad.add(id(exs[17]))
    check.forward_calls = 0
    assert not check.solved() and check.first_bad == 17 and check.forward_calls == 18
    check.forward_calls = 0
    assert not check.solved() and check.forward_calls == 1       # starts at the failure
    bad.clear()
    bad.add(id(exs[3]))                                          # wraps around
    assert not check.solved() and check.first_bad == 3


def test_reber_success_is_tested_after_every_string(monkeypatch):
    """A net that becomes right after string 37 is counted at 37, not at the next
    multiple of a coarser test interval."""
    calls = []

    def solved(self):
        calls.append(1)
        return len(calls) == 37
    monkeypatch.setattr(protocols._ReberCheck, "solved", solved)
    rec = run_trial("reber-4x1-lr0.5", 0, max_sequences=500)
    assert rec["success"] and rec["sequences"] == 37 and rec["eval_every"] == 1
    with pytest.raises(ValueError, match="eval_every"):
        protocols.reber_trial(3, 2, 0.5, seed=0, max_sequences=5, eval_every=0)


@pytest.mark.parametrize("row_id, weights", [("reber-4x1-lr0.5", 264 + 7 + 49),
                                             ("reber-3x2-lr0.5", 276 + 7 + 49)])
def test_output_wiring_ablation_adds_output_bias_and_input_to_output(row_id, weights):
    rec = run_trial(row_id, 1, max_sequences=5, ablation="output-wiring")
    assert rec["n_weights"] == weights
    assert rec["config"]["input_to_output"] is True and "outputs" in rec["config"]["bias"]
    faithful = run_trial(row_id, 1, max_sequences=5)
    assert faithful["n_weights"] == ROWS[row_id].weights
    assert faithful["config"]["input_to_output"] is False


def test_drift_remedy_biases_the_input_gates_only(monkeypatch):
    import fastlstm
    nets = []
    real = fastlstm.LSTM

    def keep(*a, **kw):
        net = real(*a, **kw)
        nets.append(net)
        return net
    monkeypatch.setattr(protocols.fastlstm, "LSTM", keep)
    rec = run_trial("2c-q50-p50", 0, max_sequences=3, ablation="drift-remedy")
    W_in, W_out = nets[-1].params["W_in"], nets[-1].params["W_out"]
    assert rec["n_weights"] == ROWS["2c-q50-p50"].weights + 2     # the input-gate biases
    assert np.all(W_out[:, 0] == 0) and np.all(nets[-1].masks["W_out"][:, 0] == 0)
    assert abs(W_in[0, 0] - DRIFT_REMEDY_BIAS["2c"][0]) < 0.1     # after 3 small steps
    assert abs(W_in[1, 0] - DRIFT_REMEDY_BIAS["2c"][1]) < 0.1
    assert any("-1, -3" in d for d in rec["decided"])
    for row in ("2a-p100", "2b-p100"):
        rec = run_trial(row, 0, max_sequences=3, ablation="drift-remedy")
        assert rec["n_weights"] == ROWS[row].weights + 1
        assert any("initialised to -3" in d for d in rec["decided"])
        assert nets[-1].params["W_in"][0, 0] == pytest.approx(-3.0, abs=0.1)
    plain = run_trial("2c-q50-p50", 0, max_sequences=3)
    assert plain["n_weights"] == ROWS["2c-q50-p50"].weights


def test_last_target_trains_2b_on_its_last_target_with_the_drift_remedy(monkeypatch):
    import fastlstm
    masks, nets = [], []
    real_train, real = fastlstm.LSTM.train_sequence, fastlstm.LSTM

    def train(self, x, y, mask=None, *a, **kw):
        masks.append(np.array(mask))
        return real_train(self, x, y, mask, *a, **kw)

    def keep(*a, **kw):
        net = real(*a, **kw)
        nets.append(net)
        return net
    monkeypatch.setattr(fastlstm.LSTM, "train_sequence", train)
    monkeypatch.setattr(protocols.fastlstm, "LSTM", keep)
    rec = run_trial("2b-p100", 0, max_sequences=3, ablation="last-target")
    assert len(masks) == 3
    for m in masks:
        assert m[-1] and not m[:-1].any()
    assert rec["n_weights"] == ROWS["2b-p100"].weights + 1
    assert nets[-1].params["W_in"][0, 0] == pytest.approx(-3.0, abs=0.1)
    assert any("last step's target" in d for d in rec["decided"])
    masks.clear()
    run_trial("2b-p100", 0, max_sequences=2, ablation="drift-remedy")
    assert all(m.all() for m in masks)                  # targets at every step
    assert not ablation_applies("last-target", "2a")


def test_ablations_are_checked_against_the_experiment(capsys, tmp_path):
    assert ablation_applies("output-wiring", "reber")
    assert not ablation_applies("output-wiring", "adding")
    assert ablation_applies("drift-remedy", "2c") and not ablation_applies("drift-remedy", "reber")
    assert ablation_applies("sequence", "6a") and ablation_applies(None, "6a")
    with pytest.raises(ValueError, match="unknown"):
        ablation_applies("nope", "reber")
    with pytest.raises(ValueError, match="applies to"):
        run_trial("adding-T100", 0, max_sequences=3, ablation="drift-remedy")
    with pytest.raises(SystemExit) as exc:
        cli.main(["reber", "2a-p100", "--ablation", "output-wiring", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "applies to" in err and "2a-p100" in err and "reber-3x2" not in err


def test_multiplication_error_column_is_compared_as_mean_absolute_error():
    row = ROWS["mult-T100-n13"]
    recs = [{"row": row.id, "experiment": "multiplication", "success": True,
             "sequences": 1000, "wall_time": 1.0, "max_sequences": 10,
             "test": {"wrong": 14, "fraction_wrong": 14 / 2560, "mse": 0.004,
                      "mean_abs_error": 0.0125}}]
    cell = _test_cell(row, summarise(recs))
    assert "mean abs. error 0.0125" in cell and "0.0139" in cell
    assert "MSE 0.0040" in cell
