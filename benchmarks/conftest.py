"""Shared set-up of the benchmarks (not part of the test run).

Run:  python -m pytest benchmarks/ --benchmark-json=benchmarks/results/latest.json
Then: python benchmarks/report.py benchmarks/results/latest.json
"""
import os
import platform

import numpy as np
import pytest

import fastlstm
from fastlstm import oracle
from fastlstm.tasks import get_task

# Nets of the paper: (task name, task params, constructor arguments)
NETS = {
    "adding-93": ("adding", dict(T=100),
                  dict(n_in=2, n_out=1, n_blocks=2, block_size=2, in_gate_bias=[-3, -6])),
    "reber-264": ("reber", {}, dict(n_in=7, n_out=7, n_blocks=4, block_size=1,
                                    bias="gates", init_range=0.2,
                                    out_gate_bias=[-1, -2, -3, -4])),
    "order6a-156": ("order6a", {}, dict(n_in=8, n_out=4, n_blocks=2, block_size=2, bias=True,
                                        init_range=0.1, in_gate_bias=[-2, -4])),
    "order6b-308": ("order6b", {}, dict(n_in=8, n_out=8, n_blocks=3, block_size=2,
                                        in_gate_bias=[-2, -4, -6])),
}
BACKENDS = {"c": fastlstm.LSTM, "oracle": oracle.LSTM}


def make(net_name, backend, dtype="float64", seed=0):
    """A net and one fixed training sequence of its task."""
    task_name, task_params, kw = NETS[net_name]
    net = BACKENDS[backend](**kw, dtype=dtype, seed=seed)
    ex = get_task(task_name, **task_params).sample(np.random.default_rng(seed))
    return net, ex


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["fastlstm"] = fastlstm.__version__
    machine_info["numpy"] = np.__version__
    machine_info["cpu_count"] = os.cpu_count()
    machine_info["platform"] = platform.platform()
    try:
        from threadpoolctl import threadpool_info
        machine_info["blas"] = [(i.get("internal_api"), i.get("num_threads"))
                                for i in threadpool_info()]
    except ImportError:
        pass


@pytest.fixture
def weight_steps():
    """Record derived figures: ns per weight-step and sequences per second."""
    def record(benchmark, net, T):
        benchmark.extra_info["n_weights"] = net.n_weights
        benchmark.extra_info["T"] = int(T)
        benchmark.extra_info["weight_steps"] = net.n_weights * int(T)
    return record
