"""Explicit states: pieces with the state passed along give the bits of one call, for
every entry point (forward, train_sequence, Stream.step/feed), both dtypes, compiled
and oracle; State as a value (copy, pickle, ==); errors for states that do not fit."""
import copy
import pickle

import numpy as np
import pytest

import fastlstm
from fastlstm import oracle
from _helpers import RTOL, assert_close, random_config, unbounded_cell

BACKENDS = {"c": fastlstm.LSTM, "oracle": oracle.LSTM}
DTYPES = ["float64", "float32"]


def make(backend, dtype, seed, cfg=None):
    rng = np.random.default_rng(seed)
    if cfg is None:
        cfg = random_config(rng)
        if unbounded_cell(cfg) or cfg["out"] == "linear":
            cfg["init_range"] = min(cfg["init_range"], 0.2)
    net = BACKENDS[backend](**cfg, dtype=dtype, seed=seed)
    return cfg, net


def data(seed, net, T):
    rng = np.random.default_rng(1000 + seed)
    x = rng.uniform(-1, 1, (T, net.I))
    y = rng.uniform(0, 1, (T, net.K))
    mask = rng.random(T) < 0.6
    cuts = np.sort(rng.choice(np.arange(1, T), size=min(3, T - 1), replace=False))
    return x, y, mask, [0, *cuts.tolist(), T]


def lr_for(cfg):
    return 0.02 if unbounded_cell(cfg) or cfg["out"] == "linear" else 0.3


def same(a, b):
    """Bitwise equal arrays (same dtype, shape and values)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(6))
def test_forward_in_pieces_is_one_call(seed, dtype, backend):
    cfg, net = make(backend, dtype, seed)
    x, _, _, cuts = data(seed, net, 13)
    whole, st_whole = net.forward(x, return_state=True)
    assert same(whole, net.forward(x))
    st = net.initial_state()
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        before = st.copy()
        y, st2 = net.forward(x[a:b], st, return_state=True)
        assert st == before                      # the state passed in is not changed
        parts.append(y)
        st = st2
    assert same(np.concatenate(parts), whole)
    assert st == st_whole
    # without return_state the outputs are the same
    assert same(net.forward(x[cuts[1]:], net.forward(x[:cuts[1]], return_state=True)[1]),
                whole[cuts[1]:])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(6))
def test_train_sequence_in_pieces_is_one_call(seed, dtype, backend):
    cfg, net = make(backend, dtype, seed)
    _, piece_net = make(backend, dtype, seed, cfg)
    x, y, mask, cuts = data(seed, net, 13)
    lr = lr_for(cfg)
    whole, st_whole = net.train_sequence(x, y, mask, lr=lr, return_state=True)
    st = None
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        out, st = piece_net.train_sequence(x[a:b], y[a:b], mask[a:b], lr=lr, state=st,
                                           return_state=True)
        parts.append(out)
    assert same(np.concatenate(parts), whole)
    assert same(piece_net._theta, net._theta)
    assert st == st_whole
    assert np.any(st.dS_c != 0) or not mask.any() or not net.masks["W_c"].any()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_train_sequence_from_initial_state_is_the_plain_call(schedule, dtype, backend):
    cfg, a = make(backend, dtype, 3)
    _, b = make(backend, dtype, 3, cfg)
    x, y, mask, _ = data(3, a, 11)
    out_a = a.train_sequence(x, y, mask, lr=0.2, schedule=schedule)
    out_b = b.train_sequence(x, y, mask, lr=0.2, schedule=schedule,
                             state=b.initial_state())
    assert same(out_a, out_b) and same(a._theta, b._theta)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sequence_schedule_applies_at_the_end_of_each_call(dtype, backend):
    """Schedule "sequence" with a state: the call's own summed update, applied at its
    end; so the second piece runs on weights moved by the first (documented)."""
    cfg, a = make(backend, dtype, 4)
    _, b = make(backend, dtype, 4, cfg)
    x, y, mask, _ = data(4, a, 12)
    _, st = a.train_sequence(x[:6], y[:6], mask[:6], lr=0.3, schedule="sequence",
                             return_state=True)
    after_first = a._theta.copy()
    a.train_sequence(x[6:], y[6:], mask[6:], lr=0.3, schedule="sequence", state=st)
    # the same by hand: the second piece's update from a Stream on the moved weights
    b._theta[...] = after_first
    s = b.stream(learn=True, lr=0.3, schedule="sequence", state=st)
    s.feed(x[6:], y[6:], mask[6:])
    s.end()
    assert same(a._theta, b._theta)
    assert not same(after_first, a._theta)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("learn", [False, True])
def test_stream_from_and_to_a_state(learn, dtype, backend):
    cfg, net = make(backend, dtype, 5)
    _, ref = make(backend, dtype, 5, cfg)
    x, y, mask, cuts = data(5, net, 14)
    lr = lr_for(cfg)
    if learn:
        whole, st_whole = ref.train_sequence(x, y, mask, lr=lr, return_state=True)
    else:
        whole, st_whole = ref.forward(x, return_state=True)
    st = net.initial_state()
    parts = []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        s = net.stream(learn=learn, lr=lr, state=st)       # a new stream per piece
        if k % 2:
            parts.append(s.feed(x[a:b], y[a:b], mask[a:b]))
        else:
            parts.append(np.array([s.step(x[t], y[t] if mask[t] else None)
                                   for t in range(a, b)]))
        st = s.state
        s.end()
    assert same(np.concatenate(parts), whole)
    assert same(net._theta, ref._theta)
    if learn:
        assert st == st_whole
    else:                                           # the traces are not run
        assert same(st.s, st_whole.s) and same(st.y_c, st_whole.y_c)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_streams_swap_states(backend):
    _, net = make(backend, "float64", 6)
    rng = np.random.default_rng(6)
    xa, xb = rng.uniform(-1, 1, (2, 9, net.I))
    sa, sb = net.stream(), net.stream()
    for t in range(4):
        sa.step(xa[t])
        sb.step(xb[t])
    sa.state, sb.state = sb.state, sa.state
    ya = [sa.step(xb[t]) for t in range(4, 9)]
    yb = [sb.step(xa[t]) for t in range(4, 9)]
    assert same(np.array(ya), net.forward(xb)[4:])
    assert same(np.array(yb), net.forward(xa)[4:])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_compiled_and_oracle_states_agree(seed, dtype):
    cfg, net = make("c", dtype, seed)
    _, ref = make("oracle", dtype, seed, cfg)
    x, y, mask, cuts = data(seed, net, 10)
    lr = lr_for(cfg)
    _, st = net.train_sequence(x[:5], y[:5], mask[:5], lr=lr, return_state=True)
    _, st_ref = ref.train_sequence(x[:5], y[:5], mask[:5], lr=lr, return_state=True)
    rtol = RTOL[net.dtype] * 10
    assert_close(st.data, st_ref.data, rtol, "state after training")
    # a state of one backend continues a sequence on the other
    out = ref.forward(x[5:], st)
    out_ref = ref.forward(x[5:], st_ref)
    assert_close(out, out_ref, rtol, "oracle from the compiled state")


def test_state_is_a_value():
    net = fastlstm.LSTM(2, 1, 2, 3, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (5, 2))
    _, st = net.train_sequence(x, np.ones((5, 1)), lr=0.1, return_state=True)
    for other in (st.copy(), copy.copy(st), copy.deepcopy(st),
                  pickle.loads(pickle.dumps(st))):
        assert other == st and other is not st
        assert other.data.base is not st.data.base
    assert st != net.initial_state()
    assert (st == 3) is False
    with pytest.raises(TypeError):
        hash(st)
    with pytest.raises(ValueError):
        st.s[0] = 1.0                                # read-only views
    assert st.s.shape == (6,) and st.y_c.shape == (6,) and st.y_in.shape == (2,)
    assert st.y_out.shape == (2,) and st.dS_c.shape == (6, net.nz)
    assert st.dS_in.shape == (6, net.nz) and st.dtype == np.float64
    assert st.shape == (2, 2, 3, True)
    assert "n_blocks=2" in repr(st)
    assert fastlstm.LSTM(2, 1, 2, output_gate=False).initial_state().y_out is None
    zero = net.initial_state()
    assert not zero.data.any() and zero.data.size == net._layout["state_len"]


def test_forward_state_keeps_the_traces():
    net = fastlstm.LSTM(2, 1, 2, 2, seed=1)
    x = np.random.default_rng(1).uniform(-1, 1, (6, 2))
    _, st = net.train_sequence(x, np.ones((6, 1)), lr=0.1, return_state=True)
    _, st2 = net.forward(x, st, return_state=True)
    assert same(st2.dS_c, st.dS_c) and same(st2.dS_in, st.dS_in)
    assert not same(st2.s, st.s)


def test_a_failed_call_changes_neither_weights_nor_state():
    net = fastlstm.LSTM(1, 1, 1, 1, g="id", h="id", out="linear", seed=0)
    _, st = net.forward(np.ones((1, 1)), return_state=True)
    net.params["W_c"][...] = 1e300
    net.params["W_k"][...] = 1e300
    before = net._theta.copy()
    saved = st.copy()
    with pytest.raises(FloatingPointError):
        net.forward(np.ones((3, 1)), st, return_state=True)
    with pytest.raises(FloatingPointError):
        net.train_sequence(np.ones((3, 1)), np.ones((3, 1)), lr=1.0, state=st)
    assert same(net._theta, before) and st == saved


@pytest.mark.parametrize("backend", BACKENDS)
def test_states_that_do_not_fit(backend):
    cls = BACKENDS[backend]
    net = cls(2, 1, 2, 2, seed=0)
    x = np.zeros((3, 2))
    for bad, err, words in [
            (cls(3, 1, 2, 2).initial_state(), ValueError, "n_in=3"),
            (cls(2, 1, 2, 1).initial_state(), ValueError, "block_size=1"),
            (cls(2, 1, 2, 2, output_gate=False).initial_state(), ValueError,
             "output_gate=False"),
            (cls(2, 1, 2, 2, dtype="float32").initial_state(), ValueError, "float32"),
            (np.zeros(net._layout["state_len"]), TypeError, "fastlstm.State"),
            ([net.initial_state()], TypeError, "fastlstm.State")]:
        with pytest.raises(err, match=words):
            net.forward(x, bad)
        with pytest.raises(err, match=words):
            net.train_sequence(x, np.ones((3, 1)), state=bad)
        with pytest.raises(err, match=words):
            net.stream(state=bad)
    # another net's state of the same shape fits (n_out plays no part)
    assert net.forward(x, cls(2, 5, 2, 2).initial_state()).shape == (3, 1)
    with pytest.raises(TypeError, match="return_state"):
        net.forward(x, return_state=1)


def test_state_constructor_checks():
    shape = (2, 2, 2, True)
    n = fastlstm.LSTM(2, 1, 2, 2).initial_state().data.size
    assert fastlstm.State(shape, np.zeros(n)) == fastlstm.LSTM(2, 1, 2, 2).initial_state()
    with pytest.raises(ValueError, match="expected shape"):
        fastlstm.State(shape, np.zeros(n + 1))
    with pytest.raises(TypeError, match="float64 or float32"):
        fastlstm.State(shape, np.zeros(n, int))
    with pytest.raises(ValueError, match="NaN"):
        fastlstm.State(shape, np.full(n, np.nan))
    with pytest.raises(TypeError, match="shape"):
        fastlstm.State(3, np.zeros(n))
