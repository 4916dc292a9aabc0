"""Stream.peek: the outputs of the next step without taking it, bitwise those of the
step that follows, with the stream and the net left as they were; compiled and oracle,
both dtypes, the 1997 cell and the family's options, every stream mode."""
import numpy as np
import pytest

import fastlstm
from fastlstm import oracle

BACKENDS = {"c": fastlstm.LSTM, "oracle": oracle.LSTM}
CONFIGS = {
    "1997": {},
    "forget-cells": {"forget_gate": True, "forget_gate_bias": 1.0, "sources": "cells"},
    "peepholes-softmax": {"forget_gate": True, "peepholes": True, "out": "softmax"},
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("learn, schedule", [(False, "step"), (True, "step"),
                                             (True, "sequence")])
def test_peek_is_the_next_step_and_changes_nothing(backend, dtype, config, learn,
                                                   schedule):
    net = BACKENDS[backend](n_in=3, n_out=2, n_blocks=2, block_size=2, dtype=dtype,
                            seed=0, **CONFIGS[config])
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (12, 3))
    y = rng.uniform(0, 1, (12, 2))
    y /= y.sum(axis=1, keepdims=True)            # a distribution, for softmax outputs
    s = net.stream(learn=learn, lr=0.3, schedule=schedule)
    for t in range(12):
        state, params = s.state, {n: w.copy() for n, w in net.params.items()}
        first = s.peek(x[t])
        again = s.peek(x[t])
        assert s.state == state                  # state, traces: as they were
        for name, w in params.items():
            assert np.array_equal(net.params[name], w), name
        out = s.step(x[t], y[t] if t % 3 else None)
        assert first.dtype == out.dtype == np.dtype(dtype)
        assert np.array_equal(first, out) and np.array_equal(again, out), t
    s.end()


def test_peek_checks_its_input():
    s = fastlstm.LSTM(n_in=2, n_out=1, n_blocks=1, seed=0).stream()
    with pytest.raises(ValueError, match="x_t"):
        s.peek([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="x_t"):
        s.peek([np.nan, 0.0])
    with pytest.raises(TypeError, match="x_t"):
        s.peek(["a", "b"])
