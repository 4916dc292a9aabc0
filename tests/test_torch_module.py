"""``net.to_torch_module()``: any fastlstm net as a ``torch.nn.Module``.

The module's forward pass equals ``net.forward`` (float64, 1e-12) over random
architectures with every option; autograd through it is an independent check of the
exact gradient of ``net.gradient`` (the compiled one and the oracle's ``fastlstm.bptt``)
and, with the recurrent sources detached, of the truncated one; and trained parameters
go back into a net with ``net.load_torch_module``.
"""
import io

import numpy as np
import pytest

from _helpers import assert_close, family_config
import fastlstm
from fastlstm import oracle

torch = pytest.importorskip("torch")

BACKENDS = (fastlstm.LSTM, oracle.LSTM)


#: the first two cases of each random test: the 1997 net (its defaults) and the modern cell
FIXED_CASES = ({"g": "g2", "h": "h1", "forget_gate": False, "peepholes": False,
                "sources": "full", "out": "logistic"},
               {"g": "tanh", "h": "tanh", "forget_gate": True, "peepholes": False,
                "sources": "cells"})


def case_config(base, seed):
    """The architecture of case ``seed`` of a test seeded from ``base``: the fixed cases
    first, then random ones."""
    rng = np.random.default_rng(base + seed)
    return rng, family_config(rng, **(FIXED_CASES[seed] if seed < len(FIXED_CASES) else {}))


def any_net(rng, seed, backend=fastlstm.LSTM, dtype="float64", cfg=None, **fixed):
    """A net of a random architecture (or ``cfg``), with an extra random mask on one
    parameter half of the time."""
    cfg = family_config(rng, **fixed) if cfg is None else cfg
    net = backend(**cfg, dtype=dtype, seed=seed)
    if rng.integers(2):
        name = str(rng.choice(list(net.params)))
        keep = rng.random(net.masks[name].shape) < 0.7
        net.set_mask(name, np.asarray(net.masks[name]) * keep)
    return net


def targets(rng, net, shape):
    """Probability rows for softmax outputs, values in [0, 1] otherwise."""
    if net.config["out"] == "softmax":
        return rng.dirichlet(np.ones(net.K), size=shape)
    return rng.uniform(0, 1, shape + (net.K,))


def flat_grads(net, grads):
    return np.concatenate([np.ravel(grads[n]) for n in net.params])


def module_grads(net, module):
    return np.concatenate([np.ravel(getattr(module, n).grad.numpy()) for n in net.params])


# --------------------------------------------------------------------------- forward


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(12))
def test_forward_equals_the_net(seed, backend):
    rng, cfg = case_config(31000, seed)
    net = any_net(rng, seed, backend, cfg=cfg)
    module = net.to_torch_module()
    assert list(dict(module.named_parameters())) == list(net.params)
    for name, p in module.named_parameters():
        assert p.dtype == torch.float64 and np.array_equal(p.detach().numpy(),
                                                           net.params[name])
    T = int(rng.integers(1, 13))
    x = rng.uniform(-1, 1, (T, net.I))
    with torch.no_grad():
        assert_close(module(torch.from_numpy(x)).numpy(), net.forward(x), 1e-12,
                     "forward")
        xb = rng.uniform(-1, 1, (3, T, net.I))
        assert_close(module(xb).numpy(), net.forward(xb), 1e-12, "batched forward")


@pytest.mark.parametrize("base", [31000, 32000, 33000])
def test_every_squashing_and_option_is_covered(base):
    """The architectures of the forward, exact-gradient and truncated-gradient tests
    reach every choice (so that none is left unchecked by chance)."""
    seen = set()
    for seed in range(12):
        c = case_config(base, seed)[1]
        seen |= {("g", c["g"]), ("h", c["h"]), ("out", c["out"]),
                 ("sources", c["sources"]), ("forget_gate", c["forget_gate"]),
                 ("peepholes", c["peepholes"]), ("output_gate", c["output_gate"]),
                 ("S>1", c["block_size"] > 1)}
    want = ({("g", g) for g in ("g2", "g1", "tanh", "h1", "id")}
            | {("h", h) for h in ("h1", "id", "tanh", "g2", "g1")}
            | {("out", o) for o in ("logistic", "linear", "softmax")}
            | {("sources", "full"), ("sources", "cells"), ("forget_gate", True),
               ("peepholes", True), ("output_gate", False), ("S>1", True)})
    assert want <= seen, want - seen


def test_float32_net_gives_a_float32_module():
    net = fastlstm.LSTM(2, 3, 2, 2, forget_gate=True, peepholes=True, dtype="float32",
                        seed=1)
    module = net.to_torch_module()
    assert all(p.dtype == torch.float32 for p in module.parameters())
    x = np.random.default_rng(1).uniform(-1, 1, (9, 2))
    with torch.no_grad():
        assert_close(module(x).numpy(), net.forward(x), 1e-5, "float32")


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(12))
def test_autograd_checks_the_exact_gradient(seed, backend):
    """Autograd through the module gives the loss and exact gradient of net.gradient."""
    rng, cfg = case_config(32000, seed)
    net = any_net(rng, seed, backend, cfg=cfg)
    module = net.to_torch_module()
    T = int(rng.integers(1, 13))
    x = rng.uniform(-1, 1, (T, net.I))
    y = targets(rng, net, (T,))
    mask = rng.random(T) < 0.7
    loss_t = module.loss(x, y, mask)
    loss_t.backward()
    loss, grads, out = net.gradient(x, y, mask, truncated=False)
    assert loss == pytest.approx(float(loss_t.detach()), rel=1e-12)
    assert_close(out, net.forward(x), 1e-12, "outputs")
    assert_close(flat_grads(net, grads), module_grads(net, module), 1e-11, "exact gradient")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(12))
def test_autograd_with_detached_sources_checks_the_truncated_gradient(seed, backend):
    """``truncated=True`` (recurrent sources and peephole inputs detached) gives
    net.gradient(..., truncated=True): the summed update of the on-line rule."""
    rng, cfg = case_config(33000, seed)
    net = any_net(rng, seed, backend, cfg=dict(cfg, recurrent=True))
    module = net.to_torch_module()
    T = int(rng.integers(2, 13))
    x = rng.uniform(-1, 1, (T, net.I))
    y = targets(rng, net, (T,))
    mask = np.ones(T, bool)
    module.loss(x, y, mask, truncated=True).backward()
    _, grads, _ = net.gradient(x, y, mask, truncated=True)
    got = module_grads(net, module)
    assert_close(flat_grads(net, grads), got, 1e-11, "truncated gradient")
    _, exact, _ = net.gradient(x, y, mask, truncated=False)
    # the two differ on a recurrent net: the check can tell them apart
    assert np.abs(flat_grads(net, exact) - got).max() > 1e-8


def test_batched_loss_is_the_sum_over_sequences():
    rng = np.random.default_rng(5)
    net = any_net(rng, 5, out="softmax")
    module = net.to_torch_module()
    x = rng.uniform(-1, 1, (3, 6, net.I))
    y = targets(rng, net, (3, 6))
    mask = rng.random((3, 6)) < 0.6
    module.loss(x, y, mask).backward()
    total = sum(flat_grads(net, net.gradient(x[n], y[n], mask[n])[1]) for n in range(3))
    assert_close(module_grads(net, module), total, 1e-11, "batch gradient")


def test_masked_weights_act_as_zero_and_get_no_gradient():
    net = fastlstm.LSTM(2, 2, 2, 2, forget_gate=True, peepholes=True, seed=3)
    net.set_mask("W_c", np.eye(4, net.nz))
    module = net.to_torch_module()
    x = np.random.default_rng(3).uniform(-1, 1, (5, 2))
    with torch.no_grad():
        module.W_c.add_(1.0 - module.W_c_mask)      # masked entries become 1: unused
    with torch.no_grad():
        assert_close(module(x).numpy(), net.forward(x), 1e-12, "masked entries unused")
    module.loss(x, np.zeros((5, 2))).backward()
    assert np.all(module.W_c.grad.numpy()[np.asarray(net.masks["W_c"]) == 0] == 0)
    net.load_torch_module(module)                   # writes parameter times mask
    assert np.all(net.params["W_c"][np.asarray(net.masks["W_c"]) == 0] == 0)
    with torch.no_grad():
        assert_close(module(x).numpy(), net.forward(x), 1e-12, "masked entries ignored")


# --------------------------------------------------------------------------- back into a net


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(4))
def test_trained_module_back_into_the_net(seed, backend):
    """A module trained in PyTorch, loaded back: the net computes the module's outputs;
    one plain SGD step in torch is -lr times fastlstm's exact gradient."""
    rng = np.random.default_rng(34000 + seed)
    net = any_net(rng, seed, backend)
    before = {n: np.array(p) for n, p in net.params.items()}
    module = net.to_torch_module()
    T = int(rng.integers(1, 10))
    x = rng.uniform(-1, 1, (T, net.I))
    y = targets(rng, net, (T,))
    lr = 0.05
    opt = torch.optim.SGD(module.parameters(), lr=lr)
    opt.zero_grad()
    module.loss(x, y).backward()
    opt.step()
    _, grads, _ = net.gradient(x, y)
    net.load_torch_module(module)
    for n in net.params:
        assert_close(net.params[n], before[n] - lr * grads[n], 1e-12, n)
    for _ in range(3):
        opt.zero_grad()
        module.loss(x, y).backward()
        opt.step()
    net.load_torch_module(module)
    with torch.no_grad():
        assert_close(net.forward(x), module(x).numpy(), 1e-12, "after training")
    # and the other way: the net trained on-line, a new module from it
    net.train_sequence(x, y, lr=0.1)
    with torch.no_grad():
        assert_close(net.to_torch_module()(x).numpy(), net.forward(x), 1e-12, "again")


def test_load_into_a_float32_net_and_state_dict():
    cfg = dict(n_in=2, n_out=2, n_blocks=3, block_size=2, forget_gate=True,
               out="softmax")
    net = fastlstm.LSTM(**cfg, seed=4)
    module = net.to_torch_module()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(1.5)
    net32 = fastlstm.LSTM(**cfg, dtype="float32", seed=9)
    net32.load_torch_module(module)
    for n, p in net32.params.items():
        assert p.dtype == np.float32
        assert np.array_equal(p, (getattr(module, n) * getattr(module, n + "_mask"))
                              .detach().numpy().astype(np.float32))
    other = fastlstm.LSTM(**cfg, seed=7).to_torch_module()
    other.load_state_dict(module.state_dict())
    buf = io.BytesIO()
    torch.save(other, buf)
    buf.seek(0)
    again = torch.load(buf, weights_only=False)
    x = np.random.default_rng(0).uniform(-1, 1, (4, 2))
    with torch.no_grad():
        assert np.array_equal(again(x).numpy(), module(x).numpy())
        assert type(again) is fastlstm.torch_bridge.LSTMModule


def test_load_refuses_what_does_not_fit():
    net = fastlstm.LSTM(2, 2, 2, 2, peepholes=True, seed=1)
    module = net.to_torch_module()
    before = net._theta.copy()
    with pytest.raises(TypeError, match="LSTMModule"):
        net.load_torch_module(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="block_size: net 1, module 2"):
        fastlstm.LSTM(2, 2, 2, 1, peepholes=True).load_torch_module(module)
    with pytest.raises(ValueError, match="peepholes"):
        fastlstm.LSTM(2, 2, 2, 2).load_torch_module(module)
    masked = fastlstm.LSTM(2, 2, 2, 2, peepholes=True, bias=False)
    with pytest.raises(ValueError, match="mask of W_in differs"):
        masked.load_torch_module(module)
    with torch.no_grad():
        module.P_out[1] = float("nan")
    with pytest.raises(ValueError, match="P_out contains NaN"):
        net.load_torch_module(module)
    assert np.array_equal(net._theta, before)       # nothing written
    with torch.no_grad():
        module.P_out[1] = 1e300
    net32 = fastlstm.LSTM(2, 2, 2, 2, peepholes=True, dtype="float32")
    with pytest.raises(ValueError, match="does not fit in float32"):
        net32.load_torch_module(module)


def test_bad_input_is_refused():
    module = fastlstm.LSTM(3, 2, 2).to_torch_module()
    for bad in (np.zeros(3), np.zeros((4, 2)), np.zeros((1, 2, 4, 3)), np.zeros((0, 3))):
        with pytest.raises(ValueError, match="x: "):
            module(bad)
    with pytest.raises(ValueError, match="y: expected shape"):
        module.loss(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="mask: expected shape"):
        module.loss(np.zeros((4, 3)), np.zeros((4, 2)), np.ones(3, bool))
    with pytest.raises(ValueError, match="x: contains NaN"):
        module(np.full((4, 3), np.nan))
    y = np.zeros((4, 2))
    y[1, 0] = np.inf
    with pytest.raises(ValueError, match="y: contains NaN"):
        module.loss(np.zeros((4, 3)), y)
    mask = np.ones(4, bool)
    mask[1] = False                          # no target at the step with the inf
    assert np.isfinite(float(module.loss(np.zeros((4, 3)), y, mask).detach()))


def test_the_bridges_import_neither_torch_nor_onnx():
    """torch and onnx are imported by the calls that need them, not by the modules."""
    import subprocess
    import sys
    code = ("import sys, fastlstm, fastlstm.torch_bridge, fastlstm.onnx_export; "
            "fastlstm.onnx_export.onnx_problems(fastlstm.LSTM(2, 2, 2)); "
            "print(' '.join(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
