"""train_sequence on the paper's nets: C kernel vs numpy oracle (float64, one thread).

Validate, then time: each benchmark first checks the C kernel against the oracle on the
sequence it times.
"""
import numpy as np
import pytest

from conftest import NETS, make


@pytest.mark.parametrize("backend", ["c", "oracle"])
@pytest.mark.parametrize("net_name", list(NETS))
def test_train_sequence(benchmark, weight_steps, net_name, backend):
    net, ex = make(net_name, backend)
    ref, _ = make(net_name, "oracle")
    np.testing.assert_allclose(net.train_sequence(ex.x, ex.y, ex.mask, lr=0.1),
                               ref.train_sequence(ex.x, ex.y, ex.mask, lr=0.1), rtol=1e-10)
    benchmark.group = f"train_sequence {net_name}"
    weight_steps(benchmark, net, ex.T)
    benchmark(net.train_sequence, ex.x, ex.y, ex.mask, lr=1e-9)


@pytest.mark.parametrize("dtype", ["float32"], ids=["fastlstm-float32"])
def test_train_sequence_float32(benchmark, weight_steps, dtype):
    """fastlstm in float32 beside the float64 rows of "train_sequence adding-93"."""
    net, ex = make("adding-93", "c", dtype=dtype)
    ref, _ = make("adding-93", "oracle")
    np.testing.assert_allclose(net.train_sequence(ex.x, ex.y, ex.mask, lr=0.1),
                               ref.train_sequence(ex.x, ex.y, ex.mask, lr=0.1), rtol=1e-4)
    benchmark.group = "train_sequence adding-93"
    weight_steps(benchmark, net, ex.T)
    benchmark.extra_info["dtype"] = dtype
    benchmark(net.train_sequence, ex.x, ex.y, ex.mask, lr=1e-9)


@pytest.mark.parametrize("dtype", ["float64", "float32"], ids=["fastlstm-float64", "fastlstm-float32"])
def test_train_batch_32(benchmark, weight_steps, dtype):
    """train_batch, one thread, on the 32 adding sequences PyTorch trains at batch 32
    (test_bench_torch.py): cut to one length, one target at the last step."""
    N = 32
    net, _ = make("adding-93", "c", dtype=dtype)
    exs = [make("adding-93", "c", seed=s)[1] for s in range(N)]
    T = min(e.T for e in exs)
    x = np.stack([e.x[:T] for e in exs])
    y = np.zeros((N, T, 1)); y[:, -1] = np.stack([e.y[-1] for e in exs])
    m = np.zeros((N, T), bool); m[:, -1] = True
    ref, _ = make("adding-93", "oracle")
    out = net.train_batch(x[:2], y[:2], m[:2], lr=0.1, n_threads=1)
    np.testing.assert_allclose(out, ref.train_batch(x[:2], y[:2], m[:2], lr=0.1),
                               rtol=1e-10 if dtype == "float64" else 1e-4)
    benchmark.group = f"batch of {N} adding-93"
    benchmark.extra_info.update(n_weights=net.n_weights, T=int(T),
                                weight_steps=net.n_weights * int(T) * N, dtype=dtype,
                                sequences_per_call=N)
    benchmark(net.train_batch, x, y, m, lr=1e-9, n_threads=1)


@pytest.mark.parametrize("backend", ["c", "oracle"])
def test_forward(benchmark, weight_steps, backend):
    net, ex = make("adding-93", backend)
    benchmark.group = "forward adding-93"
    weight_steps(benchmark, net, ex.T)
    benchmark(net.forward, ex.x)


@pytest.mark.parametrize("backend", ["c", "oracle"])
def test_gradient(benchmark, weight_steps, backend):
    """The exact gradient by back-propagation through time (net.gradient): compiled vs
    the numpy reverse mode (fastlstm.bptt through the oracle); PyTorch's BPTT step on the
    same net and sequence is test_train_sequence_torch."""
    net, ex = make("adding-93", backend)
    ref, _ = make("adding-93", "oracle")
    np.testing.assert_allclose(net.gradient(ex.x, ex.y, ex.mask)[1]["W_c"],
                               ref.gradient(ex.x, ex.y, ex.mask)[1]["W_c"], rtol=1e-10)
    benchmark.group = "gradient (exact BPTT) adding-93"
    weight_steps(benchmark, net, ex.T)
    benchmark(net.gradient, ex.x, ex.y, ex.mask)
