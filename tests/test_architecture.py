"""Weight counts (docs/model.md), layout, initialisation and the memory-cell locks."""
import numpy as np
import pytest

import fastlstm
from fastlstm import oracle

# (description, constructor arguments, the paper's weight count)
PAPER_NETS = [
    ("ERG 4x1", dict(n_in=7, n_out=7, n_blocks=4, block_size=1, bias="gates"), 264),
    ("ERG 3x2", dict(n_in=7, n_out=7, n_blocks=3, block_size=2, bias="gates"), 276),
    *[(f"2c p={p}", dict(n_in=p + 4, n_out=2, n_blocks=2, block_size=1, bias=False), w)
      for p, w in [(50, 364), (100, 664), (200, 1264), (500, 3064), (1000, 6064)]],
    ("3a-c", dict(n_in=1, n_out=1, n_blocks=3, block_size=1, bias=("gates", "cells")), 102),
    ("adding", dict(n_in=2, n_out=1, n_blocks=2, block_size=2), 93),
    ("multiplication", dict(n_in=2, n_out=1, n_blocks=2, block_size=2), 93),
    ("6a", dict(n_in=8, n_out=4, n_blocks=2, block_size=2), 156),
    ("6b", dict(n_in=8, n_out=8, n_blocks=3, block_size=2), 308),
    ("2a/2b", dict(n_in=101, n_out=101, n_blocks=1, block_size=1, output_gate=False,
                   recurrent=False, bias=False, input_to_output=True, g="g1", h="id"),
     10504),
]


def paper_formula(I, K, B, S, bc, bg, bo):
    """W = C(I+H+bc) + 2B(I+H+bg) + K(C+bo), H = C + 2B (the paper's count)."""
    C = B * S
    H = C + 2 * B
    return C * (I + H + bc) + 2 * B * (I + H + bg) + K * (C + bo)


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
@pytest.mark.parametrize("name,kw,count", PAPER_NETS, ids=[p[0] for p in PAPER_NETS])
def test_paper_weight_counts(name, kw, count, backend):
    net = backend(**kw, seed=0)
    assert net.n_weights == count
    # unmasked weights are nonzero after random init (none lost in the layout)
    assert np.count_nonzero(net._theta) == count


def test_formula_matches_for_topology_F():
    for I, K, B, S in [(7, 7, 4, 1), (2, 1, 2, 2), (8, 8, 3, 2), (3, 5, 2, 4)]:
        net = fastlstm.LSTM(I, K, B, S, bias=True)
        assert net.n_weights == paper_formula(I, K, B, S, 1, 1, 1)


def test_layout_views_and_shapes():
    net = fastlstm.LSTM(3, 2, 2, 3, seed=0)
    C, nz = 6, 1 + 3 + 6 + 2 + 2
    assert net.params["W_in"].shape == (2, nz)
    assert net.params["W_out"].shape == (2, nz)
    assert net.params["W_c"].shape == (C, nz)
    assert net.params["W_k"].shape == (2, 1 + 3 + C)
    sizes = [a.size for a in net.params.values()]
    assert sum(sizes) == net._theta.size
    for a in net.params.values():       # views into the one block
        assert np.shares_memory(a, net._theta)
    x = np.random.default_rng(0).uniform(-1, 1, (10, 3))
    y0 = net.forward(x)
    net.params["W_k"][:, 0] += 1.0      # writing a view changes the net
    assert not np.allclose(net.forward(x), y0)
    with pytest.raises(ValueError):
        net.masks["W_k"][0, 0] = 0      # masks are read-only views


def test_no_output_gate_has_no_W_out():
    net = fastlstm.LSTM(2, 1, 2, 1, output_gate=False)
    assert "W_out" not in net.params and "W_out" not in net.masks


def test_init_interval_and_gate_biases():
    net = fastlstm.LSTM(2, 1, 2, 2, init_range=0.1, in_gate_bias=[-3, -6],
                        out_gate_bias=-2.0, seed=1)
    assert np.array_equal(net.params["W_in"][:, 0], [-3, -6])
    assert np.array_equal(net.params["W_out"][:, 0], [-2, -2])
    rest = np.concatenate([net.params["W_in"][:, 1:].ravel(), net.params["W_c"].ravel(),
                           net.params["W_k"].ravel()])
    assert np.abs(rest).max() <= 0.1 and np.abs(rest).max() > 0.05


def test_same_seed_same_weights_different_seed_different():
    a = fastlstm.LSTM(2, 1, 2, 2, seed=5)
    b = oracle.LSTM(2, 1, 2, 2, seed=5)
    c = fastlstm.LSTM(2, 1, 2, 2, seed=6)
    assert np.array_equal(a._theta, b._theta)
    assert not np.array_equal(a._theta, c._theta)


def test_set_mask_zeroes_and_freezes():
    net = fastlstm.LSTM(2, 1, 1, 1, seed=0)
    m = np.ones_like(net.masks["W_c"])
    m[0, 2] = 0
    net.set_mask("W_c", m)
    assert net.params["W_c"][0, 2] == 0
    rng = np.random.default_rng(0)
    net.train_sequence(rng.uniform(-1, 1, (20, 2)), rng.uniform(0, 1, (20, 1)), lr=1.0)
    assert net.params["W_c"][0, 2] == 0
    assert net.n_weights == 6 + 6 + 6 + 2 - 1   # nz = 6; x columns of W_k masked


# ---------------------------------------------------------------- the memory cell locks


def one_cell(backend=fastlstm.LSTM, **kw):
    """I=1, K=1, one block of one cell, no recurrence: easy to reason about."""
    net = backend(1, 1, 1, 1, recurrent=False, out="linear", seed=0, **kw)
    return net


def run_states(net, x):
    """Cell states s(t) from the streaming state after every step."""
    st = net.stream()
    states = []
    for x_t in x:
        st.step(x_t)
        states.append(st._state[net.nz] if isinstance(st._state, np.ndarray)
                      else st._state["s"][0])
    return np.array(states)


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
def test_input_gate_shut_holds_the_state_exactly(backend):
    net = one_cell(backend)
    # write once: input gate open at t = 0 (x = 1), then shut (x = -1)
    net.params["W_in"][0, :2] = [0.0, 1000.0]     # net_in = 1000 x: sig -> 1 or 0
    net.params["W_c"][0, :2] = [0.0, 1.0]
    x = np.full((1000, 1), -1.0)
    x[0, 0] = 1.0
    x[1:, 0] = np.random.default_rng(0).uniform(-1, -0.5, 999)  # whatever the input
    s = run_states(net, x)
    assert s[0] != 0
    assert np.all(s[1:] == s[0]), "the CEC leaked while the input gate was shut"


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
def test_input_gate_shut_state_stays_zero(backend):
    net = one_cell(backend)
    net.params["W_in"][0, 0] = -1000.0            # always shut
    x = np.random.default_rng(1).normal(0, 5, (1000, 1))
    assert np.all(run_states(net, x) == 0)


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
def test_output_gate_shut_hides_the_cell(backend):
    net = one_cell(backend)
    net.params["W_in"][0, 0] = 5.0                # gate open: the state grows
    net.params["W_c"][0, :2] = [2.0, 0.0]
    net.params["W_out"][0, 0] = -50.0             # output gate shut: y_out ~ 2e-22
    net.params["W_k"][0, :] = [0.0, 0.0, 1.0]     # y_k = y_c
    y = net.forward(np.ones((50, 1)))
    assert np.abs(y).max() < 1e-20


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
def test_value_written_once_is_held_until_read(backend):
    """Input gate opens once (x[0] = 1) to write; the output gate opens once (x[1] = 1,
    at t = 60) to read; the output then shows h(s) of the value written at t = 10."""
    net = backend(2, 1, 1, 1, recurrent=False, out="linear", seed=0)
    net.params["W_in"][0, :3] = [-30.0, 60.0, 0.0]   # open only when x0 = 1
    net.params["W_out"][0, :3] = [-30.0, 0.0, 60.0]  # open only when x1 = 1
    net.params["W_c"][0, :3] = [0.5, 0.0, 0.0]       # g(0.5) is written
    net.params["W_k"][0, :] = [0.0, 0.0, 0.0, 1.0]   # y_k = y_c
    x = np.zeros((100, 2))
    x[10, 0] = 1.0
    x[60, 1] = 1.0
    y = net.forward(x)[:, 0]
    written = 2 * np.tanh(0.25)                      # g2(0.5) times y_in ~ 1
    held = np.tanh(0.5 * written)                    # h1(s)
    assert abs(y[60] - held) < 1e-9
    assert np.abs(np.delete(y, 60)).max() < 1e-9
