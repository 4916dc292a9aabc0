"""Mini-batches: train_batch against the oracle, across thread counts, and its errors."""
import numpy as np
import pytest

import fastlstm
from fastlstm import oracle
from _helpers import RTOL, assert_close, random_pair, unbounded_cell


def batch(rng, net, N, T):
    x = rng.uniform(-1, 1, (N, T, net.I))
    y = rng.uniform(0, 1, (N, T, net.K))
    mask = rng.random((N, T)) < 0.5
    return x, y, mask


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(30))
def test_train_batch_matches_oracle(seed, dtype):
    rng = np.random.default_rng(seed)
    cfg, net, ref = random_pair(rng, seed, dtype)
    N, T = int(rng.integers(1, 14)), int(rng.integers(1, 20))
    x, y, mask = batch(rng, net, N, T)
    lr = 0.02 if unbounded_cell(cfg) or cfg["out"] == "linear" else 0.2
    for schedule in ("step", "sequence"):
        out = net.train_batch(x, y, mask, lr=lr, schedule=schedule, n_threads=2)
        out_ref = ref.train_batch(x, y, mask, lr=lr, schedule=schedule)
        assert_close(out, out_ref, RTOL[net.dtype], f"{schedule} outputs")
        assert_close(net._theta, ref._theta, RTOL[net.dtype], f"{schedule} weights")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("N", [5, 6, 8, 9, 13, 17, 40])
@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_bitwise_identical_for_every_thread_count(schedule, N, dtype):
    """N = 5 is the smallest batch that uses two threads, and the tightest fit of their
    rows in dW (two sets of block rows and one parameter copy per extra thread); from
    more than 2 blocks per thread (N = 17 with 2 threads, 40 with 3) the threads share
    params instead."""
    results = []
    for n_threads in (1, 2, 3, 8):
        net = fastlstm.LSTM(3, 2, 3, 2, seed=4, dtype=dtype)
        x, y, mask = batch(np.random.default_rng(N), net, N, 40)
        x, y = x.astype(dtype), y.astype(dtype)
        out = net.train_batch(x, y, mask, lr=0.3, schedule=schedule, n_threads=n_threads)
        results.append((net._theta.copy(), out))
    for theta, out in results[1:]:
        assert np.array_equal(theta, results[0][0])
        assert np.array_equal(out, results[0][1])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("N", [5, 8, 13, 40])
@pytest.mark.parametrize("masks", ["sparse", "blocks"])
def test_steps_where_blocks_have_no_target(masks, N, dtype):
    """An update adds only the dW rows of the blocks of 4 sequences with a target at the
    step (the others are zero): sparse targets, and whole blocks without targets at some
    steps, on every side of the block and thread boundaries.  Bitwise equal for every
    thread count, and equal to the oracle."""
    rng = np.random.default_rng(N)
    T = 30
    if masks == "sparse":
        mask = rng.random((N, T)) < 0.08
    else:
        live = rng.random(((N + 3) // 4, T)) < 0.4       # per block of 4 and step
        mask = np.repeat(live, 4, axis=0)[:N] & (rng.random((N, T)) < 0.7)
    results = []
    for n_threads in (1, 2, 3):
        net = fastlstm.LSTM(3, 2, 3, 2, seed=5, dtype=dtype)
        x, y, _ = batch(np.random.default_rng(N + 1), net, N, T)
        out = net.train_batch(x, y, mask, lr=0.5, n_threads=n_threads)
        results.append((net._theta.copy(), out))
    for theta, out in results[1:]:
        assert np.array_equal(theta, results[0][0])
        assert np.array_equal(out, results[0][1])
    ref = oracle.LSTM(3, 2, 3, 2, seed=5, dtype=dtype)
    out_ref = ref.train_batch(x, y, mask, lr=0.5)
    assert_close(results[0][1], out_ref, RTOL[ref.dtype], "outputs")
    assert_close(results[0][0], ref._theta, RTOL[ref.dtype], "weights")


def test_more_blocks_than_listed():
    """More than 256 blocks of 4 sequences (N > 1024): every row is added at a step with a
    target, none at a step without; bitwise for every thread count, equal to the oracle."""
    N, T = 1030, 5
    mask = np.zeros((N, T), bool)
    mask[::97, 0] = True                          # a few blocks
    mask[:, 2] = True                             # every block
    mask[1029, 3] = True                          # the last block only; step 1, 4: none
    results = []
    for n_threads in (1, 2, 3):
        net = fastlstm.LSTM(2, 1, 2, 1, seed=6)
        x, y, _ = batch(np.random.default_rng(7), net, N, T)
        results.append((net.train_batch(x, y, mask, lr=0.5, n_threads=n_threads),
                        net._theta.copy()))
    for out, theta in results[1:]:
        assert np.array_equal(out, results[0][0]) and np.array_equal(theta, results[0][1])
    ref = oracle.LSTM(2, 1, 2, 1, seed=6)
    out_ref = ref.train_batch(x, y, mask, lr=0.5)
    assert_close(results[0][0], out_ref, RTOL[ref.dtype], "outputs")
    assert_close(results[0][1], ref._theta, RTOL[ref.dtype], "weights")


def test_batch_of_one_is_train_sequence():
    rng = np.random.default_rng(3)
    a = fastlstm.LSTM(2, 1, 3, 1, seed=1)          # S = 1: bitwise
    b = fastlstm.LSTM(2, 1, 3, 1, seed=1)
    x, y, mask = batch(rng, a, 1, 50)
    oa = a.train_batch(x, y, mask, lr=0.5)
    ob = b.train_sequence(x[0], y[0], mask[0], lr=0.5)
    assert np.array_equal(a._theta, b._theta) and np.array_equal(oa[0], ob)


def test_mean_of_identical_sequences_is_one_sequence():
    """N copies of one sequence: the mean update equals one sequence's update."""
    rng = np.random.default_rng(4)
    a = fastlstm.LSTM(2, 1, 2, 2, seed=1)
    b = fastlstm.LSTM(2, 1, 2, 2, seed=1)
    x, y, mask = batch(rng, a, 1, 30)
    a.train_batch(np.repeat(x, 4, 0), np.repeat(y, 4, 0), np.repeat(mask, 4, 0), lr=0.5)
    b.train_batch(x, y, mask, lr=0.5)
    assert_close(a._theta, b._theta, 1e-14, "weights")


@pytest.mark.parametrize("args,exc,word", [
    (dict(x=np.zeros((2, 5, 2)), y=np.zeros((2, 4, 1))), ValueError, "y"),
    (dict(x=np.zeros((5, 2)), y=np.zeros((5, 1))), ValueError, "x"),
    (dict(x=np.zeros((0, 5, 2)), y=np.zeros((0, 5, 1))), ValueError, "x"),
    (dict(x=np.full((2, 5, 2), np.nan), y=np.zeros((2, 5, 1))), ValueError, "x"),
    (dict(x=np.zeros((2, 5, 2)), y=np.full((2, 5, 1), np.inf)), ValueError, "y"),
    (dict(x=np.zeros((2, 5, 2)), y=np.zeros((2, 5, 1)), mask=np.ones(5, bool)), ValueError, "mask"),
    (dict(x=np.zeros((2, 5, 2)), y=np.zeros((2, 5, 1)), n_threads=0), ValueError, "n_threads"),
    (dict(x=np.zeros((2, 5, 2)), y=np.zeros((2, 5, 1)), n_threads=65), ValueError, "n_threads"),
    (dict(x=np.zeros((2, 5, 2)), y=np.zeros((2, 5, 1)), n_threads=1.5), TypeError, "n_threads"),
    (dict(x=np.zeros((2, 5, 2)), y=np.zeros((2, 5, 1)), lr=np.nan), ValueError, "lr"),
    (dict(x=np.zeros((2, 5, 2), complex), y=np.zeros((2, 5, 1))), TypeError, "x"),
])
@pytest.mark.parametrize("backend", [fastlstm.LSTM, oracle.LSTM])
def test_bad_batch_input(backend, args, exc, word):
    net = backend(2, 1, 2, 2, seed=0)
    before = net._theta.copy()
    with pytest.raises(exc, match=word):
        net.train_batch(**args)
    assert np.array_equal(net._theta, before)


def test_batch_divergence_is_transactional():
    net = fastlstm.LSTM(2, 1, 2, 2, out="linear", h="id", seed=0)
    rng = np.random.default_rng(0)
    x, y, mask = batch(rng, net, 4, 50)
    with pytest.raises(FloatingPointError):
        for _ in range(50):
            before = net._theta.copy()
            net.train_batch(x, y * 1e6, lr=1e6, n_threads=2)
    assert np.array_equal(net._theta, before)


# ------------------------------------------------------------- the workers kept between calls

def _reference_batch(N, n_threads, seed=0):
    net = fastlstm.LSTM(3, 2, 3, 2, seed=seed)
    x, y, mask = batch(np.random.default_rng(N), net, N, 25)
    out = net.train_batch(x, y, mask, lr=0.3, n_threads=n_threads)
    return net._theta.copy(), out


def test_concurrent_batches_share_or_start_workers():
    """Calls with several threads made at once from Python threads: one uses the kept
    workers, the others start their own threads.  Every result is that of one thread."""
    import threading
    expected = {N: _reference_batch(N, 1) for N in (8, 13, 21)}
    errors, results = [], []

    def run(N, n_threads):
        try:
            for _ in range(15):
                results.append((N, _reference_batch(N, n_threads)))
        except BaseException as exc:                # reported below
            errors.append(exc)

    ts = [threading.Thread(target=run, args=a) for a in ((8, 2), (13, 3), (21, 2), (8, 4))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
        assert not t.is_alive(), "a train_batch call hangs"
    assert not errors, errors[0]
    assert len(results) == 60
    for N, (theta, out) in results:
        assert np.array_equal(theta, expected[N][0]) and np.array_equal(out, expected[N][1])


def test_more_workers_then_fewer():
    """The kept workers grow with the largest n_threads asked for; a later call with
    fewer leaves the others idle."""
    ref = _reference_batch(40, 1)
    for n_threads in (2, 8, 3, 2, 10, 1, 5):
        theta, out = _reference_batch(40, n_threads)
        assert np.array_equal(theta, ref[0]) and np.array_equal(out, ref[1]), n_threads


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_train_batch_with_threads_after_fork():
    """A child forked after the parent started workers has none: its first call with two
    threads starts them again instead of waiting for workers that do not exist."""
    import os
    import warnings
    ref = _reference_batch(8, 1)
    _reference_batch(8, 2)                          # the parent now has a kept worker
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # fork in a threaded process
        pid = os.fork()
    if pid == 0:                                    # the child: exit status = result
        code = 1
        try:
            theta, out = _reference_batch(8, 2)
            code = 0 if np.array_equal(theta, ref[0]) and np.array_equal(out, ref[1]) else 3
        finally:
            os._exit(code)
    deadline = __import__("time").monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if __import__("time").monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("train_batch with 2 threads hangs in a forked child")
        __import__("time").sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_stopping_the_kept_threads_is_safe_and_changes_no_result():
    """_core.stop_threads (also run at interpreter exit) joins the kept workers; calling
    it twice is safe and the next call starts new ones with the same bits."""
    from fastlstm import _core
    net = fastlstm.LSTM(3, 2, 4, 2, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (8, 20, 3)), rng.uniform(0, 1, (8, 20, 2))
    a = net.train_batch(x, y, lr=0.1, n_threads=2)
    theta = net._theta.copy()
    _core.stop_threads()
    _core.stop_threads()
    net2 = fastlstm.LSTM(3, 2, 4, 2, seed=0)
    assert np.array_equal(net2.train_batch(x, y, lr=0.1, n_threads=2), a)
    assert np.array_equal(net2._theta, theta)
