"""Batched inference: forward over (N, T, I) equals N single calls bit for bit, for
every thread count and both dtypes, with ragged lengths and states; the default thread
count (set_num_threads, FASTLSTM_NUM_THREADS); errors."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _threads, oracle
from _helpers import RTOL, assert_close, random_config, unbounded_cell

DTYPES = ["float64", "float32"]


@pytest.fixture(autouse=True)
def no_default_threads(monkeypatch):
    """Every test starts without a set count and without the environment variable."""
    monkeypatch.delenv(_threads.ENV_VAR, raising=False)
    fastlstm.set_num_threads(None)
    yield
    fastlstm.set_num_threads(None)


def make(cls, dtype, seed):
    rng = np.random.default_rng(seed)
    cfg = random_config(rng)
    if unbounded_cell(cfg) or cfg["out"] == "linear":
        cfg["init_range"] = min(cfg["init_range"], 0.2)
    return cfg, cls(**cfg, dtype=dtype, seed=seed)


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(8))
def test_batch_is_n_single_calls(seed, dtype):
    cfg, net = make(fastlstm.LSTM, dtype, seed)
    rng = np.random.default_rng(seed)
    N, T = int(rng.integers(1, 12)), int(rng.integers(1, 15))
    x = rng.uniform(-1, 1, (N, T, net.I))
    lengths = rng.integers(0, T + 1, N)
    lengths[0] = T
    singles = [net.forward(x[n]) for n in range(N)]
    for n_threads in (1, 2, 3, 8, 64):
        y = net.forward(x, n_threads=n_threads)
        assert y.shape == (N, T, net.K) and y.dtype == net.dtype
        for n in range(N):
            assert same(y[n], singles[n]), (n_threads, n)
        y, states = net.forward(x, lengths=lengths, n_threads=n_threads, return_state=True)
        assert len(states) == N
        for n in range(N):
            L = int(lengths[n])
            if L:
                ref, st = net.forward(x[n, :L], return_state=True)
                assert same(y[n, :L], ref), (n_threads, n)
                assert states[n] == st
            else:
                assert states[n] == net.initial_state()
            assert not y[n, L:].any()                 # zero past the length


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", [1, 2, 5])
def test_batch_from_states(n_threads, dtype):
    _, net = make(fastlstm.LSTM, dtype, 11)
    rng = np.random.default_rng(11)
    N, T = 6, 9
    x = rng.uniform(-1, 1, (N, 2 * T, net.I))
    lengths = np.array([T, 3, 0, T, 1, 7])
    y1, st = net.forward(x[:, :T], return_state=True, n_threads=n_threads)
    y2, st2 = net.forward(x[:, T:], st, True, lengths=lengths, n_threads=n_threads)
    for n in range(N):
        L = T + int(lengths[n])
        whole, st_whole = net.forward(x[n, :L], return_state=True)
        assert same(np.concatenate([y1[n], y2[n, :lengths[n]]]), whole)
        assert st2[n] == st_whole
    # a batch of states fits a batch of pieces of the same sequences, traces kept
    _, trained = net.train_sequence(x[0, :4], np.zeros((4, net.K)), lr=0.0,
                                    return_state=True)
    _, out = net.forward(x[:1, 4:], [trained], return_state=True)
    assert same(out[0].dS_c, trained.dS_c)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_oracle_batch(seed, dtype):
    cfg, ref = make(oracle.LSTM, dtype, seed)
    net = fastlstm.LSTM(**cfg, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    N, T = 4, 7
    x = rng.uniform(-1, 1, (N, T, net.I))
    lengths = np.array([7, 0, 2, 5])
    y_ref, st_ref = ref.forward(x, lengths=lengths, return_state=True, n_threads=3)
    for n in range(N):
        assert same(y_ref[n, :lengths[n]], ref.forward(x[n, :lengths[n]])
                    if lengths[n] else y_ref[n, :0])
        assert not y_ref[n, lengths[n]:].any()
    y, st = net.forward(x, lengths=lengths, return_state=True, n_threads=2)
    assert_close(y, y_ref, RTOL[net.dtype] * 10, "compiled batch vs oracle batch")
    for a, b in zip(st, st_ref):
        assert_close(a.data, b.data, RTOL[net.dtype] * 10, "states")


def test_batch_nonfinite_names_the_sequence():
    net = fastlstm.LSTM(1, 1, 1, 1, out="linear", input_to_output=True, seed=0)
    net.params["W_k"][...] = 1e300
    x = np.zeros((3, 4, 1))
    x[2, 3, 0] = 1e10
    with pytest.raises(FloatingPointError, match="sequence 2"):
        net.forward(x, n_threads=2)
    # past its length the bad input is never read
    assert net.forward(x, lengths=[4, 4, 3]).shape == (3, 4, 1)


@pytest.mark.parametrize("cls", [fastlstm.LSTM, oracle.LSTM])
def test_batch_errors(cls):
    net = cls(2, 1, 2, seed=0)
    x = np.zeros((3, 4, 2))
    cases = [
        (dict(lengths=[4, 4]), ValueError, r"lengths: expected shape \(3,\)"),
        (dict(lengths=[4, 5, 0]), ValueError, r"lengths: every length must be in \[0, 4\]"),
        (dict(lengths=[4, -1, 0]), ValueError, r"in \[0, 4\]"),
        (dict(lengths=[4.0, 1.0, 0.0]), TypeError, "lengths: expected integers"),
        (dict(n_threads=0), ValueError, r"n_threads: must be in \[1, 64\]"),
        (dict(n_threads=65), ValueError, r"n_threads: must be in \[1, 64\]"),
        (dict(n_threads=True), TypeError, "n_threads"),
        (dict(n_threads=2.0), TypeError, "n_threads"),
        (dict(state=net.initial_state()), TypeError, "sequence of 3 States"),
        (dict(state=[net.initial_state()] * 2), ValueError, "expected 3 States"),
        (dict(state=[net.initial_state()] * 2 + [None]), TypeError, r"state\[2\]"),
    ]
    for kwargs, err, words in cases:
        with pytest.raises(err, match=words):
            net.forward(x, **kwargs)
    with pytest.raises(ValueError, match="lengths: only for a batch"):
        net.forward(x[0], lengths=[4])
    with pytest.raises(ValueError, match=r"\(N, T, 2\)"):
        net.forward(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"N and T must be >= 1"):
        net.forward(np.zeros((0, 3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        net.forward(np.full((2, 3, 2), np.nan))
    with pytest.raises(ValueError, match=r"2-d array \(T, 2\) or a batch"):
        net.forward(np.zeros((1, 1, 3, 2)))
    with pytest.raises(ValueError, match=r"n_threads"):
        net.forward(x[0], n_threads=0)        # checked for one sequence too


def test_num_threads_setting(monkeypatch):
    assert fastlstm.get_num_threads() == 1
    fastlstm.set_num_threads(3)
    assert fastlstm.get_num_threads() == 3
    monkeypatch.setenv("FASTLSTM_NUM_THREADS", "5")
    assert fastlstm.get_num_threads() == 3          # an explicit setting wins
    fastlstm.set_num_threads(None)
    assert fastlstm.get_num_threads() == 5
    monkeypatch.setenv("FASTLSTM_NUM_THREADS", " ")
    assert fastlstm.get_num_threads() == 1
    for bad in (0, 65, -1):
        with pytest.raises(ValueError, match=r"\[1, 64\]"):
            fastlstm.set_num_threads(bad)
    for bad in (2.0, "2", True):
        with pytest.raises(TypeError, match="integer"):
            fastlstm.set_num_threads(bad)
    assert fastlstm.get_num_threads() == 1
    fastlstm.set_num_threads(np.int64(2))
    assert fastlstm.get_num_threads() == 2 and type(fastlstm.get_num_threads()) is int


@pytest.mark.parametrize("value", ["abc", "0", "65", "2.5"])
def test_bad_environment_is_a_clear_error_where_the_default_is_used(monkeypatch, value):
    monkeypatch.setenv("FASTLSTM_NUM_THREADS", value)
    with pytest.raises(ValueError, match="FASTLSTM_NUM_THREADS"):
        fastlstm.get_num_threads()
    net = fastlstm.LSTM(2, 1, 2, seed=0)
    x, y = np.zeros((3, 4, 2)), np.zeros((3, 4, 1))
    with pytest.raises(ValueError, match="FASTLSTM_NUM_THREADS"):
        net.forward(x)
    with pytest.raises(ValueError, match="FASTLSTM_NUM_THREADS"):
        net.train_batch(x, y)
    # given explicitly, the variable is not read; one sequence never needs it
    net.forward(x, n_threads=2)
    net.train_batch(x, y, n_threads=2)
    net.forward(x[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_default_thread_count_gives_the_same_bits(monkeypatch, dtype):
    _, net = make(fastlstm.LSTM, dtype, 21)
    rng = np.random.default_rng(21)
    x = rng.uniform(-1, 1, (9, 6, net.I))
    y = rng.uniform(0, 1, (9, 6, net.K))
    ref = net.forward(x, n_threads=1)
    theta = net._theta.copy()
    out_ref = net.train_batch(x, y, lr=0.1)
    after = net._theta.copy()
    for setting in ("env", "set"):
        net._theta[...] = theta
        if setting == "env":
            monkeypatch.setenv("FASTLSTM_NUM_THREADS", "4")
        else:
            monkeypatch.delenv("FASTLSTM_NUM_THREADS")
            fastlstm.set_num_threads(3)
        assert same(net.forward(x), ref)
        assert same(net.train_batch(x, y, lr=0.1), out_ref)
        assert same(net._theta, after)
