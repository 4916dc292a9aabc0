"""Interrupts, hostile files, copies and masked weights: each test pins a defect that
the earlier releases had (see docs/reliability.md, "Interrupts" to "Kept workers")."""
import copy
import os
import pickle
import signal
import stat
import sys
import threading
import time
import tracemalloc
import _thread

import numpy as np
import pytest

import fastlstm
from fastlstm import _core, oracle

BACKENDS = [fastlstm.LSTM, oracle.LSTM]
POSIX = hasattr(os, "fork") and sys.platform.startswith("linux")


def data(T, I=2, K=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (T, I)), rng.uniform(0, 1, (T, K))


def sigint_after(delay):
    t = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    t.start()
    return t


def raised_inside_the_kernel(excinfo):
    """True if the KeyboardInterrupt came out of the compiled call (the kernel stopped),
    not from Python's own check after the call had run to its end."""
    return any(str(e.name).endswith("_raise_for") for e in excinfo.traceback)


class Boom(Exception):
    """Raised by the signal handler of the interrupt storms."""


pytestmark = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning")


def storm(fn, n, first=1e-4, interval=2e-4):
    """Call ``fn()`` n times while a SIGALRM handler raises Boom every ``interval`` s at
    any bytecode of ``fn`` and below (never in this function's own frame, so the storm
    itself cannot be broken); returns how many calls were interrupted."""
    def handler(signum, frame):
        # raise only in fn and below, never in a finalizer or weakref callback (Python
        # reports an exception there as unraisable instead of raising it)
        if frame is None or frame.f_code is storm.__code__:
            return
        f = frame
        while f is not None and f.f_code is not storm.__code__:
            if f.f_code.co_name in ("__del__", "_remove") or "unraisable" in f.f_code.co_filename:
                return
            f = f.f_back
        if f is not None:
            raise Boom

    old = signal.signal(signal.SIGALRM, handler)
    hits = 0
    signal.setitimer(signal.ITIMER_REAL, first, interval)
    for _ in range(n):
        try:
            fn()
        except Boom:
            hits += 1
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)
    return hits


# ----------------------------------------------------------------------- interrupts

def test_an_interrupt_while_waiting_for_the_lock_never_leaves_it_held():
    net = fastlstm.LSTM(2, 1, 16, 2, seed=0)
    x, y = data(200_000)
    busy = threading.Thread(target=net.train_sequence, args=(x, y))
    busy.start()
    time.sleep(0.05)
    # interrupt_main trips the flag without waking the blocked acquire: the interrupt is
    # seen right after the lock is taken
    threading.Timer(0.05, _thread.interrupt_main).start()
    try:
        net.train_batch(np.zeros((4, 3, 2)), np.zeros((4, 3, 1)))
    except KeyboardInterrupt:
        pass
    busy.join()
    done = threading.Thread(target=net.forward, args=(np.zeros((3, 2)),), daemon=True)
    done.start()
    done.join(20)
    assert not done.is_alive(), "the net's lock was left held"
    assert not net._lock.locked()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
@pytest.mark.parametrize("backend", BACKENDS, ids=["c", "oracle"])
def test_a_storm_of_interrupts_leaves_the_net_free_and_consistent(backend):
    net = backend(2, 1, 2, 2, seed=1)
    x, y = data(50)
    ref = backend(2, 1, 2, 2, seed=1)
    assert storm(lambda: net.train_sequence(x, y, lr=0.1), 300) > 0
    assert not net._lock.locked()
    # every call either happened or did not: the weights are those of k whole calls
    for _ in range(302):
        if np.array_equal(ref._theta, net._theta):
            return
        ref.train_sequence(x, y, lr=0.1)
    pytest.fail("the weights are not those of a whole number of calls")


@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_ctrl_c_stops_train_sequence_and_leaves_the_weights(schedule):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y = data(6_000_000)
    before = net._theta.copy()
    timer = sigint_after(0.2)
    with pytest.raises(KeyboardInterrupt) as ei:
        net.train_sequence(x, y, lr=1e-3, schedule=schedule)
    timer.join()
    assert np.array_equal(net._theta, before)
    assert raised_inside_the_kernel(ei)
    net.train_sequence(x[:10], y[:10])           # usable afterwards


@pytest.mark.parametrize("n_threads", [1, 2])
def test_ctrl_c_stops_train_batch_and_leaves_the_weights(n_threads):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y = data(8 * 600_000)
    x, y = x.reshape(8, -1, 2), y.reshape(8, -1, 1)
    before = net._theta.copy()
    timer = sigint_after(0.2)
    with pytest.raises(KeyboardInterrupt) as ei:
        net.train_batch(x, y, lr=1e-3, n_threads=n_threads)
    timer.join()
    assert np.array_equal(net._theta, before)
    assert raised_inside_the_kernel(ei)
    net.train_batch(x[:, :5], y[:, :5], n_threads=n_threads)


def test_ctrl_c_stops_forward_and_gradient():
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y = data(6_000_000)
    for call in (lambda: net.forward(x), lambda: net.gradient(x[:1_500_000], y[:1_500_000])):
        timer = sigint_after(0.2)
        with pytest.raises(KeyboardInterrupt) as ei:
            call()
        timer.join()
        assert raised_inside_the_kernel(ei)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_ctrl_c_stops_a_batched_forward(n_threads):
    """Every thread stops: the calling thread polls between pieces of its sequences and
    tells the others, which stop at their next piece."""
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, _ = data(8 * 1_500_000)
    x = x.reshape(8, -1, 2)
    t0 = time.perf_counter()
    net.forward(x[:, :150_000], n_threads=n_threads)
    whole = 10 * (time.perf_counter() - t0)       # the whole batch, uninterrupted
    timer = sigint_after(0.2)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt) as ei:
        net.forward(x, n_threads=n_threads)
    stopped = time.perf_counter() - t0
    timer.join()
    assert raised_inside_the_kernel(ei)
    # not a speed target: a call that ran to its end would take `whole` (seconds)
    assert stopped < 0.5 * whole, (stopped, whole)
    # usable afterwards, and pieces still give the bits of single calls
    yb = net.forward(x[:, :3000], n_threads=n_threads)
    assert np.array_equal(yb[5], net.forward(x[5, :3000]))


@pytest.mark.parametrize("learn,schedule", [(False, "step"), (True, "step"),
                                            (True, "sequence")])
def test_ctrl_c_in_a_stream_feed_leaves_weights_and_stream_state(learn, schedule):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y = data(6_000_000)
    s = net.stream(learn=learn, lr=1e-3, schedule=schedule)
    s.feed(x[:7], y[:7])
    theta, state, dW, t = net._theta.copy(), s._state.copy(), s._dW.copy(), s.t
    timer = sigint_after(0.2)
    with pytest.raises(KeyboardInterrupt):
        s.feed(x, y)
    timer.join()
    assert np.array_equal(net._theta, theta) and np.array_equal(s._state, state)
    assert np.array_equal(s._dW, dW) and s.t == t
    # the stream goes on exactly as if the interrupted piece had never been fed
    ref = fastlstm.LSTM(2, 1, 2, 2, seed=0).stream(learn=learn, lr=1e-3, schedule=schedule)
    ref.feed(x[:7], y[:7])
    assert np.array_equal(s.feed(x[7:20], y[7:20]), ref.feed(x[7:20], y[7:20]))


def test_the_poll_is_a_c_hook_off_when_removed():
    assert _core.POLL_UNITS == 1 << 23
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y = data(2_000_000)
    _core.set_poll(False)
    try:
        timer = sigint_after(0.1)
        with pytest.raises(KeyboardInterrupt) as ei:
            net.forward(x)
        timer.join()
        assert not raised_inside_the_kernel(ei)     # raised by Python after the call
    finally:
        _core.set_poll(True)


# ----------------------------------------------------------------------- files

def test_load_reads_headers_before_data(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    p = tmp_path / "bomb.npz"
    meta = f'{{"format": "fastlstm", "version": 1, "config": {__import__("json").dumps(net.config)}}}'
    np.savez_compressed(p, meta=np.frombuffer(meta.encode(), np.uint8), params=net._theta,
                        masks=np.zeros(1 << 24))
    assert p.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="masks"):
            fastlstm.load(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"load allocated {peak} bytes for a file of {p.stat().st_size}"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_save_refuses_special_files_and_load_does_not_block_on_them(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        net.save(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(ValueError, match="not a regular file"):
        net.save(tmp_path)
    result = []
    t = threading.Thread(target=lambda: result.append(pytest.raises(ValueError, fastlstm.load,
                                                                    fifo)), daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "load blocked on a FIFO"
    assert "regular file" in str(result[0].value)
    assert os.listdir(tmp_path) == ["fifo"]


def test_save_keeps_the_mode_of_an_existing_file(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    p = tmp_path / "net.npz"
    net.save(p)
    os.chmod(p, 0o600)
    net.save(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    os.chmod(p, 0o640)
    net.save(str(p).encode())                       # bytes, like load
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    assert np.array_equal(fastlstm.load(p)._theta, net._theta)


def open_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not POSIX, reason="needs /proc and setitimer")
def test_interrupted_saves_leave_no_temporary_file_and_no_descriptor(tmp_path):
    net = fastlstm.LSTM(2, 1, 40, 4, seed=0)
    p = tmp_path / "net.npz"
    net.save(p)
    good = p.read_bytes()
    fds = open_fds()
    interrupted = storm(lambda: net.save(p), 300, interval=3e-4)
    assert interrupted > 0
    assert sorted(os.listdir(tmp_path)) == ["net.npz"]
    assert open_fds() == fds
    assert p.read_bytes() == good


def test_an_error_as_a_zip_member_opens_is_reported_not_its_consequence(tmp_path,
                                                                       monkeypatch):
    # an error (a full disk, Ctrl-C) between zipfile marking a member open and handing
    # it over makes np.savez's final close raise "Can't close the ZIP file": save must
    # raise the first error, keep the old file and leave no temporary file
    import zipfile
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    p = tmp_path / "net.npz"
    net.save(p)
    good = p.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile, "_ZipWriteFile", full_disk)
    with pytest.raises(OSError) as ei:
        net.save(p)
    assert ei.value.errno == 28
    assert sorted(os.listdir(tmp_path)) == ["net.npz"] and p.read_bytes() == good


def test_save_and_load_errors_name_the_users_path(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    missing = tmp_path / "no" / "net.npz"
    with pytest.raises(FileNotFoundError) as ei:
        net.save(missing)
    assert ei.value.filename == str(missing) and ".tmp" not in str(ei.value)
    with pytest.raises(ValueError, match="empty"):
        net.save("")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"hello" * 100)
    with pytest.raises(ValueError) as ei:
        fastlstm.load(junk)
    assert "pickle" not in str(ei.value) and "not a valid fastlstm file" in str(ei.value)
    with pytest.raises(FileNotFoundError):
        fastlstm.load(tmp_path / "none.npz")


@pytest.mark.skipif(not POSIX or os.geteuid() == 0, reason="root reads any file")
def test_load_reports_a_permission_error_as_such(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    p = tmp_path / "net.npz"
    net.save(p)
    os.chmod(p, 0)
    with pytest.raises(PermissionError):
        fastlstm.load(p)


def test_argument_errors_name_the_right_limit_and_class():
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    with pytest.raises(ValueError, match=r"n_threads: must be in \[1, 64\], got 0"):
        net.train_batch(np.zeros((4, 3, 2)), np.zeros((4, 3, 1)), n_threads=0)
    with pytest.raises(TypeError, match=r"LSTM\.__init__\(\) missing"):
        fastlstm.LSTM(2, 1)
    # a failure to start threads is not blamed on n_threads
    with pytest.raises(RuntimeError, match="could not start"):
        _core._raise_for(-9, "train_batch")


# ----------------------------------------------------------------------- copies

@pytest.mark.parametrize("backend", BACKENDS, ids=["c", "oracle"])
@pytest.mark.parametrize("how", ["pickle2", "pickle5", "deepcopy", "copy"])
def test_copies_are_equal_and_independent(backend, how):
    net = backend(2, 1, 3, 2, seed=3, dtype="float32" if how == "copy" else "float64")
    net.set_mask("W_c", np.eye(*net.masks["W_c"].shape))
    x, y = data(20)
    net.train_sequence(x, y)
    other = {"pickle2": lambda n: pickle.loads(pickle.dumps(n, protocol=2)),
             "pickle5": lambda n: pickle.loads(pickle.dumps(n, protocol=5)),
             "deepcopy": copy.deepcopy, "copy": copy.copy}[how](net)
    assert type(other) is type(net) and other.config == net.config
    assert np.array_equal(other._mask, net._mask)
    assert not np.shares_memory(other._theta, net._theta)
    for _ in range(3):
        assert np.array_equal(other.train_sequence(x, y), net.train_sequence(x, y))
        assert np.array_equal(other._theta, net._theta)
    other.params["W_k"][...] = 0
    assert not np.array_equal(other._theta, net._theta)


def test_unpickling_checks_what_load_checks():
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    fn, (cls, meta, theta, mask) = net.__reduce__()
    theta = theta.copy()
    theta[np.flatnonzero(mask == 0)[0]] = 1.0
    with pytest.raises(ValueError, match="masked"):
        fn(cls, meta, theta, mask)
    with pytest.raises(ValueError, match="format version"):
        fn(cls, meta.replace('"version": 1', '"version": 99'), net._theta, mask)
    assert b"_thread" not in pickle.dumps(net)


# ----------------------------------------------------------------------- masked weights

@pytest.mark.parametrize("backend", BACKENDS, ids=["c", "oracle"])
def test_params_and_masks_are_read_only_mappings(backend):
    net = backend(2, 1, 2, 2, seed=0)
    for d, name in ((net.params, "W_k"), (net.masks, "W_c")):
        with pytest.raises(TypeError, match="cannot be changed"):
            d[name] = np.zeros(d[name].shape)
        with pytest.raises(TypeError):
            del d[name]
        with pytest.raises(TypeError):
            d.update({})
    with pytest.raises(AttributeError):
        net.params = {}
    net.params["W_k"][...] = 0.25 * net.masks["W_k"]        # the views stay writable
    assert np.all(net._view(net._theta, "W_k")[net.masks["W_k"] == 1] == 0.25)
    net.set_mask("W_k", np.ones(net.masks["W_k"].shape))     # not through the dict
    assert net.masks["W_k"].all()


@pytest.mark.parametrize("backend", BACKENDS, ids=["c", "oracle"])
def test_a_masked_weight_written_through_params_cannot_change_a_result(backend, tmp_path):
    net = backend(2, 1, 2, 2, seed=0)                     # topology F: W_k x columns masked
    x, y = data(10)
    assert net.masks["W_k"][0, 1] == 0
    net.params["W_k"][0, 1] = 5.0
    before = net._theta.copy()
    s = net.stream(learn=True)
    calls = [lambda: net.forward(x), lambda: net.train_sequence(x, y),
             lambda: net.train_sequence(list(x), y), lambda: net.gradient(x, y),
             lambda: net.train_batch(x[None], y[None]), lambda: s.feed(x, y),
             lambda: s.step(x[0], y[0]), lambda: net.save(tmp_path / "net.npz")]
    for call in calls:
        with pytest.raises(ValueError, match="mask"):
            call()
        assert np.array_equal(net._theta, before)
    net.params["W_k"][0, 1] = 0.0
    net.forward(x)


def test_save_refuses_what_load_refuses(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    p = tmp_path / "net.npz"
    net.params["W_c"][0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.save(p)
    net.params["W_c"][0, 0] = 0.0
    net.config["n_blocks"] = 3
    with pytest.raises(ValueError, match="config"):
        net.save(p)
    assert not os.path.exists(p)


# ----------------------------------------------------------------------- fork

@pytest.mark.skipif(not POSIX, reason="needs fork")
def test_a_fork_during_training_gives_the_child_a_free_net():
    net = fastlstm.LSTM(2, 1, 16, 2, seed=0)
    x, y = data(300_000)
    before = net._theta.copy()
    busy = threading.Thread(target=net.train_sequence, args=(x, y))
    busy.start()
    time.sleep(0.1)
    assert net._lock.locked()
    pid = os.fork()
    if pid == 0:                                                # the child
        code = 4
        try:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(20)
            ok = np.array_equal(net._theta, before)
            net.forward(x[:5])
            net.train_sequence(x[:5], y[:5])
            code = 0 if ok else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    busy.join()
    assert os.WIFEXITED(status), "the child hung on the net's lock"
    assert os.WEXITSTATUS(status) == 0, "the child's weights were those of a half call"


# ----------------------------------------------------------------------- kept workers

def voluntary_switches():
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        out[tid] = int(line.split()[1])
        except OSError:
            pass
    return out


@pytest.mark.skipif(not POSIX, reason="needs /proc")
def test_a_call_wakes_only_the_workers_it_uses():
    big = fastlstm.LSTM(2, 1, 1, 1, seed=0)
    big.train_batch(np.zeros((256, 2, 2)), np.zeros((256, 2, 1)), n_threads=64)
    time.sleep(0.2)                                  # every worker asleep
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    xb, yb = np.zeros((8, 50, 2)), np.zeros((8, 50, 1))
    a = voluntary_switches()
    for _ in range(10):
        net.train_batch(xb, yb, n_threads=2)
        time.sleep(0.002)                            # the used worker goes to sleep
    b = voluntary_switches()
    woken = [t for t in a if t in b and b[t] != a[t]]
    assert len(a) >= 64
    assert len(woken) <= 4, f"{len(woken)} threads woke for 2-thread calls"


# ----------------------------------------------------------------------- largest net

@pytest.mark.slow
@pytest.mark.skipif(not POSIX, reason="needs ru_maxrss in kB (Linux)")
def test_the_documented_peak_memory_of_the_largest_net_holds():
    import re
    import subprocess
    doc = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "docs", "reliability.md")
    with open(doc) as f:
        m = re.search(r"`LSTM\(1, 1, 4229, 1\)` .*\| ([0-9.]+) GB \|", f.read())
    assert m, "docs/reliability.md gives no peak for the largest net"
    documented = float(m.group(1))
    code = ("import resource, fastlstm; from fastlstm._base import layout, MAX_ELEMENTS\n"
            "l = layout(1, 1, 4229, 1, True); m = layout(1, 1, 4230, 1, True)\n"
            "assert l['n_params'] + l['state_len'] <= MAX_ELEMENTS"
            " < m['n_params'] + m['state_len']\n"
            "fastlstm.LSTM(1, 1, 4229, 1, seed=0)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    peak = float(out.stdout)
    assert abs(peak - documented) <= 0.1 * documented, (peak, documented)
