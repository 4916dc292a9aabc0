"""The kernels' own logistic function (csrc/lstm97_exp.h): accuracy against an
extended-precision reference, and the two-lane and scalar versions equal bit for bit."""
import numpy as np
import pytest

from fastlstm import _core, oracle

EXTENDED = np.finfo(np.longdouble).nmant >= 63     # x87 80-bit long double (x86-64 Linux)


def kernel_sig(x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _core.sig(x, out)
    return out


def one_at_a_time(x):
    """Each value through the scalar version (arrays of one element)."""
    out = np.empty_like(x)
    for i, v in enumerate(x):
        o = np.empty(1)
        _core.sig(np.array([v]), o)
        out[i] = o[0]
    return out


def samples(rng):
    return np.concatenate([
        rng.uniform(-40, 40, 200_000),                  # where sig is not 0 or 1
        rng.uniform(-520, 520, 50_000),                 # up to the libm fallback and past it
        rng.standard_normal(50_000) * 1e-3,
        np.ldexp(1.0, np.arange(-1074, 10)), -np.ldexp(1.0, np.arange(-1074, 10)),
        [0.0, -0.0, 512.0, -512.0, np.nextafter(512.0, 1e3), np.nextafter(-512.0, -1e3),
         709.0, -709.0, 745.0, -745.0, 1e300, -1e300]])


def ulp_errors(x, got):
    with np.errstate(over="ignore"):
        ref = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    ulp = np.spacing(ref.astype(np.float64)).astype(np.longdouble)
    return np.abs(got.astype(np.longdouble) - ref) / ulp


@pytest.mark.skipif(not EXTENDED, reason="needs an extended-precision long double")
def test_accuracy_against_extended_reference():
    """e^-|x| is within 0.52 ulp; 1 + e and the quotient add a rounding each, so the
    relative error is below 1.52 * 2^-52: at most 3 ulp of the result (2.28 measured, at
    the same x as numpy's exp in the same formula, i.e. the oracle)."""
    x = samples(np.random.default_rng(0))
    err = ulp_errors(x, kernel_sig(x))
    ref_err = ulp_errors(x, oracle.sig(x))
    assert float(err.max()) <= 3, f"max error {float(err.max()):.3f} ulp at x = {x[err.argmax()]!r}"
    assert float(err.max()) <= float(ref_err.max()) + 0.1
    assert float(np.mean(err)) <= float(np.mean(ref_err)) * 1.02
    assert float(np.mean(err <= 0.5)) > 0.6          # correctly rounded (0.67 measured)


def test_no_worse_than_the_oracle():
    """The kernels and the oracle (numpy's exp) differ by at most 2 ulp."""
    x = samples(np.random.default_rng(1))
    got, want = kernel_sig(x), oracle.sig(x)
    assert np.all(np.abs(got - want) <= 2 * np.spacing(np.abs(want)))


LANES = [1, 2] + ([4] if _core.has_avx2() else [])


def sig_lanes(x, lanes):
    out = np.empty_like(x)
    _core.sig(x, out, lanes)
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 13, 64, 101])
def test_every_lane_count_equals_scalar(n):
    """The kernels evaluate the logistic four (AVX2), two (SSE2) or one at a time; the plain
    kernel one at a time: the same bits for every length, including lanes that fall back
    to libm next to lanes that do not."""
    rng = np.random.default_rng(n)
    x = rng.uniform(-30, 30, n)
    x[rng.random(n) < 0.2] = rng.choice([600.0, -600.0, np.inf, -np.inf, np.nan, 0.0, -0.0])
    want = one_at_a_time(x).view(np.uint64)
    assert np.array_equal(kernel_sig(x).view(np.uint64), want)
    for lanes in LANES:
        assert np.array_equal(sig_lanes(x, lanes).view(np.uint64), want), lanes


def test_lanes_argument():
    with pytest.raises(ValueError, match="lanes"):
        _core.sig(np.zeros(3), np.zeros(3), 3)


def test_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 512.0, -512.0])
    got = kernel_sig(x)
    assert np.isnan(got[0])
    assert got[1] == 1.0 and got[2] == 0.0
    assert got[3] == 0.5 and got[4] == 0.5
    assert got[5] == 1.0 and got[6] == 0.0
    assert got[7] == 1.0 and 0 < got[8] < 1e-222
    # symmetric: sig(-x) = 1 - sig(x) to rounding
    y = np.linspace(-30, 30, 1001)
    assert np.max(np.abs(kernel_sig(-y) - (1 - kernel_sig(y)))) <= 2.3e-16


def test_in_place_and_errors():
    x = np.linspace(-5, 5, 9)
    want = kernel_sig(x)
    _core.sig(x, x)
    assert np.array_equal(x, want)
    with pytest.raises(ValueError):
        _core.sig(np.zeros(3), np.zeros(4))
    with pytest.raises((TypeError, ValueError)):
        _core.sig(np.zeros(3, np.float32), np.zeros(3, np.float32))


def test_lanes_dense_sweep_equal_scalar_and_close_to_libm():
    """A dense sweep (step 2^-12 over [-40, 40]: every table entry many times over, both
    signs) and the range boundary +-512: the four-lane logistic (AVX2: a movemask range
    check and gathers from the table) and the two-lane one give the scalar one's bits,
    and all are within 2 ulp of libm's exp in the same formula."""
    x = np.arange(-40 * 4096, 40 * 4096 + 1) / 4096.0
    edge = np.nextafter(512.0, np.array([0.0, np.inf]))
    x = np.concatenate([x, [512.0, -512.0], edge, -edge])
    want = sig_lanes(x, 1)
    for lanes in LANES + [0]:
        assert np.array_equal(sig_lanes(x, lanes).view(np.uint64), want.view(np.uint64)), lanes
    e = np.exp(-np.abs(x))
    ref = np.where(x >= 0, 1.0, e) / (1.0 + e)
    assert np.all(np.abs(want - ref) <= 2 * np.spacing(ref))
