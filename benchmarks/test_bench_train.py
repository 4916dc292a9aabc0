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
