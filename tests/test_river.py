"""fastlstm.river: river's estimator checks, predict-then-learn semantics, state carried
from sample to sample, growing inputs and classes, pickling, and errors.  Skipped
without river (the ``river`` extra)."""
import copy
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("river")

import fastlstm  # noqa: E402
from fastlstm.river import LSTMClassifier, LSTMRegressor  # noqa: E402

ESTIMATORS = (LSTMRegressor, LSTMClassifier)


# --------------------------------------------------------------------------- river's checks


def _checks():
    return [pytest.param(cls, params, id=f"{cls.__name__}-{i}") for cls in ESTIMATORS
            for i, params in enumerate(cls._unit_test_params())]


@pytest.mark.parametrize("cls, params", _checks())
def test_river_check_estimator(cls, params):
    """river.checks.check_estimator: all of river's conventions (clone, pickling, pure
    inference, emerging and disappearing features, seeding, bounded memory...)."""
    pytest.importorskip("sklearn")
    from river import checks
    checks.check_estimator(cls(**params))


def test_import_fastlstm_does_not_import_river():
    code = ("import sys, fastlstm; "
            "print('river' in sys.modules, 'fastlstm.river' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


# --------------------------------------------------------------------------- semantics


def _net_like(model, n_in, n_out, out):
    """The net the estimator builds at its first sample (same constructor, same seed)."""
    fg = model.forget_gate
    return fastlstm.LSTM(n_in=n_in, n_out=n_out, n_blocks=model.n_blocks,
                         block_size=model.block_size, out=out, forget_gate=fg,
                         forget_gate_bias=1.0 if fg else None,   # the default
                         sources=model.sources, input_to_output=model.input_to_output,
                         init_range=model.init_range, dtype=model.dtype,
                         seed=np.random.default_rng(model.seed))


@pytest.mark.parametrize("forget_gate", [True, False])
def test_forecasts_are_the_outputs_of_one_sequence(forget_gate):
    """A forecast-then-learn loop gives, sample by sample, the outputs of one
    ``train_sequence`` call over the whole stream: predict_one computes the step that
    learn_one takes, and the state (with its traces) runs on from sample to sample."""
    rng = np.random.default_rng(1)
    T = 60
    X = rng.uniform(-1, 1, (T, 2))
    Y = rng.uniform(-1, 1, (T, 1))
    model = LSTMRegressor(n_blocks=2, block_size=2, lr=0.3, forget_gate=forget_gate,
                          forget_gate_bias=1.0 if forget_gate else None,
                          scale_inputs=False, scale_target=False, seed=5)
    net = _net_like(model, 2, 1, "linear")
    expected = net.train_sequence(X, Y, lr=0.3)[:, 0]
    got = []
    for x, y in zip(X, Y):
        xd = {"b": x[1], "a": x[0]}            # sorted: a is input 0
        got.append(model.predict_one(xd))
        model.learn_one(xd, float(y[0]))
    assert got[0] == 0.0                       # no net before the first sample
    np.testing.assert_array_equal(got[1:], expected[1:])
    for name, w in net.params.items():
        np.testing.assert_array_equal(model.net.params[name], w)


def test_predict_one_changes_nothing():
    model = LSTMRegressor(n_blocks=2, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        model.learn_one({"a": rng.normal(), "b": rng.normal()}, rng.normal())
    before = pickle.dumps(model)
    p1 = model.predict_one({"a": 0.5, "b": -1.0})
    p2 = model.predict_one({"a": 0.5, "b": -1.0, "new": 3.0})   # unknown key: ignored
    model.predict_one({"a": 2.0})
    assert p1 == p2
    assert pickle.dumps(model) == before
    assert model.features == ["a", "b"]


def test_before_any_learning():
    assert LSTMRegressor().predict_one({"a": 1.0}) == 0.0
    clf = LSTMClassifier()
    assert clf.predict_proba_one({"a": 1.0}) == {}
    assert clf.predict_one({"a": 1.0}) is None
    assert LSTMRegressor().net is None and LSTMRegressor().state is None


def test_missing_and_none_features_enter_as_zero():
    """Without scaling, a missing key and a value None both enter the net as 0."""
    model = LSTMRegressor(n_blocks=2, scale_inputs=False, scale_target=False, seed=0)
    model.learn_one({"a": 1.0, "b": 2.0}, 1.0)
    p = model.predict_one({"a": 0.7, "b": 0.0})
    assert model.predict_one({"a": 0.7}) == p
    assert model.predict_one({"a": 0.7, "b": None}) == p
    assert model.predict_one({"a": 0.7, "b": 0.1}) != p


def test_input_scaling_includes_the_sample():
    """With scaling, the net sees (x - mean) / std over the samples learnt and x itself
    (what predict_one and learn_one both see)."""
    model = LSTMRegressor(n_blocks=2, scale_target=False, lr=0.0, seed=0)
    ref = LSTMRegressor(n_blocks=2, scale_target=False, lr=0.0, scale_inputs=False,
                        seed=0)
    xs = [1.0, 3.0, 2.0, 7.0, -1.0]
    for i, v in enumerate(xs):
        seen = np.array(xs[:i + 1])
        z = 0.0 if seen.std() == 0 else (v - seen.mean()) / seen.std()
        assert model.predict_one({"a": v}) == pytest.approx(ref.predict_one({"a": z}),
                                                             rel=1e-12, abs=1e-15)
        model.learn_one({"a": v}, 0.0)
        ref.learn_one({"a": z}, 0.0)


def test_target_scaling_maps_predictions_back():
    """scale_target: a prediction is mean + std * (the net's output), with the running
    mean and standard deviation of the targets learnt so far."""
    rng = np.random.default_rng(0)
    scaled = LSTMRegressor(n_blocks=2, lr=0.0, seed=0)       # lr 0: the same net in both
    raw = LSTMRegressor(n_blocks=2, lr=0.0, scale_target=False, seed=0)
    ys = []
    for _ in range(20):
        x, y = {"a": rng.normal()}, 1000.0 + 10.0 * rng.normal()
        if ys:
            expected = np.mean(ys) + np.std(ys) * raw.predict_one(x)
            assert scaled.predict_one(x) == pytest.approx(expected, rel=1e-12)
        scaled.learn_one(x, y)
        raw.learn_one(x, y)
        ys.append(y)


# --------------------------------------------------------------------------- learning


def _sine_stream(n, seed):
    """y(t) = sin(2 pi t / 7) + noise; the input is y(t-1) only, so that a forecast
    better than the previous value needs y(t-2) too, from memory."""
    rng = np.random.default_rng(seed)
    y = np.sin(2 * np.pi * np.arange(n + 1) / 7) + 0.05 * rng.normal(size=n + 1)
    return [({"lag1": y[i - 1]}, float(y[i])) for i in range(1, n + 1)]


def test_regressor_beats_the_previous_value_on_a_sine():
    stream = _sine_stream(1500, seed=0)
    model = LSTMRegressor(lr=0.05, seed=0)
    err, naive = [], []
    for x, y in stream:
        err.append(abs(model.predict_one(x) - y))
        naive.append(abs(x["lag1"] - y))
        model.learn_one(x, y)
    mae, mae_naive = np.mean(err[-500:]), np.mean(naive[-500:])
    assert mae < 0.5 * mae_naive, (mae, mae_naive)


def _delayed_bits(model, n, delay=1, seed=0):
    """Accuracy over the last 500 samples of the class of the input ``delay`` samples
    back: x(t) alone says nothing about it (independent bits), only memory does."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, n + delay)
    hits = []
    for t in range(delay, n + delay):
        x, y = {"bit": float(bits[t])}, int(bits[t - delay])
        hits.append(model.predict_one(x) == y)
        model.learn_one(x, y)
    return float(np.mean(hits[-500:]))


def test_classifier_remembers_across_samples():
    """The state carries over from sample to sample: the class is the previous
    sample's input bit, which a model without memory gets right half of the time."""
    assert _delayed_bits(LSTMClassifier(lr=0.1, seed=0), 3000) > 0.95


def test_without_carried_state_the_task_is_not_learnt():
    """Control for the test above: a model rebuilt from its pickle at every sample with
    its state reset to zero (same weights and learning) cannot do it."""
    model = LSTMClassifier(lr=0.1, seed=0)
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, 3001)
    hits = []
    for t in range(1, 3001):
        x, y = {"bit": float(bits[t])}, int(bits[t - 1])
        if model.net is not None:
            model._stream.state = model.net.initial_state()
        hits.append(model.predict_one(x) == y)
        model.learn_one(x, y)
    assert np.mean(hits[-500:]) < 0.65


# --------------------------------------------------------------------------- growing


@pytest.mark.parametrize("forget_gate, sources", [(True, "full"), (True, "cells"),
                                                  (False, "full"), (False, "cells")])
def test_a_new_feature_leaves_the_function_unchanged(forget_gate, sources):
    """A key seen for the first time adds an input at its sorted place with zero
    weights and traces: the model goes on exactly as if the key were absent."""
    rng = np.random.default_rng(0)
    kw = dict(n_blocks=2, block_size=2, forget_gate=forget_gate, sources=sources,
              forget_gate_bias=1.0 if forget_gate else None, seed=1)
    a, b = LSTMRegressor(**kw), LSTMRegressor(**kw)
    for _ in range(40):
        x, y = {"b": rng.normal(), "d": rng.normal()}, rng.normal()
        a.learn_one(x, y)
        b.learn_one(x, y)
    # "a", "c" are new: a first value scales to 0 (its deviation is 0)
    a.learn_one({"a": 5.0, "b": 0.1, "c": 2.0, "d": 0.4}, 0.5)
    b.learn_one({"b": 0.1, "d": 0.4}, 0.5)
    assert a.features == ["a", "b", "c", "d"] and b.features == ["b", "d"]
    assert a.net.I == 4
    for name, w in a.net.params.items():   # z columns 1 and 3: inputs "a" and "c"
        if w.ndim == 2:
            assert (w[:, [1, 3]] == 0).all(), name
    for _ in range(20):
        x, y = {"b": rng.normal(), "d": rng.normal()}, rng.normal()
        assert a.predict_one(x) == pytest.approx(b.predict_one(x), rel=1e-12, abs=1e-14)
        a.learn_one(x, y)
        b.learn_one(x, y)
    # the new inputs are learnt from once they vary
    for _ in range(20):
        a.learn_one({"a": rng.normal(), "b": 0.0, "c": rng.normal(), "d": 0.0}, 1.0)
    assert (a.net.params["W_c"][:, 1] != 0).any()


def test_features_in_sorted_order_whatever_the_dict_order():
    a, b = LSTMRegressor(n_blocks=2, seed=3), LSTMRegressor(n_blocks=2, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        v = rng.normal(size=3)
        y = rng.normal()
        a.learn_one({"z": v[0], "m": v[1], "a": v[2]}, y)
        b.learn_one({"a": v[2], "z": v[0], "m": v[1]}, y)
    assert a.features == ["a", "m", "z"]
    assert pickle.dumps(a) == pickle.dumps(b)


def test_new_classes_add_output_units():
    clf = LSTMClassifier(n_blocks=2, seed=0)
    clf.learn_one({"a": 1.0}, "x")
    assert clf.predict_proba_one({"a": 1.0}) == {"x": 1.0}
    assert clf.net.K == 2                  # a softmax needs two units: one waits
    clf.learn_one({"a": 0.0}, "y")
    assert clf.net.K == 2 and clf.classes == ["x", "y"]
    st = clf.state
    clf.learn_one({"a": 0.5}, "z")
    assert clf.net.K == 3 and clf.classes == ["x", "y", "z"]
    p = clf.predict_proba_one({"a": 0.5})
    assert set(p) == {"x", "y", "z"} and math.isclose(sum(p.values()), 1.0)
    assert clf.state != st                 # the state ran on through the growth


def test_classifier_learns_a_three_class_stream():
    rng = np.random.default_rng(0)
    clf = LSTMClassifier(lr=0.1, seed=0)
    hits = []
    for t in range(2000):
        c = int(rng.integers(0, 3))
        x = {"u": c + 0.3 * rng.normal(), "v": rng.normal()}
        hits.append(clf.predict_one(x) == c)
        clf.learn_one(x, c)
    assert np.mean(hits[-500:]) > 0.8


# --------------------------------------------------------------------------- copies


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_pickle_and_deepcopy_continue_bit_for_bit(cls):
    rng = np.random.default_rng(0)
    data = [({"a": rng.normal(), "b": rng.normal()}, int(rng.integers(0, 3)))
            for _ in range(80)]
    model = cls(n_blocks=2, seed=0)
    for x, y in data[:40]:
        model.learn_one(x, y)
    twin = pickle.loads(pickle.dumps(model))
    deep = copy.deepcopy(model)
    assert twin.state == model.state == deep.state
    infer = "predict_proba_one" if cls is LSTMClassifier else "predict_one"
    for x, y in data[40:]:
        pred = getattr(model, infer)(x)
        assert getattr(twin, infer)(x) == pred == getattr(deep, infer)(x)
        for m in (model, twin, deep):
            m.learn_one(x, y)
    assert twin.state == model.state == deep.state
    for m in (twin, deep):
        assert m.features == model.features and m.n_samples == model.n_samples
        for name, w in model.net.params.items():
            np.testing.assert_array_equal(m.net.params[name], w)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_clone_is_fresh_with_the_same_parameters(cls):
    model = cls(n_blocks=3, block_size=2, lr=0.2, forget_gate=False,
                seed=7)
    model.learn_one({"a": 1.0}, 1)
    clone = model.clone()
    assert clone.net is None and clone.n_samples == 0 and model.n_samples == 1
    assert repr(clone) == repr(model)
    assert "n_blocks=3" in repr(model) and "forget_gate=False" in repr(model)
    assert clone.clone({"lr": 0.5}).lr == 0.5


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"n_blocks": 0}, ValueError, "n_blocks"),
    ({"n_blocks": 2.5}, TypeError, "n_blocks"),
    ({"lr": -0.1}, ValueError, "lr"),
    ({"lr": float("nan")}, ValueError, "lr"),
    ({"forget_gate": 1}, TypeError, "forget_gate"),
    ({"forget_gate": False, "forget_gate_bias": 1.0}, ValueError, "forget_gate_bias"),
    ({"sources": "all"}, ValueError, "sources"),
    ({"dtype": "float16"}, ValueError, "dtype"),
    ({"seed": -1}, ValueError, "seed"),
    ({"scale_inputs": "yes"}, TypeError, "scale_inputs"),
])
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bad_parameters(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("x, exc, match", [
    ([1.0, 2.0], TypeError, "dict"),
    ({"a": "red"}, TypeError, "OneHotEncoder"),
    ({"a": float("nan")}, ValueError, "finite"),
    ({"a": math.inf}, ValueError, "finite"),
    ({"a": [1.0]}, TypeError, "real number"),
    ({"a": 1.0, 2: 1.0, ("t", 1): 1.0, ("t", "u"): 2.0}, TypeError, "ordered"),
    ({"a": 1e300}, ValueError, "too large"),
])
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bad_features_raise_and_change_nothing(cls, x, exc, match):
    model = cls(n_blocks=2, seed=0, dtype="float32")
    for i in range(3):
        model.learn_one({"a": float(i)}, i % 2)
    before = pickle.dumps(model)
    with pytest.raises(exc, match=match):
        model.learn_one(x, 1)
    if not (isinstance(x, dict) and len(x) > 1):   # predict ignores unknown keys
        with pytest.raises(exc, match=match):
            (model.predict_proba_one if cls is LSTMClassifier else model.predict_one)(x)
    assert pickle.dumps(model) == before


@pytest.mark.parametrize("y, exc, match", [
    ("3", TypeError, "real number"), (None, TypeError, "real number"),
    (True, TypeError, "real number"), (float("nan"), ValueError, "finite"),
    (math.inf, ValueError, "finite"),
])
def test_bad_regression_targets(y, exc, match):
    model = LSTMRegressor(seed=0)
    model.learn_one({"a": 1.0}, 1.0)
    before = pickle.dumps(model)
    with pytest.raises(exc, match=match):
        model.learn_one({"a": 1.0}, y)
    assert pickle.dumps(model) == before


@pytest.mark.parametrize("y, exc, match", [(None, ValueError, "None"),
                                           ([1], TypeError, "hashable")])
def test_bad_class_labels(y, exc, match):
    model = LSTMClassifier(seed=0)
    model.learn_one({"a": 1.0}, "x")
    before = pickle.dumps(model)
    with pytest.raises(exc, match=match):
        model.learn_one({"a": 1.0}, y)
    assert pickle.dumps(model) == before


def test_divergence_raises_and_restores():
    """A learning rate that blows the net up: FloatingPointError, and the weights and
    state are those from before the sample."""
    model = LSTMRegressor(n_blocks=2, lr=1e300, scale_target=False, scale_inputs=False,
                          seed=0)
    model.learn_one({"a": 1.0}, 1.0)
    with pytest.raises(FloatingPointError):
        for _ in range(10):
            before = pickle.dumps(model)
            model.learn_one({"a": 1e5}, -1e5)
    assert pickle.dumps(model) == before


# --------------------------------------------------------------------------- the docs page


DOCS = __import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "river.md"


@pytest.mark.skipif(not DOCS.exists(), reason="docs/river.md not beside tests/")
def test_docs_examples_run(capsys):
    """The Python blocks of docs/river.md run as written, in order, in one namespace,
    and print what their comments say."""
    import re
    blocks = re.findall(r"^```python\n(.*?)^```", DOCS.read_text(), re.S | re.M)
    assert len(blocks) >= 2
    namespace = {"__name__": "river_docs"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"river.md, python block {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert out == ["0.236", "{'one': 1.0}", "['one', 'zero', 'two'] 3"]


def test_a_new_class_keeps_the_weights_and_state():
    """With lr 0 (no learning), the step that brings a third class changes no old weight,
    and the state runs on from where it was."""
    clf = LSTMClassifier(n_blocks=2, block_size=2, lr=0.0, seed=0)
    clf.learn_one({"a": 1.0}, "x")
    clf.learn_one({"a": 0.0}, "y")
    old = {name: w.copy() for name, w in clf.net.params.items()}
    # 0.5 is the mean of (1, 0, 0.5): scaled, the net's input is 0
    _, expected = clf.net.forward(np.zeros((1, 1)), clf.state, return_state=True)
    clf.learn_one({"a": 0.5}, "z")
    assert clf.net.K == 3
    for name, w in old.items():
        got = clf.net.params[name][:2] if name == "W_k" else clf.net.params[name]
        np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(clf.state.s, expected.s)
