"""PyTorch's nn.LSTM(2, 4) + nn.Linear(4, 1) trained with BPTT and SGD at batch 1 on the
adding problem's sequences (the same sequence as the fastlstm benchmark), one thread.

Runs only when torch is installed (pip install torch==2.13.0); never a dependency."""
import numpy as np
import pytest

from conftest import make

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_train_sequence_torch(benchmark, weight_steps):
    net, ex = make("adding-93", "c")
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 4)
    head = torch.nn.Linear(4, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.5)
    x = torch.tensor(ex.x, dtype=torch.float64).unsqueeze(1)      # (T, batch 1, 2)
    y = torch.tensor(ex.y[-1], dtype=torch.float64)
    lstm.double()
    head.double()

    def step():
        opt.zero_grad()
        h, _ = lstm(x)
        out = torch.sigmoid(head(h[-1, 0]))
        loss = 0.5 * ((out - y) ** 2).sum()
        loss.backward()
        opt.step()
        return out

    assert torch.isfinite(step()).all()
    n_torch = sum(p.numel() for p in params)
    benchmark.group = "train_sequence adding-93"
    benchmark.extra_info["n_weights"] = n_torch
    benchmark.extra_info["T"] = int(ex.T)
    benchmark.extra_info["weight_steps"] = n_torch * int(ex.T)
    benchmark(step)
