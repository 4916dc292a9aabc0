"""What a user would otherwise pick: PyTorch's nn.LSTM(2, 4) + nn.Linear(4, 1) trained
with BPTT and SGD on the adding problem's sequences, one thread, in float32 (PyTorch's
default) and float64, at batch 1 and at batch 32, beside fastlstm doing the same work
(``train_sequence`` at batch 1, ``train_batch`` at N = 32; test_bench_train.py).

Same work: the same sequences (T as drawn by the adding task, one target at the last
step), one SGD update of every weight per sequence (at batch 32: one update by the mean
gradient of the 32 sequences, as ``train_batch`` applies the mean update). PyTorch's LSTM
has a forget gate and 4 more weights per cell; fastlstm's 93-weight net is the paper's.

Runs only when torch is installed (pip install torch==2.13.0); never a dependency."""
import numpy as np
import pytest

from conftest import make

torch = pytest.importorskip("torch")

BATCH = 32


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def torch_step(dtype, batch):
    """One BPTT + SGD step over ``batch`` adding sequences; returns (step, n_weights, T)."""
    tdt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    net, ex = make("adding-93", "c")
    exs = [ex] if batch == 1 else [make("adding-93", "c", seed=s)[1] for s in range(batch)]
    T = min(e.T for e in exs)                      # one length for a dense batch
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 4).to(tdt)
    head = torch.nn.Linear(4, 1).to(tdt)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.5)
    x = torch.tensor(np.stack([e.x[:T] for e in exs], axis=1), dtype=tdt)   # (T, batch, 2)
    y = torch.tensor(np.stack([e.y[-1] for e in exs]), dtype=tdt)           # (batch, 1)

    def step():
        opt.zero_grad()
        h, _ = lstm(x)
        out = torch.sigmoid(head(h[-1]))
        loss = 0.5 * ((out - y) ** 2).sum() / batch
        loss.backward()
        opt.step()
        return out

    assert torch.isfinite(step()).all()
    return step, sum(p.numel() for p in params), T


@pytest.mark.parametrize("dtype", ["float32", "float64"], ids=["torch-float32", "torch-float64"])
def test_train_sequence_torch(benchmark, dtype):
    step, n_weights, T = torch_step(dtype, 1)
    benchmark.group = "train_sequence adding-93"
    benchmark.extra_info.update(n_weights=n_weights, T=T, weight_steps=n_weights * T,
                                dtype=dtype, sequences_per_call=1)
    benchmark(step)


@pytest.mark.parametrize("dtype", ["float32", "float64"], ids=["torch-float32", "torch-float64"])
def test_train_batch_torch(benchmark, dtype):
    step, n_weights, T = torch_step(dtype, BATCH)
    benchmark.group = f"batch of {BATCH} adding-93"
    benchmark.extra_info.update(n_weights=n_weights, T=T, weight_steps=n_weights * T * BATCH,
                                dtype=dtype, sequences_per_call=BATCH)
    benchmark(step)
