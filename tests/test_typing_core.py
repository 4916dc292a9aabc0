"""The annotations of the core API (LSTM, oracle.LSTM, Stream, State, the thread
setting): ``mypy --strict`` accepts a user script that uses all of it, and rejects
one that misuses it (so the check can fail).  Skipped without mypy (the "test" extra
installs it)."""
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("mypy")

GOOD = '''
from __future__ import annotations

from typing import List

import numpy as np
from numpy.typing import NDArray

import fastlstm
from fastlstm import oracle


def outputs(net: fastlstm.LSTM, x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(net.forward(x), dtype=np.float64)


net = fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2, bias=("gates",),
                    in_gate_bias=[-1.0, -2.0], dtype="float32", seed=0)
ref: oracle.LSTM = oracle.LSTM(2, 1, 2, 2, seed=np.random.default_rng(0))
x = np.zeros((5, 2))
y = np.full((5, 1), 0.5)
mask = np.ones(5, dtype=bool)

out = net.forward(x)
first, st = net.forward(x, return_state=True)
rest = net.forward(x, st)
st0: fastlstm.State = net.initial_state()
_, st1 = net.forward(x, st0, True)
cells = st0.s + st0.y_c
gates = st0.y_in
og = st0.y_out
traces = st0.dS_c.sum() + st0.dS_in.sum()
copied: fastlstm.State = st0.copy()
same: bool = copied == st0

trained = net.train_sequence(x, y, mask, lr=0.1, schedule="step")
trained2, st2 = net.train_sequence(x, y, lr=0.1, state=st0, return_state=True)
shape: tuple[int, ...] = trained2.shape
tail: fastlstm.State = st2

batch = np.zeros((3, 5, 2))
yb = net.forward(batch, lengths=[5, 2, 0], n_threads=2)
yb2, states = net.forward(batch, return_state=True)
yt = net.train_batch(batch, np.zeros((3, 5, 1)), lr=0.1, schedule="sequence")

stream: fastlstm.Stream = net.stream(learn=True, lr=0.1, state=st2)
y_t = stream.step(x[0], y[0])
y_piece = stream.feed(x, y, mask)
now: fastlstm.State = stream.state
stream.state = st0
stream.end()
stream.reset()

loss, grads, outs = net.gradient(x, y, truncated=True)
total: float = loss + float(grads["W_k"].sum())
n: int = net.n_weights + net.n_params + net.I + net.K + net.B + net.S + net.C
net.set_mask("W_k", np.ones_like(net.masks["W_k"]))
print(repr(net), net.config["g"], net.dtype, net.params["W_in"].shape)

fastlstm.set_num_threads(2)
threads: int = fastlstm.get_num_threads()
fastlstm.set_num_threads(None)

net.save("/dev/null/never-written.npz") if False else None
again: fastlstm.LSTM = fastlstm.load("net.npz") if False else net
other: oracle.LSTM = oracle.load("net.npz") if False else ref
also: fastlstm.LSTM = fastlstm.LSTM.load("net.npz") if False else net
ref_out = ref.forward(x)
print(outputs(net, x).shape, ref_out.shape, ref.train_sequence(x, y).shape)
'''

BAD = '''
from __future__ import annotations

import numpy as np

import fastlstm

net = fastlstm.LSTM(2, 1, 2)
x = np.zeros((5, 2))
a = net.forward(x, return_state=True).shape       # a tuple, not an array
fastlstm.set_num_threads("2")                      # not an int
b: fastlstm.State = net.train_sequence(x, x[:, :1])
net.stream(state=3)
'''


def run_mypy(tmp_path, source):
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(source))
    env = dict(os.environ)
    env.pop("MYPYPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", os.devnull, "--python-executable", sys.executable, str(script)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)


def test_mypy_strict_accepts_a_user_script(tmp_path):
    res = run_mypy(tmp_path, GOOD)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict_rejects_misuse(tmp_path):
    res = run_mypy(tmp_path, BAD)
    assert res.returncode == 1, res.stdout + res.stderr
    for line in (10, 11, 12, 13):
        assert f"user_script.py:{line}:" in res.stdout, res.stdout
