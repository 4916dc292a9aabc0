"""The LSTM family in the tuned step: ns per weight-step of training for the forget-gate
cell (sources="cells") and with peepholes, beside the 1997 cell, tuned and plain kernels;
and the modern cell (forget gate, "cells" sources, g = h = tanh, one cell per block: the
function of torch's nn.LSTM + nn.Linear) beside PyTorch at batch 1 and batch 32.

    python -m pytest benchmarks/test_bench_family.py --benchmark-json=benchmarks/results/family.json
    python benchmarks/report.py benchmarks/results/family.json --strip

Validate, then time: each case first checks the compiled net against the numpy oracle
(and, for the PyTorch rows, fastlstm's forward pass against PyTorch's on the same
weights). The PyTorch rows run only when torch is installed (never a dependency).
"""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core, oracle

from conftest import make

# the 1997 cell and the family's cells (all with output gates; I = K = 4 as in scaling.py)
CELLS = {
    "1997": dict(),
    "forget": dict(forget_gate=True, sources="cells"),
    "forget-peepholes": dict(forget_gate=True, peepholes=True, sources="cells"),
}
# (B, S): sizes of benchmarks/scaling.py (its --quick set for S = 2): 1e2 to 3e5 weights
SIZES = [(2, 2), (16, 2), (128, 2)]
KERNELS = {"tuned": _core.KERNEL_FAST, "plain": _core.KERNEL_NAIVE}


def family_net(cls, cell, B, S, dtype="float64"):
    return cls(4, 4, B, S, **CELLS[cell], dtype=dtype, seed=0)


def sequence(net, seed=0):
    """T as scaling.py chooses it, a target at every step."""
    T = int(min(2000, max(5, 2e7 / net.n_weights / 10)))
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (T, net.I)), rng.uniform(0, 1, (T, net.K))


def kernel_train(net, kernel):
    """train_sequence ("step" schedule, lr 1e-9) through one step kernel: a call to
    _core.train with the net's buffers and dims naming the kernel."""
    dims = net._dims[:8] + (kernel,) + net._dims[9:]      # (a 1997 net's dims have 8)

    def train(x, y):
        out = np.empty((len(x), net.K), net.dtype)
        _core.train(dims, net._theta, net._mask, x, y, None, 1e-9, 0, out, net._state,
                    net._work, net._dW)
        return out
    return train


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("size", SIZES, ids=[f"B{b}-S{s}" for b, s in SIZES])
def test_family_train(benchmark, size, cell, kernel):
    B, S = size
    net = family_net(fastlstm.LSTM, cell, B, S)
    ref = family_net(oracle.LSTM, cell, B, S)
    x, y = sequence(net)
    np.testing.assert_allclose(kernel_train(net, KERNELS[kernel])(x[:3], y[:3]),
                               ref.train_sequence(x[:3], y[:3], lr=1e-9), rtol=1e-10)
    benchmark.group = f"family train_sequence B={B} S={S}"
    benchmark.extra_info.update(n_weights=net.n_weights, T=len(x),
                                weight_steps=net.n_weights * len(x), cell=cell,
                                kernel=kernel, dtype="float64")
    benchmark(kernel_train(net, KERNELS[kernel]), x, y)


# ------------------------------------------------------------------ the modern cell vs PyTorch

BATCH = 32
DTYPES = ["float64", "float32"]


def adding_sequences(batch):
    """The adding task's sequences (cut to one length), one target at the last step."""
    exs = [make("adding-93", "c", seed=s)[1] for s in range(batch)]
    T = min(e.T for e in exs)
    x = np.stack([e.x[:T] for e in exs])                       # (batch, T, 2)
    y = np.zeros((batch, T, 1))
    y[:, -1] = np.stack([e.y[-1] for e in exs])
    m = np.zeros((batch, T), bool)
    m[:, -1] = True
    return x, y, m


def modern_pair(torch, dtype):
    """nn.LSTM(2, 4) + nn.Linear(4, 1) and the fastlstm net computing the same function
    (forget gate, "cells" sources, g = h = tanh, S = 1, linear output reading the cells)."""
    tdt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    torch.manual_seed(0)
    lstm, head = torch.nn.LSTM(2, 4).to(tdt), torch.nn.Linear(4, 1).to(tdt)
    net = fastlstm.LSTM(2, 1, 4, 1, forget_gate=True, sources="cells", g="tanh", h="tanh",
                        out="linear", input_to_output=False, dtype=dtype)
    src = fastlstm.LSTM.from_torch(lstm, head)
    for name, value in src.params.items():
        net.params[name][...] = value
    return lstm, head, net


def torch_step(torch, lstm, head, x, y):
    """One BPTT + SGD step over the batch (mean loss: the mean update of train_batch)."""
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.5)
    batch = x.shape[1]

    def step():
        opt.zero_grad()
        h, _ = lstm(x)
        out = head(h[-1])
        loss = 0.5 * ((out - y) ** 2).sum() / batch
        loss.backward()
        opt.step()
        return out
    return step, sum(p.numel() for p in params)


@pytest.fixture(scope="module")
def torch_one_thread():
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(old)


@pytest.mark.parametrize("batch", [1, BATCH])
@pytest.mark.parametrize("who", ["fastlstm", "torch"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_modern_cell_vs_torch(benchmark, torch_one_thread, batch, who, dtype):
    torch = torch_one_thread
    lstm, head, net = modern_pair(torch, dtype)
    x, y, m = adding_sequences(batch)
    tdt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    xt = torch.tensor(np.transpose(x, (1, 0, 2)), dtype=tdt)          # (T, batch, 2)
    with torch.no_grad():
        h, _ = lstm(xt)
        want = head(h).to(torch.float64).numpy().transpose(1, 0, 2)    # (batch, T, 1)
    got = net.forward(x.astype(dtype))
    np.testing.assert_allclose(got, want, rtol=1e-12 if dtype == "float64" else 1e-5,
                               atol=1e-12 if dtype == "float64" else 1e-5)
    benchmark.group = f"modern cell (nn.LSTM(2, 4) + Linear) batch {batch}"
    T = x.shape[1]
    if who == "torch":
        step, n_weights = torch_step(torch, lstm, head, xt, torch.tensor(y[:, -1], dtype=tdt))
        call = step
    else:
        n_weights = net.n_weights
        xs, ys = x.astype(dtype), y.astype(dtype)
        if batch == 1:
            def call():
                return net.train_sequence(xs[0], ys[0], m[0], lr=1e-9)
        else:
            def call():
                return net.train_batch(xs, ys, m, lr=1e-9, n_threads=1)
    benchmark.extra_info.update(n_weights=n_weights, T=T, weight_steps=n_weights * T * batch,
                                dtype=dtype, sequences_per_call=batch, who=who)
    benchmark(call)
