"""Reliability evidence (docs/reliability.md): transactional training, determinism, concurrency,
files, memory-safety tools and long runs.  The fuzzing of the public API is
tests/test_fuzz.py; docs/reliability.md says what each test shows.

The ``test_bug_b*`` tests pin bugs found while writing this file (B1-B12 in
docs/reliability.md), now fixed: each states the behaviour the library must keep.
"""
import hashlib
import io
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastlstm
from fastlstm import oracle
from _helpers import random_config

BACKENDS = [fastlstm.LSTM, oracle.LSTM]
HAS_BATCH = hasattr(fastlstm.LSTM, "train_batch")
TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")


def data(T=12, I=2, K=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (T, I)), rng.uniform(0, 1, (T, K)), rng.random(T) < 0.6


def clone(net):
    """A net of the same class and config with the same parameters and masks."""
    other = type(net)(**net.config)
    other._theta[...] = net._theta
    other._mask[...] = net._mask
    return other


def child_env(**extra):
    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(fastlstm.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


# ===================================================================== 2. transactional


def divergent_net(backend, dtype, seed):
    """A random architecture with linear outputs, and data and lr that overflow it."""
    rng = np.random.default_rng(seed)
    cfg = random_config(rng)
    cfg.update(out="linear", dtype=dtype)
    net = backend(**cfg, seed=seed)
    x, y, mask = data(T=30, I=net.I, K=net.K, seed=seed)
    mask[-1] = True
    lr = 1e300 if dtype == "float64" else 1e30
    return net, x, y * 1e10, mask, lr


@pytest.mark.parametrize("schedule", ["step", "sequence"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS, ids=["c", "oracle"])
@pytest.mark.parametrize("seed", range(4))
def test_divergence_raises_and_leaves_the_net_exactly_as_before(backend, dtype, schedule,
                                                                seed):
    net, x, y, mask, lr = divergent_net(backend, dtype, seed)
    net.train_sequence(x, y * 1e-10, mask, lr=0.1, schedule=schedule)   # some history
    theta, masks = net._theta.copy(), net._mask.copy()
    twin = clone(net)
    with pytest.raises(FloatingPointError):
        net.train_sequence(x, y, mask, lr=lr, schedule=schedule)
    assert np.array_equal(net._theta, theta), "parameters not restored"
    assert np.array_equal(net._mask, masks)
    # nothing else was left behind (state, traces, "sequence" accumulator): the net
    # goes on exactly like a copy that never saw the failed call
    for sch in ("sequence", "step"):
        out = net.train_sequence(x, y * 1e-10, mask, lr=0.2, schedule=sch)
        assert np.array_equal(out, twin.train_sequence(x, y * 1e-10, mask, lr=0.2,
                                                       schedule=sch))
    assert np.array_equal(net._theta, twin._theta)
    assert np.array_equal(net.forward(x), twin.forward(x))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS, ids=["c", "oracle"])
def test_divergent_stream_step_feed_and_end_restore_the_parameters(backend, dtype):
    net, x, y, mask, lr = divergent_net(backend, dtype, 1)
    # step / feed in schedule "step": restored to the values before that call
    for how in ("step", "feed"):
        s = net.stream(learn=True, lr=lr)
        with pytest.raises(FloatingPointError):
            for t in range(len(x)):
                before = net._theta.copy()
                if how == "step":
                    s.step(x[t], y[t])
                else:
                    s.feed(x[t:t + 1], y[t:t + 1])
        assert np.array_equal(net._theta, before)
        assert np.isfinite(net._theta).all()
    # schedule "sequence": nothing moves until end(), which raises and restores
    before = net._theta.copy()
    s = net.stream(learn=True, lr=lr, schedule="sequence")
    try:
        for t in range(len(x)):
            s.step(x[t], y[t])
        s.end()
    except FloatingPointError:
        pass
    else:
        pytest.fail("no FloatingPointError")
    assert np.array_equal(net._theta, before)


@pytest.mark.skipif(not HAS_BATCH, reason="no train_batch")
@pytest.mark.parametrize("schedule", ["step", "sequence"])
@pytest.mark.parametrize("n_threads", [1, 3])
def test_divergent_train_batch_restores_the_parameters(schedule, n_threads):
    net, x, y, mask, lr = divergent_net(fastlstm.LSTM, "float64", 2)
    xb, yb = np.stack([x] * 9), np.stack([y] * 9)
    before = net._theta.copy()
    twin = clone(net)
    with pytest.raises(FloatingPointError):
        net.train_batch(xb, yb, None, lr, schedule, n_threads)
    assert np.array_equal(net._theta, before)
    net.train_batch(xb, yb * 1e-6, None, 0.1, schedule, n_threads)
    twin.train_batch(xb, yb * 1e-6, None, 0.1, schedule, n_threads)
    assert np.array_equal(net._theta, twin._theta)


def test_float32_lr_beyond_float32_range_is_transactional():
    """lr = 1e39 is finite as a Python float but infinite in float32: the update is
    non-finite, so FloatingPointError, parameters unchanged."""
    net = fastlstm.LSTM(2, 1, 2, 2, dtype="float32", seed=0)
    x, y, _ = data()
    before = net._theta.copy()
    with pytest.raises(FloatingPointError):
        net.train_sequence(x, y, lr=1e39)
    assert np.array_equal(net._theta, before)


# ===================================================================== 4. determinism


def train_script(dtype):
    """Source of a training run whose final parameters are hashed (also run in children)."""
    return textwrap.dedent(f"""
        import hashlib, numpy as np, fastlstm
        rng = np.random.default_rng(7)
        net = fastlstm.LSTM(3, 2, 3, 2, h="tanh", in_gate_bias=[-1, -2, -3],
                            dtype="{dtype}", seed=11)
        for i in range(40):
            x = rng.uniform(-1, 1, (int(rng.integers(1, 30)), 3))
            y = rng.uniform(0, 1, (len(x), 2))
            m = rng.random(len(x)) < 0.5
            net.train_sequence(x, y, m, lr=0.3, schedule=("step", "sequence")[i % 2])
        s = net.stream(learn=True, lr=0.2, schedule="sequence")
        for t in range(25):
            s.step(rng.uniform(-1, 1, 3), rng.uniform(0, 1, 2) if t % 3 else None)
        s.end()
        if hasattr(net, "train_batch"):
            xb = rng.uniform(-1, 1, (9, 7, 3)); yb = rng.uniform(0, 1, (9, 7, 2))
            net.train_batch(xb, yb, rng.random((9, 7)) < 0.5, 0.2, "step", 2)
        out = net.forward(rng.uniform(-1, 1, (50, 3)))
        h = hashlib.sha256(net._theta.tobytes() + out.tobytes()).hexdigest()
        print("HASH", h)
    """)


def run_hash(src):
    ns = {}
    buf = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(buf):
        exec(compile(src, "<train>", "exec"), ns)
    return buf.getvalue().split()[-1]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_seed_and_inputs_give_bitwise_identical_parameters(dtype):
    src = train_script(dtype)
    assert run_hash(src) == run_hash(src)


@pytest.mark.parametrize("seed", range(5))
def test_same_seed_same_initial_weights_in_both_backends(seed):
    cfg = random_config(np.random.default_rng(seed))
    a, b = fastlstm.LSTM(**cfg, seed=seed), oracle.LSTM(**cfg, seed=seed)
    assert np.array_equal(a._theta, b._theta)
    assert np.array_equal(a._theta, fastlstm.LSTM(**cfg, seed=seed)._theta)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bitwise_identical_across_processes(dtype, tmp_path):
    """Two child processes (different hash seeds, malloc filling fresh memory with a
    pattern, so a read of uninitialised memory would show) agree with this process."""
    src = train_script(dtype)
    here = run_hash(src)
    envs = [dict(PYTHONHASHSEED="1", MALLOC_PERTURB_="165"),
            dict(PYTHONHASHSEED="2", MALLOC_PERTURB_="90", OMP_NUM_THREADS="1")]
    procs = [subprocess.Popen([sys.executable, "-c", src], cwd=tmp_path,
                              env=child_env(**e), stdout=subprocess.PIPE, text=True)
             for e in envs]
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        assert out.split()[-1] == here


@pytest.mark.skipif(not HAS_BATCH, reason="no train_batch")
@pytest.mark.parametrize("schedule", ["step", "sequence"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_train_batch_bitwise_identical_across_thread_counts(dtype, schedule):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (13, 9, 3))
    y = rng.uniform(0, 1, (13, 9, 2))
    mask = rng.random((13, 9)) < 0.5
    results = set()
    for n_threads in (1, 2, 3, 4, 8, 16):
        net = fastlstm.LSTM(3, 2, 3, 2, dtype=dtype, seed=5)
        for _ in range(3):
            out = net.train_batch(x, y, mask, 0.3, schedule, n_threads)
        results.add(hashlib.sha256(net._theta.tobytes() + out.tobytes()).hexdigest())
    assert len(results) == 1


def test_save_and_load_continue_bitwise(tmp_path):
    x, y, mask = data(T=40)
    a = fastlstm.LSTM(2, 1, 2, 2, seed=3)
    a.train_sequence(x, y, mask, lr=0.5)
    a.save(tmp_path / "a.npz")
    b = fastlstm.load(tmp_path / "a.npz")
    for net in (a, b):
        net.train_sequence(x, y, mask, lr=0.5, schedule="sequence")
    assert np.array_equal(a._theta, b._theta)


# ===================================================================== 5. concurrency


def run_threads(targets, timeout=120):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:          # reported below
                errors.append(exc)
        return run

    ts = [threading.Thread(target=wrap(f)) for f in targets]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
        assert not t.is_alive(), "a thread hangs"
    if errors:
        raise errors[0]


def test_calls_on_one_net_wait_for_its_lock():
    """The documented contract: every call that reads or writes a net's parameters holds
    ``net._lock``, so calls on one net are serialised (none raises, none interleaves)."""
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    x, y, mask = data()
    s = net.stream(learn=True)
    calls = {"forward": lambda: net.forward(x),
             "train_sequence": lambda: net.train_sequence(x, y, mask),
             "step": lambda: s.step(x[0], y[0]),
             "feed": lambda: s.feed(x, y, mask),
             "save": lambda: net.save(_tmpfile()),
             "set_mask": lambda: net.set_mask("W_k", net.masks["W_k"])}
    if HAS_BATCH:
        calls["train_batch"] = lambda: net.train_batch(x[None], y[None], None, 0.1,
                                                       "step", 2)
    for name, call in calls.items():
        done = threading.Event()
        with net._lock:
            t = threading.Thread(target=lambda: (call(), done.set()))
            t.start()
            assert not done.wait(0.15), f"{name} ran while another call held the lock"
        assert done.wait(30), f"{name} never finished"
        t.join()


_TMPDIR = []


def _tmpfile():
    if not _TMPDIR:
        import tempfile
        _TMPDIR.append(tempfile.mkdtemp())
    return os.path.join(_TMPDIR[0], "lock.npz")


def test_many_threads_on_one_net_equal_a_serial_order(tmp_path):
    """4 trainers x 6 identical train_sequence calls, 2 readers (forward), a saver and
    a forward-only streamer, all on one net.  Identical trainings commute, so the end
    state must be exactly 24 serial trainings; every forward output and saved file must
    be one of the 25 serial states, and each thread must see them in order."""
    x, y, mask = data(T=60, seed=1)
    xf = data(T=30, seed=2)[0]
    net = fastlstm.LSTM(2, 1, 3, 2, seed=0)
    ref = clone(net)
    states = [ref._theta.copy()]
    for _ in range(24):
        ref.train_sequence(x, y, mask, lr=0.3)
        states.append(ref._theta.copy())
    outs = {}
    for k, th in enumerate(states):
        ref._theta[...] = th
        outs[ref.forward(xf).tobytes()] = k
    keys = {th.tobytes(): k for k, th in enumerate(states)}
    stop = threading.Event()
    seen = {"readers": [], "saver": []}

    def trainer():
        for _ in range(6):
            net.train_sequence(x, y, mask, lr=0.3)

    def reader():
        ks = []
        while not stop.is_set():
            ks.append(outs[net.forward(xf).tobytes()])      # KeyError: not a state
        ks.append(outs[net.forward(xf).tobytes()])
        seen["readers"].append(ks)

    def saver():
        ks, i = [], 0
        while not stop.is_set():
            p = tmp_path / f"s{i % 3}.npz"
            net.save(p)
            ks.append(keys[fastlstm.load(p)._theta.tobytes()])
            i += 1
        seen["saver"].append(ks)

    def streamer():
        while not stop.is_set():
            s = net.stream()
            for row in xf:
                o = s.step(row)
                assert o.shape == (1,) and np.isfinite(o).all()

    trainers = [threading.Thread(target=trainer) for _ in range(4)]

    def stopper():
        for t in trainers:
            t.start()
        for t in trainers:
            t.join()
        stop.set()

    run_threads([stopper, reader, reader, saver, streamer])
    assert np.array_equal(net._theta, states[-1])
    for ks in seen["readers"] + seen["saver"]:
        assert ks == sorted(ks), "a thread saw the parameters go back in time"
    assert seen["readers"][0][-1] == 24


def test_chaos_on_one_net_never_corrupts_it(tmp_path):
    """Every kind of call at once on one net, for about two seconds, including calls that
    diverge (FloatingPointError) and bad arguments: no crash, no unexpected exception,
    parameters finite, masked weights still 0, and the net still loads after a save."""
    net = fastlstm.LSTM(2, 1, 3, 2, seed=0, bias=("gates", "cells"))
    deadline = time.monotonic() + 2.0

    def worker(seed):
        rng = random.Random(seed)
        nrng = np.random.default_rng(seed)
        s = net.stream(learn=True, lr=0.1)
        while time.monotonic() < deadline:
            x, y, mask = data(T=rng.randint(1, 40), seed=rng.randint(0, 99))
            op = rng.randrange(9)
            try:
                if op == 0:
                    net.train_sequence(x, y, mask, lr=rng.choice([0.1, 1e300]),
                                       schedule=rng.choice(["step", "sequence"]))
                elif op == 1:
                    net.forward(x)
                elif op == 2:
                    s.step(x[0], y[0])
                elif op == 3:
                    s.feed(x, y, mask)
                    if rng.random() < 0.3:
                        s.end()
                elif op == 4 and HAS_BATCH:
                    net.train_batch(np.stack([x] * 5), np.stack([y] * 5), None,
                                    rng.choice([0.1, 1e300]), "step", rng.choice([1, 2]))
                elif op == 5:
                    p = tmp_path / f"c{seed}.npz"
                    net.save(p)
                    fastlstm.load(p)
                elif op == 6:
                    m = np.ones_like(net.masks["W_c"])
                    m[:, nrng.integers(0, m.shape[1])] = 0
                    net.set_mask("W_c", m)
                elif op == 7:
                    net.train_sequence(x[:, :1], y, lr=0.1)          # bad x
                else:
                    s.reset()
            except FloatingPointError:
                s = net.stream(learn=True, lr=0.1)
            except ValueError as exc:
                assert op == 7 and "x" in str(exc), exc

    run_threads([lambda i=i: worker(i) for i in range(5)])
    assert np.isfinite(net._theta).all()
    assert not np.any(net._theta[net._mask == 0])
    net.save(tmp_path / "end.npz")
    assert np.array_equal(fastlstm.load(tmp_path / "end.npz")._theta, net._theta)


def test_different_nets_in_parallel_equal_serial_runs():
    def job(k, net):
        x, y, mask = data(T=80, seed=k)
        for i in range(15):
            net.train_sequence(x, y, mask, lr=0.2, schedule=("step", "sequence")[i % 2])
        if HAS_BATCH:
            net.train_batch(np.stack([x] * 6), np.stack([y] * 6), None, 0.2, "step", 2)

    serial = [fastlstm.LSTM(2, 1, 3, 3, seed=k) for k in range(4)]
    for k, net in enumerate(serial):
        job(k, net)
    parallel = [fastlstm.LSTM(2, 1, 3, 3, seed=k) for k in range(4)]
    run_threads([lambda k=k: job(k, parallel[k]) for k in range(4)])
    for a, b in zip(serial, parallel):
        assert np.array_equal(a._theta, b._theta)


def test_kernel_calls_release_the_gil():
    """While one thread is inside a long kernel call, another runs Python code: the
    kernel releases the GIL, so different nets really run in parallel."""
    net = fastlstm.LSTM(4, 2, 8, 4, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (20000, 4))
    inside = threading.Event()
    finished = threading.Event()

    def long_call():
        inside.set()
        net.forward(x)
        finished.set()

    t = threading.Thread(target=long_call)
    t.start()
    inside.wait()
    n = 0
    while not finished.is_set():
        n += 1
    t.join()
    # with the GIL held for the whole call, this loop could not run during it (it would
    # see `finished` at once, n <= a few switch intervals' worth)
    assert n > 10000, n


# ===================================================================== 6. files


def good_file(tmp_path, **kw):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=1, **kw)
    net.train_sequence(*data()[:2], lr=0.3)
    p = tmp_path / "good.npz"
    net.save(p)
    return p, net


def test_every_truncation_is_rejected(tmp_path):
    p, _ = good_file(tmp_path)
    raw = p.read_bytes()
    bad = tmp_path / "t.npz"
    for n in range(len(raw)):
        bad.write_bytes(raw[:n])
        with pytest.raises(ValueError, match="path: .* not a valid fastlstm file"):
            fastlstm.load(bad)


@pytest.mark.parametrize("flip", [0x01, 0x08, 0x80, 0xFF])
def test_every_byte_flip_is_rejected_or_harmless(tmp_path, flip):
    """Flip one byte at every offset: load() either rejects the file with ValueError or
    (a byte that does not matter: a timestamp) returns exactly the saved net."""
    p, net = good_file(tmp_path)
    raw = p.read_bytes()
    bad = tmp_path / "f.npz"
    harmless = 0
    for i in range(len(raw)):
        b = bytearray(raw)
        b[i] ^= flip
        bad.write_bytes(bytes(b))
        try:
            back = fastlstm.load(bad)
        except ValueError as exc:
            assert "path" in str(exc)
            continue
        harmless += 1
        assert back.config == net.config
        assert np.array_equal(back._theta, net._theta)
        assert np.array_equal(back._mask, net._mask)
    assert harmless < len(raw) // 4


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {_Evil.marker}",))


def test_load_never_unpickles(tmp_path):
    _Evil.marker = str(tmp_path / "PWNED")
    p, _ = good_file(tmp_path)
    with np.load(p) as f:
        members = {k: f[k] for k in f.files}
    files = {}
    for name in ("params", "masks", "meta"):
        d = dict(members)
        d[name] = np.array([_Evil()], dtype=object)
        files[f"obj_{name}.npz"] = d
    for fname, d in files.items():
        np.savez(tmp_path / fname, **d)                     # pickles the object array
    (tmp_path / "raw.pkl").write_bytes(pickle.dumps(_Evil()))
    np.save(tmp_path / "obj.npy", np.array([_Evil()], dtype=object), allow_pickle=True)
    for fname in list(files) + ["raw.pkl"]:
        with pytest.raises(ValueError, match="path"):
            fastlstm.load(tmp_path / fname)
    with pytest.raises((ValueError, TypeError)):
        fastlstm.load(tmp_path / "obj.npy")
    assert not (tmp_path / "PWNED").exists()


KILL_CHILD = textwrap.dedent("""
    import sys, numpy as np, fastlstm
    path = sys.argv[1]
    nets = [fastlstm.LSTM(40, 3, 48, 4, seed=s) for s in (1, 2)]
    nets[0].save(path)
    print("ready", flush=True)
    i = 0
    while True:
        nets[i % 2].save(path)
        i += 1
""")


def test_killed_save_leaves_a_complete_file(tmp_path):
    """SIGKILL a process that saves two nets in turn over one path, at random moments:
    the file is always one of the two complete nets (temporary files may remain)."""
    path = tmp_path / "net.npz"
    nets = [fastlstm.LSTM(40, 3, 48, 4, seed=s) for s in (1, 2)]
    rng = random.Random(0)
    leftovers = 0
    for _ in range(6):
        p = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(path)], cwd=tmp_path,
                             env=child_env(), stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.01, 0.3))
        p.send_signal(signal.SIGKILL)
        p.wait(60)
        back = fastlstm.load(path)
        assert any(np.array_equal(back._theta, n._theta) for n in nets)
        tmps = list(tmp_path.glob(".fastlstm-*.tmp"))
        leftovers += len(tmps)
        for t in tmps:
            t.unlink()
        assert sorted(os.listdir(tmp_path)) == ["net.npz"]
    print(f"killed saves that left a temporary file behind: {leftovers} of 6")


# ---------------------------------------------------------------- regressions of fixed bugs


@pytest.mark.parametrize("call", ["lr", "init_range", "stream", "batch"])
def test_bug_b1_huge_int_is_a_value_error(call):
    net = fastlstm.LSTM(2, 1, 2, seed=0)
    x, y, _ = data()
    name = "init_range" if call == "init_range" else "lr"
    with pytest.raises(ValueError, match=name):
        if call == "lr":
            net.train_sequence(x, y, lr=10**400)
        elif call == "init_range":
            fastlstm.LSTM(2, 1, 2, init_range=10**400)
        elif call == "stream":
            net.stream(learn=True, lr=10**400)
        else:
            net.train_batch(x[None], y[None], lr=10**400)


def test_bug_b2_init_range_near_float64_max():
    try:
        net = fastlstm.LSTM(2, 1, 2, init_range=1e308)
    except ValueError as exc:
        assert "init_range" in str(exc)
    else:
        assert np.isfinite(net._theta).all()


@pytest.mark.parametrize("kw,name", [(dict(init_range=1e300), "init_range"),
                                     (dict(in_gate_bias=1e300), "in_gate_bias"),
                                     (dict(out_gate_bias=[1e39, 0]), "out_gate_bias")])
def test_bug_b3_float32_values_beyond_range(kw, name):
    with pytest.raises(ValueError, match=name):
        fastlstm.LSTM(2, 1, 2, dtype="float32", **kw)


def test_bug_b4_load_of_a_npy_file(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match="path"):
        fastlstm.load(tmp_path / "a.npy")


@pytest.mark.parametrize("what", ["load", "save"])
def test_bug_b5_non_path_names_path(what):
    with pytest.raises(TypeError, match="path"):
        if what == "load":
            fastlstm.load(None)
        else:
            fastlstm.LSTM(2, 1, 2).save(3)


def test_bug_b6_deeply_nested_meta(tmp_path):
    p, _ = good_file(tmp_path)
    with np.load(p) as f:
        d = {k: f[k] for k in f.files}
    d["meta"] = np.frombuffer(b"[" * 100000, np.uint8)
    np.savez(tmp_path / "deep.npz", **d)
    with pytest.raises(ValueError, match="path"):
        fastlstm.load(tmp_path / "deep.npz")


def _npz_with_header_shape(tmp_path, shape):
    p, _ = good_file(tmp_path)
    with np.load(p) as f:
        d = {k: f[k] for k in f.files}
    out = tmp_path / "huge.npz"
    with zipfile.ZipFile(out, "w") as z:
        for k in ("meta", "masks"):
            b = io.BytesIO()
            np.save(b, d[k])
            z.writestr(k + ".npy", b.getvalue())
        b = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            b, {"descr": "<f8", "fortran_order": False, "shape": shape})
        z.writestr("params.npy", b.getvalue() + b"\0" * 64)
    return out


def test_bug_b7_huge_declared_shape(tmp_path):
    with pytest.raises(ValueError, match="path"):
        fastlstm.load(_npz_with_header_shape(tmp_path, (10**13,)))


def test_bug_b8_load_checks_sizes_before_allocating(tmp_path):
    p, _ = good_file(tmp_path)
    with np.load(p) as f:
        d = {k: f[k] for k in f.files}
    meta = json.loads(d["meta"].tobytes())
    meta["config"].update(n_in=2**19, in_gate_bias=None)
    d["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "big.npz", **d)               # params still has 30-odd values
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="params"):
            fastlstm.load(tmp_path / "big.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"load of a {os.path.getsize(tmp_path / 'big.npz')} B file " \
        f"allocated {peak >> 20} MB"


@pytest.mark.skipif(not HAS_BATCH, reason="no train_batch")
def test_bug_b9_ragged_batch_mask_names_mask():
    net = fastlstm.LSTM(2, 1, 2, seed=0)
    with pytest.raises(ValueError, match="mask"):
        net.train_batch(np.zeros((2, 3, 2)), np.zeros((2, 3, 1)), [[1, 0, 1], [1]])


def test_bug_b10_save_keeps_normal_permissions(tmp_path):
    p = tmp_path / "net.npz"
    p.write_bytes(b"")
    os.chmod(p, 0o644)
    fastlstm.LSTM(2, 1, 2).save(p)
    assert os.stat(p).st_mode & 0o777 == 0o644


@pytest.mark.parametrize("backend", BACKENDS, ids=["c", "oracle"])
def test_bug_b11_set_mask_during_a_sequence_stream(backend, tmp_path):
    net = backend(2, 1, 2, 2, seed=0)
    x, y, _ = data()
    s = net.stream(learn=True, lr=0.5, schedule="sequence")
    for t in range(5):
        s.step(x[t], y[t])
    net.set_mask("W_c", np.zeros_like(net.masks["W_c"]))
    s.end()
    assert not np.any(net.params["W_c"]), "a masked weight moved"
    net.save(tmp_path / "n.npz")
    backend.load(tmp_path / "n.npz")


def test_bug_b12_what_save_writes_load_reads(tmp_path):
    net = fastlstm.LSTM(2, 1, 2, 2, seed=0)
    net.params["W_k"][...] = 0.5          # includes the masked input columns of W_k
    try:
        net.save(tmp_path / "n.npz")
    except ValueError as exc:             # refusing to write is a fix too
        assert "mask" in str(exc)
        return
    fastlstm.load(tmp_path / "n.npz")


# ===================================================================== 3. memory tools


@pytest.mark.slow
def test_valgrind_smoke_script_is_clean(tmp_path):
    """tools/valgrind.sh: memcheck of tools/valgrind_smoke.py on the compiled net, with
    the interpreter's and numpy's own reports (the same script on the oracle) suppressed:
    no errors, no definite leaks, no report with a frame in the compiled core."""
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind not installed")
    if os.environ.get("LD_PRELOAD"):
        pytest.skip("valgrind cannot run the sanitizer build")
    p = subprocess.run(["bash", os.path.join(TOOLS, "valgrind.sh")],
                       env=child_env(VALGRIND_OUT=str(tmp_path), PYTHON=sys.executable),
                       capture_output=True, text=True, timeout=3600)
    print(p.stdout)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "smoke ok" in p.stdout
    assert "ERROR SUMMARY: 0 errors" in p.stdout
    assert "definitely lost: 0 bytes" in p.stdout or "definitely lost" not in p.stdout


# ===================================================================== 7. long runs


@pytest.mark.slow
def test_a_million_adding_sequences_keep_memory_flat():
    """10^6 train_sequence calls on the adding-problem net (exp. 4, T = 100), cycling a
    pool of pre-generated sequences: resident memory after warm-up stays within 5%."""
    import psutil
    from fastlstm.tasks import get_task
    task = get_task("adding", T=100)
    rng = np.random.default_rng(0)
    pool = [task.sample(rng) for _ in range(1000)]
    net = fastlstm.LSTM(2, 1, 2, 2, bias=True, init_range=0.1, in_gate_bias=[-3.0, -6.0],
                        seed=0)
    proc = psutil.Process()
    total, warm, every = 1_000_000, 50_000, 50_000
    samples = []
    t0 = time.perf_counter()
    for i in range(1, total + 1):
        ex = pool[i % 1000]
        net.train_sequence(ex.x, ex.y, ex.mask, lr=0.5)
        if i % every == 0:
            # a few calls of the other kinds too, so their paths are in the loop
            net.forward(ex.x)
            s = net.stream(learn=True, lr=0.5)
            s.feed(ex.x, ex.y, ex.mask)
            s.end()
            samples.append((i, proc.memory_info().rss))
    elapsed = time.perf_counter() - t0
    base = dict(samples)[warm]
    after = [r for i, r in samples if i >= warm]
    lines = [f"{i:>8d} sequences: RSS {r / 2**20:8.2f} MiB" for i, r in samples]
    print("\n".join(lines))
    print(f"{total} sequences in {elapsed:.0f} s ({elapsed / total * 1e6:.1f} us each); "
          f"RSS after warm-up {base / 2**20:.2f} MiB, max {max(after) / 2**20:.2f} MiB "
          f"({(max(after) / base - 1) * 100:+.2f}%)")
    assert np.isfinite(net._theta).all()
    assert max(after) <= 1.05 * base
