"""The command line (``python -m fastlstm``): --version, one-line errors for every bad
option, demo --save checked before training and never losing the net, the demo's labels
and closing lines, reproduce writing only under --out, and Ctrl-C without a traceback."""
import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastlstm
from fastlstm import __main__ as cli_main
from fastlstm.experiments.runner import trial_path


def run_main(argv, capsys):
    """``main(argv)`` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli_main.main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def spawn(args, cwd):
    """``python -u -m fastlstm ARGS`` with the default SIGINT handling (a shell may have
    started this test run with SIGINT ignored, which children would inherit)."""
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "fastlstm", *args], cwd=str(cwd), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_version(tmp_path):
    r = subprocess.run([sys.executable, "-m", "fastlstm", "--version"], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"fastlstm {fastlstm.__version__}"


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if the demo builds its net (i.e. gets past its checks)."""
    def refuse(*a, **kw):
        raise AssertionError("the demo started training")
    monkeypatch.setattr(cli_main, "adding_net", refuse)


@pytest.mark.parametrize("argv,word", [
    (["demo", "--T", "5"], "--T"),
    (["demo", "--T", "x"], "--T"),
    (["demo", "--T", "10000000"], "--T"),
    (["demo", "--lr", "nan"], "--lr"),
    (["demo", "--lr", "-1"], "--lr"),
    (["demo", "--lr", "abc"], "--lr"),
    (["demo", "--seed", "-1"], "--seed"),
    (["demo", "--max-sequences", "0"], "--max-sequences"),
    (["demo", "--save", "{tmp}/missing/net.npz"], "does not exist"),
    (["demo", "--save", "{tmp}"], "is a directory"),
    (["demo", "--save", ""], "empty path"),
    (["demo", "--bogus"], "--bogus"),
    (["bogus"], "unknown command"),
    (["--bogus"], "unknown command"),
    (["reproduce"], "name an experiment"),
    (["reproduce", "adding"], "--out DIR is required"),
    (["reproduce", "nope", "--out", "{tmp}/o"], "unknown experiment 'nope'"),
    (["reproduce", "adding", "--trials", "0", "--out", "{tmp}/o"], "--trials"),
    (["reproduce", "adding", "--jobs", "x", "--out", "{tmp}/o"], "--jobs"),
    (["reproduce", "adding", "--out", "{tmp}/file"], "not a folder"),
    (["reproduce", "adding", "--out", "{tmp}/o", "--notes", "{tmp}/none.md"], "--notes"),
    (["reproduce", "--report-only", "--out", "{tmp}/missing"], "no such folder"),
    (["reproduce", "adding", "--ablation", "nope", "--out", "{tmp}/o"], "--ablation"),
])
def test_bad_option_is_one_line(argv, word, tmp_path, capsys, no_training, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    status, out, err = run_main(argv, capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "error" in lines[0], err
    assert "Traceback" not in out + err


def test_demo_labels_and_closing_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(["demo", "--max-sequences", "1000", "--seed", "1"], capsys)
    assert status == 0
    assert "'last 2000 seq' is the window of ST3(0.01)" in out
    assert "last 1000 seq: mean |error|" in err                        # the bar
    assert "the paper (Table 7, T = 100): ST3(0.01) after 74,000 training sequences" in out
    assert "1 of 2560 test sequences wrong" in out
    assert "docs/reproduction.md" in out.strip().splitlines()[-1]
    assert os.listdir(tmp_path) == []                    # nothing saved unless asked
    status, out, err = run_main(["demo", "--max-sequences", "10", "--T", "200",
                                 "--no-progress"], capsys)
    assert status == 0 and "T = 100, 500 and 1000" in out and err == ""


def test_demo_save(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = str(tmp_path / "net.npz")
    status, out, err = run_main(["demo", "--max-sequences", "20", "--no-progress",
                                 "--save", path], capsys)
    assert status == 0 and f"saved the trained net to {path}" in out
    net = fastlstm.load(path)
    assert net.n_weights == 93


def test_demo_failed_save_keeps_the_net(tmp_path, capsys, monkeypatch):
    """The save at --save fails after training (its folder vanished): the net goes to a
    new file in the current folder, the message says where, the status is 1."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    target = str(tmp_path / "gone" / "net.npz")
    (tmp_path / "gone").mkdir()
    trained = []
    real_save = fastlstm.LSTM.save

    def save(self, path):
        trained.append(self._theta.copy())
        if os.fspath(path) == target:
            os.rmdir(tmp_path / "gone")                  # the folder vanished meanwhile
        return real_save(self, path)
    monkeypatch.setattr(fastlstm.LSTM, "save", save)
    status, out, err = run_main(["demo", "--max-sequences", "30", "--no-progress",
                                 "--save", target], capsys)
    assert status == 1
    files = glob.glob(str(work / "fastlstm-demo-*.npz"))
    assert len(files) == 1 and f"saved the trained net to {files[0]} instead" in err
    assert "could not save to" in err and "Traceback" not in err
    assert np.array_equal(fastlstm.load(files[0])._theta, trained[0])


def test_demo_divergence_is_one_line(tmp_path, capsys, monkeypatch):
    """A FloatingPointError in training: one line naming --lr, status 1, no traceback."""
    monkeypatch.chdir(tmp_path)
    calls = []
    real = fastlstm.LSTM.train_sequence

    def train_sequence(self, *a, **kw):
        calls.append(1)
        if len(calls) == 7:
            raise FloatingPointError("train: an output, cell state or weight became NaN")
        return real(self, *a, **kw)
    monkeypatch.setattr(fastlstm.LSTM, "train_sequence", train_sequence)
    status, out, err = run_main(["demo", "--max-sequences", "50", "--no-progress"], capsys)
    assert status == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "diverged at sequence 7" in lines[0] and "--lr" in lines[0]


def test_reproduce_writes_only_under_out(tmp_path, capsys, monkeypatch):
    """Report, plots, command log and trials under --out; nothing in the current folder."""
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    status, o, e = run_main(["reproduce", "6a", "--trials", "1", "--max-sequences", "20",
                             "--jobs", "1", "--no-progress", "--out", str(out)], capsys)
    assert status == 0, e
    assert os.listdir(cwd) == []
    assert os.path.exists(trial_path(str(out), "6a", 0))
    assert (out / "commands.jsonl").exists()
    text = (out / "reproduction.md").read_text()
    assert "python -m fastlstm reproduce 6a" in text
    if "matplotlib is not installed" not in text:
        assert (out / "reproduction" / "6a.png").exists()
    status, o, e = run_main(["reproduce", "--report-only", "--out", str(out)], capsys)
    assert status == 0 and os.listdir(cwd) == []


def _interrupt(proc, ready):
    """Press Ctrl-C (SIGINT to the process group) once ``ready()`` holds; return
    (status, stdout, stderr)."""
    for _ in range(1200):
        if ready() or proc.poll() is not None:
            break
        time.sleep(0.1)
    time.sleep(1.0)                       # well inside the training
    os.killpg(proc.pid, signal.SIGINT)   # as Ctrl-C: to the whole process group
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:           # hung: leave nothing running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out, err


def test_demo_ctrl_c_saves_without_traceback(tmp_path):
    path = tmp_path / "net.npz"
    proc = spawn(["demo", "--no-progress", "--max-sequences", "100000000", "--save",
                  str(path)], tmp_path)
    status, out, err = _interrupt(proc, lambda: True)
    assert status == 130, err
    assert "Traceback" not in err and "interrupted after" in err
    assert fastlstm.load(str(path)).n_weights == 93


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_reproduce_ctrl_c_without_traceback(tmp_path, jobs):
    """Interrupted during long trials (in this process, or in a pool whose running
    trials are stopped rather than awaited): one message, status 130, report written."""
    out = tmp_path / "out"
    proc = spawn(["reproduce", "adding-T100", "--trials", "2", "--max-sequences",
                  "50000000", "--jobs", jobs, "--no-progress", "--out", str(out)], tmp_path)
    status, o, err = _interrupt(proc, (out / "commands.jsonl").exists)
    assert status == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert (out / "reproduction.md").exists()
