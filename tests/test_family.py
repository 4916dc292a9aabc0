"""The LSTM family: forget gates, peepholes, "cells" sources and softmax outputs.

Options and layout (the 1997 cell unchanged by default), files, the compiled net's refusal
of what it does not compute yet, and the oracle checked by independent computations: the
reverse-mode ``fastlstm.bptt``, central finite differences and (if installed) PyTorch.
"""
import json
import zipfile

import numpy as np
import pytest

from _helpers import assert_close, family_config, kernel_run, random_config
import fastlstm
from fastlstm import _core, bptt, oracle
from fastlstm._base import FORMAT_VERSION, layout

OPTIONS = ("forget_gate", "peepholes", "sources", "softmax")


def targets(rng, net, T):
    """Targets for the net's output kind: probability rows for softmax (each sums to 1,
    so that the cross-entropy is -sum t log y), values in [0, 1] otherwise."""
    if net.config["out"] == "softmax":
        return rng.dirichlet(np.ones(net.K), size=T)
    return rng.uniform(0, 1, (T, net.K))


def loss_from_outputs(net, x, y, mask):
    """The loss computed from forward() alone (what finite differences differentiate)."""
    out = net.forward(x)
    if net.config["out"] == "softmax":
        return float(-np.sum((y * np.log(out))[mask]))
    return 0.5 * float(np.sum(((y - out) ** 2)[mask]))


def accumulated_update(net, x, y, mask, lr):
    """The summed update of schedule "sequence" (before it is applied)."""
    s = net.stream(learn=True, lr=lr, schedule="sequence")
    for t in range(len(x)):
        s.step(x[t], y[t] if mask[t] else None)
    dW = {name: net._view(s._dW.copy(), name) for name in net.params}
    s.reset()                          # discarded on purpose: the net keeps its weights
    return dW


def finite_differences(net, x, y, mask, eps=1e-6):
    """Central differences of the loss over every unmasked weight (flat)."""
    theta = net._theta
    fd = np.zeros_like(theta)
    for i in np.flatnonzero(net._mask):
        keep = theta[i]
        theta[i] = keep + eps
        lp = loss_from_outputs(net, x, y, mask)
        theta[i] = keep - eps
        lm = loss_from_outputs(net, x, y, mask)
        theta[i] = keep
        fd[i] = (lp - lm) / (2 * eps)
    return fd


def flat(net, grads):
    out = np.zeros_like(net._theta)
    for name, g in grads.items():
        net._view(out, name)[...] = g
    return out


# --------------------------------------------------------------------------- options


def test_defaults_are_the_1997_cell():
    """With the defaults: same layout, masks, initial weights and config as before."""
    rng = np.random.default_rng(0)
    for seed in range(30):
        cfg = random_config(rng)
        net = oracle.LSTM(**cfg, seed=seed)
        I, K, B, S = cfg["n_in"], cfg["n_out"], cfg["n_blocks"], cfg["block_size"]
        C = B * S
        nz = 1 + I + C + (2 if cfg["output_gate"] else 1) * B
        names = ["W_in"] + (["W_out"] if cfg["output_gate"] else []) + ["W_c", "W_k"]
        assert list(net.params) == names
        shapes = {"W_in": (B, nz), "W_out": (B, nz), "W_c": (C, nz), "W_k": (K, 1 + I + C)}
        assert {n: p.shape for n, p in net.params.items()} == {n: shapes[n] for n in names}
        assert net._layout["state_len"] == nz + C + 2 * C * nz
        w = np.random.default_rng(seed).uniform(-cfg["init_range"], cfg["init_range"],
                                                net.n_params)
        assert np.array_equal(net._theta, np.where(net._mask != 0, w, 0.0))
        compiled = fastlstm.LSTM(**cfg, seed=seed)
        assert np.array_equal(compiled._theta, net._theta)
        assert np.array_equal(compiled._mask, net._mask)
        assert net.config["forget_gate"] is False and net.config["sources"] == "full"


def test_layout_of_every_option():
    I, K, B, S = 3, 2, 4, 2
    C = B * S
    for og in (True, False):
        for fg in (True, False):
            for peep in (True, False):
                for src in ("full", "cells"):
                    lay = layout(I, K, B, S, og, fg, peep, src)
                    n_gates = 1 + og + fg
                    nz = 1 + I + C + (n_gates * B if src == "full" else 0)
                    assert lay["nz"] == nz
                    want = ["W_in"] + ["W_out"] * og + ["W_phi"] * fg + ["W_c", "W_k"]
                    if peep:
                        want += ["P_in"] + ["P_phi"] * fg + ["P_out"] * og
                    assert list(lay["shapes"]) == want
                    assert lay["n_params"] == (n_gates * B + C) * nz + K * (1 + I + C) + (
                        (1 + fg + og) * C if peep else 0)
                    assert lay["state_len"] == nz + C + (2 + fg) * C * nz + (
                        (1 + fg) * C * S if peep else 0)
                    offs = list(lay["offsets"].values())
                    assert offs == sorted(offs) and offs[0] == 0


def test_the_modern_cell_counts_like_pytorch():
    """Forget gate, "cells" sources, S = 1, no peepholes: nn.LSTM's 4H(I + H + 1) weights
    (its two bias vectors are one here) plus the output layer."""
    I, H, K = 5, 7, 3
    net = oracle.LSTM(I, K, H, forget_gate=True, sources="cells", out="softmax",
                      input_to_output=False, seed=0)
    assert net.nz == 1 + I + H
    assert net.n_weights == 4 * H * (I + H + 1) + K * (H + 1)


def test_masks_of_the_new_parameters():
    net = oracle.LSTM(2, 2, 3, 2, forget_gate=True, peepholes=True, bias=("cells",),
                      recurrent=False, seed=1)
    I = 2
    for name in ("W_in", "W_out", "W_phi", "W_c"):
        m = net.masks[name]
        assert (m[:, 0] == (1 if name == "W_c" else 0)).all(), name   # bias column
        assert (m[:, 1:1 + I] == 1).all() and (m[:, 1 + I:] == 0).all(), name
    for name in ("P_in", "P_phi", "P_out"):
        assert net.masks[name].shape == (6,) and (net.masks[name] == 1).all()
    assert (net.params["W_phi"][net.masks["W_phi"] == 0] == 0).all()
    net.set_mask("P_in", [1, 0, 1, 0, 1, 0])
    # gates: x columns; cells: bias and x; outputs: cells only; peepholes less 3
    assert (net.params["P_in"][1::2] == 0).all()
    assert net.n_weights == 9 * 2 + 6 * 3 + 2 * 6 + (18 - 3)


def test_forget_gate_bias():
    net = oracle.LSTM(1, 1, 3, forget_gate=True, forget_gate_bias=[0.5, 1.0, 1.5], seed=2)
    assert net.params["W_phi"][:, 0].tolist() == [0.5, 1.0, 1.5]
    net = oracle.LSTM(1, 1, 3, forget_gate=True, forget_gate_bias=5, seed=2)
    assert net.params["W_phi"][:, 0].tolist() == [5.0, 5.0, 5.0]
    random_bias = oracle.LSTM(1, 1, 3, forget_gate=True, seed=2).params["W_phi"][:, 0]
    assert np.abs(random_bias).max() <= 0.1 and np.unique(random_bias).size == 3


@pytest.mark.parametrize("kwargs,exc,word", [
    (dict(forget_gate="yes"), TypeError, "forget_gate"),
    (dict(peepholes=1), TypeError, "peepholes"),
    (dict(sources="all"), ValueError, "sources"),
    (dict(sources=None), TypeError, "sources"),
    (dict(forget_gate_bias=1.0), ValueError, "no forget gate"),
    (dict(forget_gate=True, forget_gate_bias=[1.0, 2.0, 3.0]), ValueError, "one value per"),
    (dict(forget_gate=True, forget_gate_bias=np.nan), ValueError, "finite"),
    (dict(forget_gate=True, forget_gate_bias="x"), TypeError, "forget_gate_bias"),
    (dict(forget_gate=True, forget_gate_bias=1.0, bias=("cells",)), ValueError, "no bias"),
    (dict(forget_gate=True, forget_gate_bias=1e300, dtype="float32"), ValueError,
     "forget_gate_bias"),
    (dict(out="softmax", n_out=1), ValueError, "n_out >= 2"),
    (dict(out="soft"), ValueError, "softmax"),
])
def test_bad_options(kwargs, exc, word):
    args = dict(n_in=2, n_out=2, n_blocks=2)
    args.update(kwargs)
    with pytest.raises(exc, match=word):
        oracle.LSTM(**args)


class _PartialBackend(fastlstm.LSTM):
    """A backend that computes only some options (as the compiled net once did)."""
    _family_options = ("sources",)


@pytest.mark.parametrize("kwargs", [dict(forget_gate=True), dict(peepholes=True),
                                    dict(out="softmax", sources="cells")])
def test_a_backend_refuses_what_it_lacks(kwargs):
    with pytest.raises(NotImplementedError, match=r"fastlstm\.oracle\.LSTM"):
        _PartialBackend(2, 2, 2, **kwargs)
    _PartialBackend(2, 2, 2, sources="cells")


@pytest.mark.parametrize("kwargs", [dict(forget_gate=True, forget_gate_bias=2.0),
                                    dict(peepholes=True, sources="cells", out="softmax")])
def test_family_files_load_in_both_backends(kwargs, tmp_path):
    path = tmp_path / "family.npz"
    ref = oracle.LSTM(2, 2, 2, **kwargs, seed=0)
    ref.save(path)
    net = fastlstm.load(path)
    assert net.config == ref.config and np.array_equal(net._theta, ref._theta)
    x = np.random.default_rng(0).uniform(-1, 1, (7, 2))
    assert_close(net.forward(x), ref.forward(x), 1e-12, "forward")


# --------------------------------------------------------------------------- files


def _meta(path):
    with zipfile.ZipFile(path) as z, z.open("meta.npy") as f:
        return json.loads(np.lib.format.read_array(f).tobytes().decode("utf-8"))


def test_a_1997_net_file_is_still_version_1(tmp_path):
    """Same bytes of meta as before the family: version 1, no new keys."""
    net = fastlstm.LSTM(3, 2, 2, 2, seed=0)
    net.save(tmp_path / "a.npz")
    meta = _meta(tmp_path / "a.npz")
    assert meta["version"] == 1
    assert list(meta["config"]) == ["n_in", "n_out", "n_blocks", "block_size", "output_gate",
                                    "recurrent", "input_to_output", "bias", "g", "h", "out",
                                    "init_range", "in_gate_bias", "out_gate_bias", "dtype"]
    back = fastlstm.load(tmp_path / "a.npz")
    assert back.config == net.config and np.array_equal(back._theta, net._theta)


@pytest.mark.parametrize("seed", range(6))
def test_family_files_round_trip(seed, tmp_path):
    rng = np.random.default_rng(seed)
    cfg = family_config(rng, forget_gate=True)
    net = oracle.LSTM(**cfg, seed=seed)
    net.set_mask("W_phi", rng.integers(0, 2, net.params["W_phi"].shape))
    net.save(tmp_path / "f.npz")
    assert _meta(tmp_path / "f.npz")["version"] == FORMAT_VERSION == 2
    back = oracle.load(tmp_path / "f.npz")
    assert back.config == net.config
    assert np.array_equal(back._theta, net._theta) and np.array_equal(back._mask, net._mask)
    x = rng.uniform(-1, 1, (5, net.I))
    assert np.array_equal(back.forward(x), net.forward(x))


def _rewrite_meta(path, change):
    with np.load(path) as f:
        members = {k: f[k] for k in f.files}
    meta = json.loads(members["meta"].tobytes().decode("utf-8"))
    change(meta)
    members["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
    np.savez(path, **members)


def test_versions_read_and_refused(tmp_path):
    path = tmp_path / "f.npz"
    oracle.LSTM(2, 2, 2, peepholes=True, seed=0).save(path)
    _rewrite_meta(path, lambda m: m.update(version=1))
    with pytest.raises(ValueError, match="version 1 file cannot hold"):
        oracle.load(path)
    _rewrite_meta(path, lambda m: m.update(version=3))
    with pytest.raises(ValueError, match="format version 3"):
        oracle.load(path)
    _rewrite_meta(path, lambda m: (m.update(version=2), m["config"].update(sources="x")))
    with pytest.raises(ValueError, match="sources"):
        oracle.load(path)
    # a 1997 file written as version 2 (by a later writer) reads too
    plain = tmp_path / "p.npz"
    oracle.LSTM(2, 2, 2, seed=0).save(plain)
    _rewrite_meta(plain, lambda m: m.update(version=2))
    assert oracle.load(plain).config["peepholes"] is False


# --------------------------------------------------------------------------- identities


@pytest.mark.parametrize("seed", range(30))
def test_sequence_sum_is_minus_alpha_truncated_gradient(seed):
    """Identity 1 of docs/model.md for the family: the summed "sequence" update of the
    forward-in-time rule equals -lr times the truncated gradient of fastlstm.bptt."""
    rng = np.random.default_rng(1000 + seed)
    cfg = family_config(rng)
    cfg["init_range"] = max(cfg["init_range"], 0.3)
    net = oracle.LSTM(**cfg, seed=seed)
    T = int(rng.integers(1, 25))
    x = rng.uniform(-1, 1, (T, net.I))
    y = targets(rng, net, T)
    mask = rng.random(T) < 0.6
    lr = 0.3
    dW = accumulated_update(net, x, y, mask, lr)
    _, grads, _ = net.gradient(x, y, mask, truncated=True)
    for name in net.params:
        assert_close(dW[name], -lr * grads[name], 1e-10, f"{name} ({cfg})")


def test_the_forget_gate_and_peepholes_make_a_difference():
    """The identities above are not met by ignoring the new parts: a forget gate below 1
    and peephole weights change the outputs and the update of every weight kind."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (12, 2))
    y = rng.uniform(0, 1, (12, 2))
    mask = np.ones(12, bool)
    net = oracle.LSTM(2, 2, 2, 2, forget_gate=True, peepholes=True, init_range=0.5, seed=3)
    dW = accumulated_update(net, x, y, mask, 1.0)
    for name in net.params:
        assert np.abs(dW[name]).max() > 1e-6, name
    out = net.forward(x)
    for name in ("W_phi", "P_in", "P_phi", "P_out"):
        keep = net.params[name].copy()
        net.params[name][...] = 0
        assert np.abs(net.forward(x) - out).max() > 1e-6, name
        net.params[name][...] = keep


@pytest.mark.parametrize("seed", range(12))
def test_exact_gradient_equals_finite_differences(seed):
    rng = np.random.default_rng(2000 + seed)
    cfg = family_config(rng, recurrent=True)
    cfg["init_range"] = max(cfg["init_range"], 0.3)
    net = oracle.LSTM(**cfg, seed=seed)
    T = int(rng.integers(1, 9))
    x = rng.uniform(-1, 1, (T, net.I))
    y = targets(rng, net, T)
    mask = rng.random(T) < 0.7
    loss, grads, _ = net.gradient(x, y, mask, truncated=False)
    assert loss == pytest.approx(loss_from_outputs(net, x, y, mask), rel=1e-12, abs=1e-14)
    assert_close(flat(net, grads), finite_differences(net, x, y, mask), 1e-6,
                 f"exact gradient vs central differences ({cfg})")


@pytest.mark.parametrize("seed", range(8))
def test_without_recurrence_or_peepholes_nothing_is_truncated(seed):
    """Identity 2 of docs/model.md for the family: no recurrent source and no
    peephole, so the truncated rule's summed update is -lr times the finite-difference
    gradient (the forget gate's path back in time is the CEC, which the rule keeps)."""
    rng = np.random.default_rng(3000 + seed)
    cfg = family_config(rng, recurrent=False, peepholes=False, forget_gate=True)
    cfg["init_range"] = max(cfg["init_range"], 0.3)
    net = oracle.LSTM(**cfg, seed=seed)
    T = int(rng.integers(1, 9))
    x = rng.uniform(-1, 1, (T, net.I))
    y = targets(rng, net, T)
    mask = rng.random(T) < 0.7
    dW = accumulated_update(net, x, y, mask, 0.7)
    assert_close(flat(net, dW), -0.7 * finite_differences(net, x, y, mask), 1e-6,
                 f"summed update vs finite differences ({cfg})")


@pytest.mark.parametrize("seed", range(6))
def test_truncation_is_real(seed):
    """With recurrence (or peepholes) the truncated and exact gradients differ."""
    rng = np.random.default_rng(4000 + seed)
    cfg = family_config(rng, recurrent=True, forget_gate=True, init_range=0.5)
    net = oracle.LSTM(**cfg, seed=seed)
    x = rng.uniform(-1, 1, (10, net.I))
    y = targets(rng, net, 10)
    _, tr, _ = net.gradient(x, y, truncated=True)
    _, ex, _ = net.gradient(x, y, truncated=False)
    assert np.abs(flat(net, tr) - flat(net, ex)).max() > 1e-6
    assert_close(tr["W_k"], ex["W_k"], 1e-12, "W_k")       # the output layer is exact


@pytest.mark.parametrize("seed", range(10))
def test_one_target_at_the_end_same_update_in_both_schedules(seed):
    rng = np.random.default_rng(5000 + seed)
    cfg = family_config(rng)
    a = oracle.LSTM(**cfg, seed=seed)
    b = oracle.LSTM(**cfg, seed=seed)
    T = int(rng.integers(2, 20))
    x = rng.uniform(-1, 1, (T, a.I))
    y = targets(rng, a, T)
    mask = np.zeros(T, bool)
    mask[-1] = True
    a.train_sequence(x, y, mask, lr=0.5, schedule="step")
    b.train_sequence(x, y, mask, lr=0.5, schedule="sequence")
    assert_close(a._theta, b._theta, 1e-14, f"step vs sequence ({cfg})")


@pytest.mark.parametrize("seed", range(10))
def test_one_step_truncated_equals_exact(seed):
    """T = 1: nothing to truncate but the output-gate peephole's path to the state (the
    rule keeps e_s in its 1997 form); with P_out = 0 the two gradients are equal."""
    rng = np.random.default_rng(6000 + seed)
    cfg = family_config(rng, recurrent=True, init_range=0.5)
    net = oracle.LSTM(**cfg, seed=seed)
    x = rng.uniform(-1, 1, (1, net.I))
    y = targets(rng, net, 1)
    if "P_out" in net.params:
        _, tr, _ = net.gradient(x, y, truncated=True)
        _, ex, _ = net.gradient(x, y, truncated=False)
        assert np.abs(flat(net, tr) - flat(net, ex)).max() > 1e-9
        net.params["P_out"][...] = 0
    _, tr, _ = net.gradient(x, y, truncated=True)
    _, ex, _ = net.gradient(x, y, truncated=False)
    for name in net.params:
        assert_close(tr[name], ex[name], 1e-14, name)


def _pinned_pair(cfg, seed, backend=oracle.LSTM):
    """A 1997 net and a forget-gate net with the same weights, its forget gates pinned
    open (bias 40: y_phi == 1.0 exactly in float64)."""
    old = backend(**cfg, seed=seed)
    new = backend(**cfg, forget_gate=True, seed=seed)
    I, C, B = old.I, old.C, old.B
    for name, p in old.params.items():
        if name == "W_k" or cfg.get("sources") == "cells":
            new.params[name][...] = p
        else:                      # full sources: the new net's z has y_phi's B columns more
            new.params[name][:, :p.shape[1]] = p
            new.params[name][:, p.shape[1]:] = 0
    if cfg.get("sources") != "cells":       # the y_phi columns stay 0
        for name in ("W_in", "W_out", "W_c"):
            if name in new.params:
                m = np.array(new.masks[name])
                m[:, 1 + I + C + (2 if cfg.get("output_gate", True) else 1) * B:] = 0
                new.set_mask(name, m)
    m = np.zeros_like(new.masks["W_phi"])
    m[:, 0] = 1                             # the bias only (masked weights must be 0)
    new.set_mask("W_phi", m)
    new.params["W_phi"][...] = 0
    new.params["W_phi"][:, 0] = 40.0        # y_phi = 1 and f'(net_phi) = 0 exactly: never
                                            # changed by training
    assert oracle.sig(np.float64(40.0)) == 1.0
    return old, new


@pytest.mark.parametrize("backend", [oracle.LSTM, fastlstm.LSTM])
@pytest.mark.parametrize("sources", ["cells", "full"])
@pytest.mark.parametrize("seed", range(6))
def test_pinned_forget_gate_is_the_1997_cell(seed, sources, backend):
    """Forget gates pinned open, no peepholes: the 1997 cell.  Bit for bit with "cells"
    sources (the same z); with "full" sources z has the B y_phi columns more (weights 0),
    which changes the order of numpy's sums, so there it holds to rounding."""
    rng = np.random.default_rng(7000 + seed)
    cfg = random_config(rng)
    cfg["sources"] = sources
    old, new = _pinned_pair(cfg, seed, backend)
    T = int(rng.integers(1, 30))
    x = rng.uniform(-1, 1, (T, old.I))
    y = rng.uniform(0, 1, (T, old.K))
    mask = rng.random(T) < 0.5

    def same(a, b, what):
        if sources == "cells":
            assert np.array_equal(a, b), what
        else:
            assert_close(a, b, 1e-14, what)
    same(old.forward(x), new.forward(x), "forward")
    for schedule in ("step", "sequence"):
        same(old.train_sequence(x, y, mask, 0.4, schedule),
             new.train_sequence(x, y, mask, 0.4, schedule), schedule)
        for name, p in old.params.items():
            same(p, new.params[name][:, :p.shape[1]], name)
    lo, go, _ = old.gradient(x, y, mask, truncated=True)
    ln, gn, _ = new.gradient(x, y, mask, truncated=True)
    same(lo, ln, "loss")
    for name, g in go.items():
        same(g, gn[name][:, :g.shape[1]], name)


@pytest.mark.parametrize("seed", range(5))
def test_softmax_outputs_sum_to_one_and_its_gradient(seed):
    rng = np.random.default_rng(8000 + seed)
    cfg = family_config(rng, out="softmax", init_range=2.0)
    net = oracle.LSTM(**cfg, seed=seed)
    T = 6
    x = rng.uniform(-3, 3, (T, net.I))
    out = net.forward(x)
    assert (out > 0).all() and np.abs(out.sum(axis=1) - 1).max() < 1e-15 * net.K
    y = np.eye(net.K)[rng.integers(0, net.K, T)]              # one-hot targets
    mask = np.ones(T, bool)
    loss, grads, _ = net.gradient(x, y, mask, truncated=False)
    assert loss == pytest.approx(-np.sum(y * np.log(out)), rel=1e-12)
    assert_close(flat(net, grads), finite_differences(net, x, y, mask), 1e-6, "softmax")
    # the output error is t - y (no derivative factor): a step changes W_k by lr (t - y) u
    k_before = net.params["W_k"].copy()
    s = net.stream(learn=True, lr=0.5)
    s.step(x[0], y[0])
    y_c = s._state["z"][1 + net.I:1 + net.I + net.C]           # y_c(1), kept for step 2
    u = np.concatenate([[1], x[0], y_c])
    assert_close(net.params["W_k"] - k_before,
                 0.5 * np.outer(y[0] - out[0], u) * net.masks["W_k"], 1e-12, "W_k change")


# --------------------------------------------------------------------------- the C kernels

# the options the compiled net computes so far
COMPILED: dict = {}


def compiled_pair(rng, seed, dtype="float64", **fixed):
    cfg = family_config(rng, **COMPILED, **fixed)
    return cfg, (fastlstm.LSTM(**cfg, dtype=dtype, seed=seed),
                 oracle.LSTM(**cfg, dtype=dtype, seed=seed))


def test_compiled_layout_is_the_python_layout():
    for og, fg, pp in np.ndindex(2, 2, 2):
        for src in ("full", "cells"):
            for out in ("logistic", "softmax"):
                dims = (3, 2, 4, 2, og, 0, 0, _core.OUT_IDS[out], _core.KERNEL_FAST,
                        _core.SOURCES_IDS[src], fg, pp)
                c = _core.layout(dims)
                p = layout(3, 2, 4, 2, bool(og), bool(fg), bool(pp), sources=src)
                for key in ("nz", "n_params", "state_len", "work_len"):
                    assert c[key] == p[key], key
                for name, off in p["offsets"].items():
                    assert c[name] == off, name
    with pytest.raises(ValueError, match="sizes"):
        _core.layout((3, 2, 4, 2, 1, 0, 0, 0, 0, 2))           # no such sources id


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(40))
def test_kernel_matches_oracle(seed, dtype):
    """Every entry point of the compiled net against the oracle, random architectures
    with "cells" sources and softmax outputs among the choices."""
    rng = np.random.default_rng(10000 + seed)
    cfg, (net, ref) = compiled_pair(rng, seed, dtype)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert np.array_equal(net._theta, ref._theta)
    T = int(rng.integers(1, 30 if dtype == "float64" else 12))
    x = rng.uniform(-1, 1, (T, net.I))
    y = targets(rng, net, T)
    mask = rng.random(T) < 0.6
    assert_close(net.forward(x), ref.forward(x), rtol, f"forward ({cfg})")
    for schedule in ("step", "sequence"):
        assert_close(net.train_sequence(x, y, mask, 0.3, schedule),
                     ref.train_sequence(x, y, mask, 0.3, schedule), rtol, schedule)
        assert_close(net._theta, ref._theta, rtol, f"weights after {schedule} ({cfg})")
    # a stream fed step by step and in pieces
    s, r = net.stream(learn=True, lr=0.2), ref.stream(learn=True, lr=0.2)
    for t in range(T):
        assert_close(s.step(x[t], y[t] if mask[t] else None),
                     r.step(x[t], y[t] if mask[t] else None), rtol, "stream step")
    half = T // 2
    s, r = net.stream(learn=True, lr=0.2, schedule="sequence"), ref.stream(
        learn=True, lr=0.2, schedule="sequence")
    for piece in (slice(0, half), slice(half, T)):
        if piece.stop > piece.start:
            assert_close(s.feed(x[piece], y[piece], mask[piece]),
                         r.feed(x[piece], y[piece], mask[piece]), rtol, "feed")
    s.end()
    r.end()
    assert_close(net._theta, ref._theta, rtol, "weights after the stream")
    for truncated in (True, False):
        lc, gc, oc = net.gradient(x, y, mask, truncated=truncated)
        lo, go, oo = ref.gradient(x, y, mask, truncated=truncated)
        assert lc == pytest.approx(lo, rel=rtol * 10, abs=1e-300)
        assert_close(oc, oo, rtol, "gradient outputs")
        for name in go:
            assert_close(gc[name], go[name], rtol * 10, f"gradient {name} {truncated}")
    N = int(rng.integers(1, 6))
    xb = rng.uniform(-1, 1, (N, T, net.I))
    yb = np.stack([targets(rng, net, T) for _ in range(N)])
    mb = rng.random((N, T)) < 0.6
    for schedule in ("step", "sequence"):
        assert_close(net.train_batch(xb, yb, mb, 0.2, schedule, n_threads=2),
                     ref.train_batch(xb, yb, mb, 0.2, schedule), rtol, "train_batch")
        assert_close(net._theta, ref._theta, rtol, f"weights after train_batch {schedule}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(20))
def test_fast_kernel_equals_plain_kernel(seed, dtype):
    rng = np.random.default_rng(11000 + seed)
    cfg, (net, _) = compiled_pair(rng, seed, dtype, sources="cells" if seed % 2 else "full")
    if seed % 3 == 0:
        for name in net.params:
            net.set_mask(name, rng.random(net.masks[name].shape) < 0.8)
    T = int(rng.integers(1, 30))
    if seed % 4 == 1:                       # one-hot inputs take the sparse path
        cfg_I = net.I
        x = np.zeros((T, cfg_I), dtype)
        x[np.arange(T), rng.integers(0, cfg_I, T)] = 1
    else:
        x = rng.uniform(-1, 1, (T, net.I)).astype(dtype)
    y = targets(rng, net, T).astype(dtype)
    tmask = (rng.random(T) < 0.6).astype(np.uint8)
    for schedule in (0, 1):
        a = kernel_run(net, _core.KERNEL_FAST, x, y, tmask, 0.1, schedule)
        b = kernel_run(net, _core.KERNEL_NAIVE, x, y, tmask, 0.1, schedule)
        for u, v, what in zip(a, b, ("weights", "outputs", "forward")):
            np.testing.assert_array_equal(u, v, err_msg=f"{what}, schedule {schedule}")


def test_sparse_one_hot_inputs_with_cells_sources():
    """I >= 16 one-hot inputs (the tuned step's sparse path) with "cells" sources."""
    rng = np.random.default_rng(5)
    net = fastlstm.LSTM(20, 20, 3, 2, sources="cells", out="softmax", seed=3)
    ref = oracle.LSTM(20, 20, 3, 2, sources="cells", out="softmax", seed=3)
    x = np.eye(20)[rng.integers(0, 20, 25)]
    y = np.eye(20)[rng.integers(0, 20, 25)]
    net.train_sequence(x, y, lr=0.5)
    ref.train_sequence(x, y, lr=0.5)
    assert_close(net._theta, ref._theta, 1e-12, "weights")


@pytest.mark.parametrize("seed", range(6))
def test_states_and_batches_of_family_nets(seed):
    """States passed along pieces give the one-call result; a batch (N, T, I) gives N
    single calls; a family net's state fits only its own kind of net."""
    rng = np.random.default_rng(12000 + seed)
    cfg = family_config(rng)
    nets = [oracle.LSTM(**cfg, seed=seed)]
    if not cfg["peepholes"]:
        nets.append(fastlstm.LSTM(**cfg, seed=seed))
    T = int(rng.integers(2, 15))
    x = rng.uniform(-1, 1, (T, cfg["n_in"]))
    cut = T // 2
    for net in nets:
        whole = net.forward(x)
        a, st = net.forward(x[:cut], return_state=True)
        assert_close(np.vstack([a, net.forward(x[cut:], state=st)]), whole, 1e-14, "pieces")
        xb = rng.uniform(-1, 1, (3, T, net.I))
        batch = net.forward(xb)
        for n in range(3):
            assert_close(batch[n], net.forward(xb[n]), 1e-14, "batch")
        if len(st.shape) == 7:
            plain = type(net)(net.I, net.K, net.B, net.S,
                              output_gate=cfg["output_gate"])
            with pytest.raises(ValueError, match="state shape"):
                plain.forward(x, state=st)


# --------------------------------------------------------------------------- PyTorch


def _torch_module(torch, net):
    """A torch module computing the oracle's forward pass for S = 1, "cells" sources,
    a forget gate and tanh squashing: nn.LSTM and a linear read-out of [1, x, h]."""
    I, K, H = net.I, net.K, net.B
    lstm = torch.nn.LSTM(I, H, dtype=torch.float64)
    W = net.params
    rows = [W["W_in"], W["W_phi"], W["W_c"], W["W_out"]]      # PyTorch's order i, f, g, o
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(np.vstack([r[:, 1:1 + I] for r in rows])))
        lstm.weight_hh_l0.copy_(torch.from_numpy(np.vstack([r[:, 1 + I:] for r in rows])))
        lstm.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([r[:, 0] for r in rows])))
        lstm.bias_hh_l0.zero_()
    W_k = torch.tensor(W["W_k"], requires_grad=True)

    def run(x):
        h, _ = lstm(x)                                          # (T, H)
        u = torch.cat([torch.ones(x.shape[0], 1, dtype=x.dtype), x, h], dim=1)
        return torch.sigmoid(u @ W_k.T)                         # (T, K)
    return lstm, W_k, run


@pytest.mark.parametrize("seed", range(5))
def test_oracle_against_pytorch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9000 + seed)
    I, K, H = (int(v) for v in rng.integers(1, 6, 3))
    T = int(rng.integers(1, 15))
    net = oracle.LSTM(I, K, H, forget_gate=True, sources="cells", g="tanh", h="tanh",
                      input_to_output=True, init_range=0.8, seed=seed)
    lstm, W_k, run = _torch_module(torch, net)
    x = rng.uniform(-1, 1, (T, I))
    y = rng.uniform(0, 1, (T, K))
    mask = rng.random(T) < 0.7
    out_t = run(torch.from_numpy(x))
    assert_close(net.forward(x), out_t.detach().numpy(), 1e-12, "forward vs torch")
    loss_t = 0.5 * ((out_t - torch.from_numpy(y)) ** 2)[torch.from_numpy(mask)].sum()
    loss_t.backward()
    loss, grads, _ = net.gradient(x, y, mask, truncated=False)
    assert loss == pytest.approx(float(loss_t.detach()), rel=1e-12)
    gi, gh, gb = (p.grad.numpy() for p in (lstm.weight_ih_l0, lstm.weight_hh_l0,
                                            lstm.bias_ih_l0))
    for n, name in enumerate(("W_in", "W_phi", "W_c", "W_out")):
        rows = slice(n * H, (n + 1) * H)
        want = np.column_stack([gb[rows], gi[rows], gh[rows]])
        assert_close(grads[name], want, 1e-10, name)
    assert_close(grads["W_k"], W_k.grad.numpy(), 1e-10, "W_k")


@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
@pytest.mark.parametrize("seed", range(4))
def test_from_torch_and_back(seed, backend):
    """A net taken from PyTorch computes PyTorch's forward pass (float64, 1e-12), and
    handed back after on-line training keeps the same numbers."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    rng = np.random.default_rng(13000 + seed)
    I, H, K = (int(v) for v in rng.integers(1, 6, 3))
    T = int(rng.integers(1, 15))
    lstm = torch.nn.LSTM(I, H, dtype=torch.float64)
    head = torch.nn.Linear(H, K, dtype=torch.float64) if seed % 2 else None
    net = backend.from_torch(lstm, head)
    x = rng.uniform(-1, 1, (T, I))
    with torch.no_grad():
        h, _ = lstm(torch.from_numpy(x))
        want = (head(h) if head is not None else h).numpy()
    assert_close(net.forward(x), want, 1e-12, "forward vs torch")
    net.train_sequence(x, rng.uniform(-1, 1, (T, net.K)), lr=0.1)
    lstm2, head2 = net.to_torch()
    with torch.no_grad():
        h2, _ = lstm2(torch.from_numpy(x))
        back = head2(h2).numpy()
    assert_close(back, net.forward(x), 1e-12, "trained net handed back")
    with pytest.raises(ValueError, match="no torch.nn.LSTM counterpart"):
        oracle.LSTM(2, 2, 2).to_torch()
