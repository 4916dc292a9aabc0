"""A Stream with schedule "sequence" applies its summed update at end() only: forgetting
end() must not pass silently (a RuntimeWarning at garbage collection), and the
context-manager form ends the stream on leaving the block."""
import gc
import warnings

import numpy as np
import pytest

import fastlstm
from fastlstm import oracle


@pytest.fixture(params=["compiled", "oracle"])
def backend(request):
    return fastlstm.LSTM if request.param == "compiled" else oracle.LSTM


def small(backend):
    return backend(2, 1, 2, 2, seed=0)


def data(T=15, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (T, 2)), rng.uniform(0, 1, (T, 1))


def _collect(stream_maker):
    """Run ``stream_maker`` (which drops its stream), collect, return the warnings."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        stream_maker()
        gc.collect()
    return [w for w in rec if issubclass(w.category, RuntimeWarning)]


def test_forgotten_end_warns(backend):
    net = small(backend)
    x, y = data()

    def forget():
        s = net.stream(learn=True, lr=0.3, schedule="sequence")
        for t in range(len(x)):
            s.step(x[t], y[t])
    got = _collect(forget)
    assert len(got) == 1
    assert "end()" in str(got[0].message) and "15 steps" in str(got[0].message)


def test_forgotten_end_after_feed_warns(backend):
    net = small(backend)
    x, y = data()
    got = _collect(lambda: net.stream(learn=True, schedule="sequence").feed(x, y))
    assert len(got) == 1


@pytest.mark.parametrize("case", ["ended", "step-schedule", "no-learn", "no-target",
                                  "feed-no-target", "reset"])
def test_no_warning_without_a_lost_update(backend, case):
    net = small(backend)
    x, y = data()

    def run():
        if case == "step-schedule":
            s = net.stream(learn=True, schedule="step")
            s.step(x[0], y[0])
        elif case == "no-learn":
            s = net.stream(schedule="sequence")
            s.step(x[0], y[0])
        elif case == "no-target":
            s = net.stream(learn=True, schedule="sequence")
            s.step(x[0])
        elif case == "feed-no-target":
            s = net.stream(learn=True, schedule="sequence")
            s.feed(x, y, mask=np.zeros(len(x), bool))
        else:
            s = net.stream(learn=True, schedule="sequence")
            s.step(x[0], y[0])
            s.end() if case == "ended" else s.reset()
    assert _collect(run) == []


def test_context_manager_ends_the_stream(backend):
    """``with net.stream(...) as s`` gives the weights of train_sequence."""
    x, y = data(T=20, seed=2)
    a, b = small(backend), small(backend)
    b.train_sequence(x, y, lr=0.4, schedule="sequence")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with a.stream(learn=True, lr=0.4, schedule="sequence") as s:
            assert isinstance(s, fastlstm.Stream)
            for t in range(20):
                s.step(x[t], y[t])
        del s
        gc.collect()
    assert np.array_equal(a._theta, b._theta)


def test_context_manager_after_an_error_discards_the_update(backend):
    """An exception inside the block: the update of the unfinished sequence is not
    applied, the exception propagates, and nothing warns later."""
    x, y = data()
    net = small(backend)
    before = net._theta.copy()

    def run():
        with pytest.raises(KeyError):
            with net.stream(learn=True, lr=0.4, schedule="sequence") as s:
                s.step(x[0], y[0])
                raise KeyError("stop")
    assert _collect(run) == []
    assert np.array_equal(net._theta, before)


def test_no_warning_after_an_end_that_raised(backend):
    """end() that diverges (FloatingPointError, weights restored) has told the caller:
    no second report at garbage collection."""
    net = small(backend)
    x, y = data()

    def run():
        s = net.stream(learn=True, lr=1e300, schedule="sequence")
        s.feed(x * 1e300, y)
        with pytest.raises(FloatingPointError):
            s.end()
    assert _collect(run) == []
