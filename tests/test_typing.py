"""The typed API: the stub of the compiled module equals the runtime (mypy's stubtest),
and a user script over the public API passes ``mypy --strict``.  Skipped without mypy
(``pip install -e '.[typecheck]'``)."""
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("mypy")

USER_SCRIPT = textwrap.dedent('''
    """A user's script: train, stream, save and load, a task, the experiments."""
    from typing import List

    import numpy as np
    from numpy.typing import NDArray

    import fastlstm
    from fastlstm.tasks import AddingTask, Example, get_task


    def train(net: fastlstm.LSTM, task: AddingTask, n: int) -> float:
        rng = np.random.default_rng(0)
        err = 0.0
        for _ in range(n):
            ex: Example = task.sample(rng)
            out: NDArray[np.float64] = net.train_sequence(ex.x, ex.y, ex.mask, lr=0.5)
            err = float(abs(out[-1, 0] - ex.y[-1, 0]))
        return err


    net = fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2, seed=0)
    err: float = train(net, AddingTask(T=10), 3)
    y: NDArray[np.float64] = net.forward(np.zeros((5, 2)))
    with net.stream(learn=True, lr=0.1, schedule="sequence") as s:
        y_t: NDArray[np.float64] = s.step(np.zeros(2), np.zeros(1))
    net.save("net.npz")
    net2: fastlstm.LSTM = fastlstm.load("net.npz")
    n: int = net2.n_weights
    reber = get_task("reber")
    ex = reber.sample(np.random.default_rng(1))
    ok: bool = reber.correct(fastlstm.LSTM(7, 7, 3, 2, seed=1).forward(ex.x), ex)
    rows: List[str] = list(fastlstm.experiments.ROWS)
    version: str = fastlstm.__version__
''')


def _mypy(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_stub_equals_runtime():
    """``python -m mypy.stubtest fastlstm._core``: every name, argument and default of
    the compiled module is in _core.pyi and nothing else is."""
    allow = pathlib.Path(__file__).with_name("stubtest-allowlist.txt")
    r = _mypy("mypy.stubtest", "fastlstm._core", "--allowlist", str(allow))
    assert r.returncode == 0, r.stdout + r.stderr


def test_user_script_passes_mypy_strict(tmp_path):
    (tmp_path / "user.py").write_text(USER_SCRIPT)
    r = _mypy("mypy", "--strict", "--no-incremental", "user.py", cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
