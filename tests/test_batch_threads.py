"""train_batch's thread count: an explicit n_threads is used as given; the default
(n_threads None) uses up to get_num_threads(), fewer where more threads would be slower
than one (lstm97_batch_threads).  No timing here: the choice itself is checked, and that
it changes no result."""
import numpy as np
import pytest

import fastlstm
from fastlstm import _core, _threads, oracle

T = 100
# the benchmark net of test_bench_parallel.py (1,254 weights), and the adding net (93)
BIG = dict(n_in=8, n_out=4, n_blocks=5, block_size=4)
SMALL = dict(n_in=2, n_out=1, n_blocks=2, block_size=2)
LEVELS = [lvl for lvl in (1, 2, 3) if lvl <= _core.cpu_isa()]


@pytest.fixture
def two_threads():
    fastlstm.set_num_threads(2)
    yield
    fastlstm.set_num_threads(None)


@pytest.fixture(params=LEVELS)
def isa(request):
    _core.set_isa(request.param)
    yield request.param
    _core.set_isa(0)


def lanes(dtype, level):
    """The sequences of a lane group: 32 bytes of values (64 with AVX-512)."""
    return (64 if level == 3 else 32) // np.dtype(dtype).itemsize


def end_mask(N):
    m = np.zeros((N, T), bool)
    m[:, -1] = True
    return m


@pytest.mark.parametrize("N", [1, 4, 5, 8, 9, 33])
@pytest.mark.parametrize("n_threads", [1, 2, 3, 64])
def test_an_explicit_count_is_used(two_threads, n_threads, N):
    """As before: the count asked for, at most one thread per block of 4 sequences,
    whatever the net, the schedule or the default."""
    net = fastlstm.LSTM(**SMALL, seed=0)
    for schedule in ("step", "sequence"):
        got = _threads.batch_threads(net, N, T, None, schedule, n_threads=n_threads)
        assert got == min(n_threads, -(-N // 4))


def test_the_default_is_one_thread_unless_more_are_allowed():
    net = fastlstm.LSTM(**BIG, seed=0)
    fastlstm.set_num_threads(None)
    assert _threads.batch_threads(net, 64, T, end_mask(64), "sequence") == 1


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_default_gives_every_thread_a_lane_group(two_threads, isa, dtype):
    """Schedule "step": a thread with less than a whole lane group runs its sequences one
    by one, slower than one thread running them in lanes, so the default takes a second
    thread only from two lane groups on (a net where the work per meeting is ample).
    Schedule "sequence" meets once: there the unit is the block of 4 sequences."""
    net = fastlstm.LSTM(**BIG, seed=0, dtype=dtype)
    G = lanes(dtype, isa)
    for N in range(1, 2 * G + 5):
        got = _threads.batch_threads(net, N, T, end_mask(N), "step")
        assert got == (2 if N >= 2 * G else 1), (N, G)
        got = _threads.batch_threads(net, N, T, end_mask(N), "sequence")
        assert got == (2 if N >= 8 else 1), (N, G)


def test_without_lanes_the_unit_is_a_block(two_threads):
    """Nets that do not run in lanes (the lanes path off, or a forget gate): the unit is
    the block of 4 sequences."""
    for forget_gate in (True, False):
        net = fastlstm.LSTM(**BIG, seed=0, forget_gate=forget_gate)
        if not forget_gate:
            _core.set_batch_lanes(False)
        try:
            assert not _core.batch_lanes(net._dims)
            assert _threads.batch_threads(net, 7, T, end_mask(7), "sequence") == 1
            assert _threads.batch_threads(net, 8, T, end_mask(8), "sequence") == 2
        finally:
            _core.set_batch_lanes(True)


def test_the_default_weighs_the_work_between_meetings(two_threads):
    """Schedule "step" meets at every step with a target: a small net with a target at
    every step has too little work per meeting for a second thread, the same net with
    one target per sequence (one meeting) has plenty, and so has "sequence"."""
    net = fastlstm.LSTM(**SMALL, seed=0)
    N = 64
    assert _threads.batch_threads(net, N, T, None, "step") == 1
    assert _threads.batch_threads(net, N, T, np.ones((N, T), bool), "step") == 1
    assert _threads.batch_threads(net, N, T, end_mask(N), "step") == 2
    assert _threads.batch_threads(net, N, T, None, "sequence") == 2
    # no target at all: the threads never meet
    assert _threads.batch_threads(net, N, T, np.zeros((N, T), bool), "step") == 2
    # one meeting, but too little work in the whole call for a thread (32 or 16 sequences
    # of 93 weights: ceil(N / 2) * 93 * 100 < 262,144)
    for n in (16, 32):
        assert _threads.batch_threads(net, n, T, end_mask(n), "step") == 1
        assert _threads.batch_threads(net, n, T, None, "sequence") == 1
    # the big net at 1 target in 5 sequence-steps: 2 threads from N = 32 (a thread's
    # ceil(N / 2) * 1,254 * 100 weight-steps over the ~100 meetings reach 16,384)
    big = fastlstm.LSTM(**BIG, seed=0)
    rng = np.random.default_rng(0)
    got = {n: _threads.batch_threads(big, n, T, rng.random((n, T)) < 0.2, "step")
           for n in (16, 24, 32, 64)}
    assert got == {16: 1, 24: 1, 32: 2, 64: 2}


@pytest.mark.parametrize("N", [4, 8, 16, 64])
@pytest.mark.parametrize("schedule", ["step", "sequence"])
def test_train_batch_uses_the_chosen_count_and_the_same_bits(two_threads, monkeypatch,
                                                              schedule, N):
    """train_batch without n_threads passes the default's count to the kernel, and the
    result is bitwise that of one thread."""
    rng = np.random.default_rng(N)
    one = fastlstm.LSTM(**SMALL, seed=1)
    x = rng.uniform(-1, 1, (N, T, one.I))
    y = rng.uniform(0, 1, (N, T, one.K))
    mask = rng.random((N, T)) < 0.2
    out1 = one.train_batch(x, y, mask, lr=0.3, schedule=schedule, n_threads=1)
    net = fastlstm.LSTM(**SMALL, seed=1)
    seen = []
    kernel = type(net)._train_batch_kernel

    def spy(self, x, y, tmask, lr, schedule, n_threads):
        seen.append(n_threads)
        return kernel(self, x, y, tmask, lr, schedule, n_threads)

    monkeypatch.setattr(type(net), "_train_batch_kernel", spy)
    out = net.train_batch(x, y, mask, lr=0.3, schedule=schedule)
    assert seen == [_threads.batch_threads(net, N, T, mask, schedule)]
    assert np.array_equal(out, out1) and np.array_equal(net._theta, one._theta)


def test_the_oracle_takes_the_default_as_it_is(two_threads):
    net = oracle.LSTM(**SMALL, seed=0)
    assert _threads.batch_threads(net, 64, T, None, "step") == 2
    assert _threads.batch_threads(net, 4, T, None, "step") == 1


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(N=0, T=T), ValueError, "N: expected an integer >= 1"),
    (dict(N=4, T=0), ValueError, "T: expected an integer >= 1"),
    (dict(N=4.0, T=T), ValueError, "N: expected an integer >= 1"),
    (dict(N=4, T=T, mask=np.ones((4, T - 1), bool)), ValueError, r"mask: expected shape"),
    (dict(N=4, T=T, schedule="epoch"), ValueError, "schedule"),
    (dict(N=4, T=T, n_threads=0), ValueError, "n_threads"),
    (dict(N=4, T=T, n_threads=65), ValueError, "n_threads"),
])
def test_batch_threads_errors(kwargs, exc, match):
    net = fastlstm.LSTM(**SMALL, seed=0)
    with pytest.raises(exc, match=match):
        _threads.batch_threads(net, **kwargs)


@pytest.mark.parametrize("args, match", [
    (dict(N=0), "N and T must be >= 1"),
    (dict(T=0), "N and T must be >= 1"),
    (dict(schedule=7), "unknown schedule"),
    (dict(n_threads=0), "n_threads must be in"),
    (dict(n_threads=65), "n_threads must be in"),
])
def test_core_batch_threads_errors(args, match):
    """The C function's status codes become the core's usual errors."""
    net = fastlstm.LSTM(**SMALL, seed=0)
    kw = dict(N=4, T=T, schedule=0, n_threads=2)
    kw.update(args)
    with pytest.raises(ValueError, match=match):
        _core.batch_threads(net._dims, net._theta, None, kw["N"], kw["T"], kw["schedule"],
                            kw["n_threads"])
