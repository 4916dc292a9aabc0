"""Tests of the seeded experiment generators in fastlstm.tasks (pure numpy, fast)."""
import math
import re

import numpy as np
import pytest

from fastlstm.tasks import (
    ORDER_SYMBOLS, REBER_SYMBOLS, TASKS, AddingTask, Example, Lag2aTask, Lag2bTask, Lag2cTask,
    MultiplicationTask, Noise3aTask, Noise3bTask, Noise3cTask, Order6aTask, Order6bTask,
    ReberTask, Task, accepts_embedded, accepts_reber, embedded_reber_string, get_task,
    legal_next, make_reber_sets, reber_string,
)

# Small parameters so that every task is cheap to sample.
SMALL = {
    "reber": {}, "lag2a": {"p": 10}, "lag2b": {"p": 10}, "lag2c": {"q": 10, "p": 5},
    "noise3a": {"T": 50, "N": 3}, "noise3b": {"T": 50, "N": 1}, "noise3c": {"T": 50, "N": 3},
    "adding": {"T": 40}, "multiplication": {"T": 40}, "order6a": {}, "order6b": {},
    "cerg": {"length": 60}, "spikes": {"n_spikes": 6},
}


def rng(seed=0):
    return np.random.default_rng(seed)


def draw(task, n, seed=0):
    g = rng(seed)
    return [task.sample(g) for _ in range(n)]


def assert_within_binomial(count, n, p, k=5.0):
    """count ~ Binomial(n, p) within k standard deviations."""
    sd = math.sqrt(n * p * (1 - p))
    assert abs(count - n * p) <= k * sd, f"{count} of {n}, expected {n * p:.1f} +- {k * sd:.1f}"


def ideal_output(task, ex):
    """An output that the task's correct() must accept."""
    if isinstance(task, ReberTask):
        return ex.info["legal"].astype(np.float64)
    if isinstance(task, Noise3cTask):
        y = ex.y.copy()
        y[-1, 0] = ex.info["clean_target"]
        return y
    return ex.y.copy()


# ----------------------------------------------------------------------------- all tasks

def test_registry_names():
    assert set(TASKS) == set(SMALL)
    for name, cls in TASKS.items():
        assert cls.name == name
        assert isinstance(get_task(name), cls)
    with pytest.raises(ValueError):
        get_task("no-such-task")
    assert isinstance(get_task("ADDING"), AddingTask)


def test_registry_parameters():
    assert get_task("lag2b", p=7).n_in == 8
    assert get_task("lag2b").p == 100
    t = get_task("lag2c", q=30, p=20)
    assert (t.q, t.p, t.n_in, t.n_out) == (30, 20, 24, 2)
    t = get_task("noise3b", T=1000, N=1)
    assert (t.T, t.N) == (1000, 1)
    assert get_task("adding").T == 100 and get_task("multiplication", T=500).T == 500
    assert get_task("order6a").n_out == 4 and get_task("order6b").n_out == 8
    with pytest.raises(TypeError):
        get_task("adding", p=3)
    with pytest.raises(ValueError):
        AddingTask(T=10)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_shapes_dtypes(name):
    task = get_task(name, **SMALL[name])
    assert isinstance(task, Task)
    for ex in draw(task, 20):
        assert isinstance(ex, Example)
        T = ex.x.shape[0]
        assert ex.x.shape == (T, task.n_in) and ex.y.shape == (T, task.n_out)
        assert ex.mask.shape == (T,)
        assert ex.x.dtype == np.float64 and ex.y.dtype == np.float64 and ex.mask.dtype == bool
        for a in (ex.x, ex.y, ex.mask):
            assert a.flags.c_contiguous
        assert ex.mask.any()
        assert np.all(ex.y[~ex.mask] == 0.0)
        assert np.all(np.isfinite(ex.x)) and np.all(np.isfinite(ex.y))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_determinism(name):
    task = get_task(name, **SMALL[name])
    a, b, c = draw(task, 10, seed=3), draw(task, 10, seed=3), draw(task, 10, seed=4)
    for ea, eb in zip(a, b):
        assert np.array_equal(ea.x, eb.x) and np.array_equal(ea.y, eb.y)
        assert np.array_equal(ea.mask, eb.mask)
    assert any(ea.x.shape != ec.x.shape or not np.array_equal(ea.x, ec.x) or
               not np.array_equal(ea.y, ec.y) for ea, ec in zip(a, c))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_correct_accepts_ideal_rejects_wrong(name):
    task = get_task(name, **SMALL[name])
    for ex in draw(task, 20, seed=1):
        good = ideal_output(task, ex)
        assert task.correct(good, ex)
        bad = good.copy()
        if isinstance(task, ReberTask):
            bad[-1] = 1.0 - bad[-1]                    # only illegal symbols active at the end
        else:
            bad[-1] = 1.0 - good[-1] if task.n_out > 1 else good[-1] + 0.5
        assert not task.correct(bad, ex)
        nan = good.copy()
        nan[-1, 0] = np.nan
        assert not task.correct(nan, ex)
        with pytest.raises(ValueError):
            task.correct(good[:-1], ex)


@pytest.mark.parametrize("name", sorted(set(SMALL) - {"noise3c"}))
def test_abs_error(name):
    task = get_task(name, **SMALL[name])
    ex = task.sample(rng(2))
    assert task.abs_error(ex.y, ex) == 0.0
    assert task.abs_error(ex.y + 0.125, ex) == pytest.approx(0.125)
    off = ex.y.copy()
    off[~ex.mask] += 7.0                               # steps without targets do not count
    assert task.abs_error(off, ex) == 0.0


def test_rng_must_be_generator():
    with pytest.raises(TypeError):
        AddingTask().sample(np.random.RandomState(0))
    with pytest.raises(TypeError):
        reber_string(0)


def test_example_validation():
    x, y, m = np.zeros((5, 2)), np.zeros((5, 1)), np.ones(5, dtype=bool)
    Example(x, y, m, {})
    with pytest.raises(ValueError):
        Example(x, np.zeros((4, 1)), m, {})
    with pytest.raises(ValueError):
        Example(x.astype(np.float32), y, m, {})
    with pytest.raises(ValueError):
        Example(x, y, np.ones(5), {})
    with pytest.raises(ValueError):
        Example(np.zeros((2, 5)).T, y, m, {})


# ----------------------------------------------------------------------------- Exp. 1 Reber

# Independent regular expression of the Reber language (derived by hand from the automaton):
# from state 3 the string reaches the end via (T*VPX)* T*V (V | PS).
_R3 = r"(?:T*VPX)*T*V(?:V|PS)"
REBER_RE = re.compile(rf"^B(?:TS*X(?:S|X{_R3})|P{_R3})E$")
EMBEDDED_RE = re.compile(rf"^B([TP])B(?:TS*X(?:S|X{_R3})|P{_R3})E\1E$")


def test_reber_regex_sanity():
    for s in ("BTSSXSE", "BPVVE", "BTXXVPSE", "BPTVPXTTVVE"):
        assert REBER_RE.match(s) and accepts_reber(s)
    for s in ("BTSSXE", "BPVE", "BTXSSE", "TSXSE", "BTSXSEE"):
        assert not REBER_RE.match(s) and not accepts_reber(s)


def test_reber_strings_accepted():
    g = rng(5)
    for _ in range(1000):
        s = reber_string(g)
        assert REBER_RE.match(s) and accepts_reber(s)
        e = embedded_reber_string(g)
        assert EMBEDDED_RE.match(e), e
        assert accepts_embedded(e)
        assert e[1] == e[-2] and e[-1] == "E"


def test_accepts_embedded_matches_regex_on_mutations():
    g = rng(6)
    n_rejected = 0
    for _ in range(1500):
        s = list(embedded_reber_string(g))
        kind = g.integers(3)
        k = int(g.integers(len(s)))
        if kind == 0:
            s[k] = REBER_SYMBOLS[g.integers(7)]
        elif kind == 1:
            del s[k]
        else:
            s.insert(k, REBER_SYMBOLS[g.integers(7)])
        s = "".join(s)
        expected = bool(EMBEDDED_RE.match(s))
        assert accepts_embedded(s) == expected, s
        n_rejected += not expected
    assert n_rejected > 500
    assert accepts_embedded("BTBTSSXSETE")
    assert not accepts_embedded("BTBTSSXSEPE")          # the long-range T/P must match
    assert not accepts_embedded("BPBTSSXSETE")
    assert not accepts_embedded("BTBTSSXSET")            # incomplete


def test_legal_next_examples():
    assert legal_next("") == {"B"}
    assert legal_next("B") == {"T", "P"}
    assert legal_next("BT") == {"B"} and legal_next("BP") == {"B"}
    assert legal_next("BTB") == {"T", "P"}
    assert legal_next("BTBT") == {"S", "X"}
    assert legal_next("BPBP") == {"T", "V"}
    assert legal_next("BTBTX") == {"X", "S"}
    assert legal_next("BTBPV") == {"P", "V"}
    assert legal_next("BTBTSXS") == {"E"}
    assert legal_next("BTBTSSXSE") == {"T"}              # long-range dependency
    assert legal_next("BPBTSSXSE") == {"P"}
    assert legal_next("BPBPVVE") == {"P"}
    assert legal_next("BTBTSSXSET") == {"E"}
    assert legal_next("BTBTSSXSETE") == set()
    for bad in ("T", "BB", "BTT", "BTBS", "BTBTSSXSEP", "BTBTSSXSETEE"):
        with pytest.raises(ValueError):
            legal_next(bad)


def test_legal_next_matches_observed_continuations():
    """legal_next must equal the set of next symbols seen after frequent prefixes."""
    g = rng(7)
    seen = {}
    for _ in range(3000):
        s = embedded_reber_string(g)
        for t in range(len(s)):
            seen.setdefault(s[:t], {})
            seen[s[:t]][s[t]] = seen[s[:t]].get(s[t], 0) + 1
    n_checked = 0
    for prefix, nxt in seen.items():
        legal = legal_next(prefix)
        assert set(nxt) <= legal, prefix
        if sum(nxt.values()) >= 40:                    # both branches seen with prob. ~1 - 2^-39
            assert set(nxt) == legal, prefix
            n_checked += 1
    assert n_checked > 50


def test_reber_example_encoding():
    task = ReberTask()
    s = "BTBTSSXSETE"
    ex = task.example(s)
    n = len(s)
    assert ex.x.shape == (n - 1, 7) and ex.mask.all()
    assert "".join(REBER_SYMBOLS[k] for k in ex.x.argmax(axis=1)) == s[:-1]
    assert "".join(REBER_SYMBOLS[k] for k in ex.y.argmax(axis=1)) == s[1:]
    assert np.all(ex.x.sum(axis=1) == 1) and np.all(ex.y.sum(axis=1) == 1)
    for t in range(n - 1):
        assert {REBER_SYMBOLS[k] for k in np.flatnonzero(ex.info["legal"][t])} == legal_next(s[:t + 1])
    assert ex.info["legal_sets"][n - 3] == {"T"}         # after the inner E comes the T again


def test_reber_correct_rule():
    task = ReberTask()
    ex = task.example("BPBTSSXSEPE")
    good = ex.info["legal"] * 0.6 + 0.1
    assert task.correct(good, ex)
    # the one-hot target of the actual next symbol leaves a legal symbol tied with illegal ones
    assert not task.correct(ex.y, ex)
    # predicting T instead of P before the final E (the long-range symbol) is wrong
    bad = good.copy()
    t = len("BPBTSSXSE") - 1
    bad[t, REBER_SYMBOLS.index("T")] = 0.9
    assert not task.correct(bad, ex)
    # ordering among the legal symbols does not matter; the legal ones must be the top k
    ok = good.copy()
    ok[1, REBER_SYMBOLS.index("T")] = 0.2
    assert task.correct(ok, ex)


def test_reber_branch_balance():
    exs = draw(ReberTask(), 3000, seed=8)
    n_t = sum(ex.info["branch"] == "T" for ex in exs)
    assert_within_binomial(n_t, 3000, 0.5)


def test_reber_sets():
    train, test = make_reber_sets(rng(9))
    assert len(train) == 256 and len(test) == 256
    assert len(set(train)) == 256 and len(set(test)) == 256
    assert not set(train) & set(test)
    assert all(accepts_embedded(s) for s in train + test)
    assert (train, test) == make_reber_sets(rng(9))
    assert (train, test) != make_reber_sets(rng(10))
    # a task over a fixed set samples only from it
    task = ReberTask(train)
    assert all(ex.info["string"] in set(train) for ex in draw(task, 200))
    with pytest.raises(ValueError):
        ReberTask(["BTBTSSXSEPE"])


# ----------------------------------------------------------------------------- Exp. 2

def test_lag2a_sequences():
    p = 12
    task = Lag2aTask(p=p)
    exs = draw(task, 400, seed=11)
    for ex in exs:
        seq = ex.info["sequence"]
        assert seq.shape == (p + 1,) and ex.x.shape == (p, p + 1)
        assert np.array_equal(ex.x.argmax(axis=1), seq[:-1])
        assert np.array_equal(ex.y.argmax(axis=1), seq[1:])
        assert seq[0] == seq[-1] == p - 1 + ex.info["class"]
        assert np.array_equal(seq[1:-1], np.arange(p - 1))
    assert_within_binomial(sum(ex.info["class"] for ex in exs), 400, 0.5)
    ex = exs[0]
    near = ex.y + 0.24
    assert task.correct(near, ex)
    near[3, 5] += 0.02                                 # one middle step off by 0.26
    assert not task.correct(near, ex)


def test_lag2b_sequences_and_end_only_rule():
    p = 8
    task = Lag2bTask(p=p)
    exs = draw(task, 2000, seed=12)
    middles = np.concatenate([ex.info["sequence"][1:-1] for ex in exs])
    assert middles.min() == 0 and middles.max() == p - 2          # a1..a_{p-1} only
    counts = np.bincount(middles, minlength=p - 1)
    for c in counts:
        assert_within_binomial(c, middles.size, 1 / (p - 1))
    for ex in exs[:50]:
        seq = ex.info["sequence"]
        assert seq[0] == seq[-1] in (p - 1, p)
        assert np.array_equal(ex.y.argmax(axis=1), seq[1:]) and ex.mask.all()
    assert_within_binomial(sum(ex.info["class"] for ex in exs), 2000, 0.5)
    ex = exs[0]
    garbage_middle = np.full_like(ex.y, 0.5)
    garbage_middle[-1] = ex.y[-1]
    assert task.correct(garbage_middle, ex)            # judged at the end only
    garbage_middle[-1, p - 1: p + 1] = garbage_middle[-1, p - 1: p + 1][::-1]
    assert not task.correct(garbage_middle, ex)


def test_lag2c_structure():
    q, p = 15, 6
    task = Lag2cTask(q=q, p=p)
    a_lo, e, b, x, y = 0, p, p + 1, p + 2, p + 3
    exs = draw(task, 500, seed=13)
    for ex in exs:
        seq = ex.info["sequence"]
        T = ex.x.shape[0]
        assert seq.shape[0] == T + 1 == ex.info["length"]
        assert np.array_equal(ex.x.argmax(axis=1), seq[:-1])
        assert seq[0] == b and seq[1] in (x, y) and seq[-1] == seq[1]
        assert seq[-2] == e and np.count_nonzero(seq == e) == 1
        assert np.all((seq[2:-2] >= a_lo) & (seq[2:-2] < p))    # only distractors between
        assert T + 1 == q + 4 + ex.info["n_tail"]
        assert ex.mask.sum() == 1 and ex.mask[-1]
        assert np.array_equal(ex.y[-1], [1.0, 0.0] if seq[1] == x else [0.0, 1.0])
    assert_within_binomial(sum(ex.info["class"] for ex in exs), 500, 0.5)
    ex = exs[0]
    assert task.correct(ex.y + 0.19, ex) and not task.correct(ex.y + 0.21, ex)


def test_lag2c_mean_length():
    """Mean sequence length q + 13 (tail until e is geometric with mean 10, sd ~9.5)."""
    q = 20
    n = 10000
    task = Lag2cTask(q=q, p=5)
    g = rng(14)
    lengths = np.array([task.sample(g).info["length"] for _ in range(n)])
    se = math.sqrt(90.0 / n)
    assert abs(lengths.mean() - (q + 13)) < 4 * se
    assert abs(lengths.mean() - (q + 14)) > 4 * se     # the paper's q+14 is not this generator
    assert lengths.min() == q + 4


# ----------------------------------------------------------------------------- Exp. 3

@pytest.mark.parametrize("cls", [Noise3aTask, Noise3bTask, Noise3cTask])
def test_noise_lengths_and_classes(cls):
    T, N = 100, 3
    task = cls(T=T, N=N)
    exs = draw(task, 2000, seed=15)
    lengths = np.array([ex.x.shape[0] for ex in exs])
    assert lengths.min() == T and lengths.max() == T + T // 10
    assert set(lengths) == set(range(T, T + T // 10 + 1))
    classes = np.array([ex.info["class"] for ex in exs])
    assert set(classes) == {1, 2}
    assert_within_binomial(int(np.sum(classes == 1)), 2000, 0.5)
    for ex in exs:
        assert ex.mask.sum() == 1 and ex.mask[-1]
        assert ex.info["sign"] == (1.0 if ex.info["class"] == 1 else -1.0)
    noise = np.concatenate([ex.x[N:, 0] for ex in exs])
    assert abs(noise.mean()) < 0.01 and abs(noise.var() - 0.2) < 0.01
    signal = np.concatenate([ex.x[:N, 0] - ex.info["sign"] for ex in exs])
    if cls is Noise3aTask:
        assert np.all(signal == 0.0)
    else:
        assert abs(signal.mean()) < 0.03 and abs(signal.var() - 0.2) < 0.03


def test_noise3ab_targets():
    for cls in (Noise3aTask, Noise3bTask):
        task = cls(T=50, N=1)
        for ex in draw(task, 100, seed=16):
            assert ex.y[-1, 0] == (1.0 if ex.info["class"] == 1 else 0.0)
            assert task.correct(ex.y + 0.19, ex) and not task.correct(ex.y - 0.21, ex)


def test_noise3c_targets():
    task = Noise3cTask(T=50, N=3)
    exs = draw(task, 3000, seed=17)
    clean = np.array([ex.info["clean_target"] for ex in exs])
    cls = np.array([ex.info["class"] for ex in exs])
    assert np.all(clean == np.where(cls == 1, 0.2, 0.8))
    noise = np.array([ex.y[-1, 0] for ex in exs]) - clean
    assert abs(noise.mean()) < 0.03 and abs(noise.var() - 0.1) < 0.015
    ex = exs[0]
    c = ex.info["clean_target"]
    out = np.zeros_like(ex.y)
    out[-1, 0] = c + 0.09
    assert task.correct(out, ex) and task.abs_error(out, ex) == pytest.approx(0.09)
    out[-1, 0] = c - 0.11
    assert not task.correct(out, ex)
    # judged against the noise-free target, not the noisy training target
    noisy = next(e for e in exs if abs(e.y[-1, 0] - e.info["clean_target"]) > 0.3)
    assert not task.correct(noisy.y, noisy)


# ----------------------------------------------------------------------------- Exp. 4, 5

@pytest.mark.parametrize("cls", [AddingTask, MultiplicationTask])
def test_marked_pairs(cls):
    T = 100
    task = cls(T=T)
    exs = draw(task, 3000, seed=18)
    lengths = np.array([ex.x.shape[0] for ex in exs])
    assert lengths.min() == T and lengths.max() == T + T // 10
    i1s, i2s, n_first = [], [], 0
    for ex in exs:
        values, markers = ex.x[:, 0], ex.x[:, 1]
        marked = np.flatnonzero(markers == 1.0)
        i1, i2 = ex.info["positions"]
        assert len(marked) == 2 and set(marked) == {i1, i2}
        assert np.all(np.isin(markers, (-1.0, 0.0, 1.0)))
        assert 0 <= i1 < 10 and 0 <= i2 <= T // 2 - 1 and i1 != i2
        assert markers[-1] == -1.0
        assert markers[0] == (1.0 if 0 in (i1, i2) else -1.0)
        assert np.count_nonzero(markers == -1.0) == (1 if 0 in (i1, i2) else 2)
        assert np.count_nonzero(markers) == np.count_nonzero(markers == 1) + \
            np.count_nonzero(markers == -1)
        assert ex.info["first_marked"] == (0 in (i1, i2))
        if ex.info["first_marked"]:
            n_first += 1
            assert values[0] == (0.0 if cls is AddingTask else 1.0)
        lo, hi = (-1.0, 1.0) if cls is AddingTask else (0.0, 1.0)
        assert np.all((values >= lo) & (values <= hi))
        x1, x2 = values[i1], values[i2]
        assert (ex.info["X1"], ex.info["X2"]) == (x1, x2)
        expected = 0.5 + (x1 + x2) / 4 if cls is AddingTask else x1 * x2
        assert ex.y[-1, 0] == pytest.approx(expected, abs=1e-15)
        assert ex.mask.sum() == 1 and ex.mask[-1]
        i1s.append(i1)
        i2s.append(i2)
    # X1 uniform over the first ten pairs, X2 covers every candidate position
    for c in np.bincount(i1s, minlength=10):
        assert_within_binomial(c, len(exs), 0.1)
    assert set(i2s) == set(range(T // 2))
    # first pair marked: P(i1 = 0) + P(i1 != 0) P(i2 = 0) = 0.1 + 0.9 / 49
    assert_within_binomial(n_first, len(exs), 0.1 + 0.9 / (T // 2 - 1))
    # the paper's minimal lag T/2 is attained and never undercut
    lags = [ex.x.shape[0] - 1 - ex.info["positions"][1] for ex in exs]
    assert min(lags) >= T // 2
    ex = exs[0]
    assert task.correct(ex.y + 0.039, ex) and not task.correct(ex.y - 0.041, ex)


def test_adding_values_uniform():
    values = np.concatenate([ex.x[1:-1, 0] for ex in draw(AddingTask(T=100), 300, seed=19)])
    assert abs(values.mean()) < 0.02 and abs(values.var() - 1 / 3) < 0.02


# ----------------------------------------------------------------------------- Exp. 6

@pytest.mark.parametrize("cls", [Order6aTask, Order6bTask])
def test_temporal_order(cls):
    task = cls()
    windows = cls.windows
    n_cls = 2 ** len(windows)
    exs = draw(task, 3000, seed=20)
    lengths = np.array([ex.x.shape[0] for ex in exs])
    assert lengths.min() == 100 and lengths.max() == 110
    classes = np.array([ex.info["class"] for ex in exs])
    for c in np.bincount(classes, minlength=n_cls):
        assert_within_binomial(c, len(exs), 1 / n_cls)
    seen_positions = [set() for _ in windows]
    for ex in exs[:1000]:
        s = "".join(ORDER_SYMBOLS[k] for k in ex.x.argmax(axis=1))
        assert np.all(ex.x.sum(axis=1) == 1)
        assert s[0] == "E" and s[-1] == "B"
        assert set(s[1:-1]) <= set("abcdXY") and "E" not in s[1:] and "B" not in s[:-1]
        xy = [i + 1 for i, ch in enumerate(s) if ch in "XY"]          # 1-based
        assert tuple(xy) == ex.info["positions"]
        for k, ((lo, hi), pos) in enumerate(zip(windows, xy)):
            assert lo <= pos <= hi
            seen_positions[k].add(pos)
        label = "".join(s[p - 1] for p in xy)
        assert label == ex.info["label"]
        assert ex.info["class"] == int(label.replace("X", "0").replace("Y", "1"), 2)
        assert ex.mask.sum() == 1 and ex.mask[-1]
        assert np.array_equal(ex.y[-1], np.eye(n_cls)[ex.info["class"]])
    for (lo, hi), seen in zip(windows, seen_positions):
        assert seen == set(range(lo, hi + 1))          # both window ends reached
    ex = exs[0]
    assert task.correct(ex.y + 0.29, ex) and not task.correct(ex.y - 0.31, ex)
