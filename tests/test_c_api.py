"""The C API's helpers against the Python package, through ctypes on the compiled core
(the extension module holds the whole C library): the masks that lstm97_masks_* build
from the topology options equal fastlstm.LSTM's over every combination of the options;
lstm97_set_gate_bias_* writes what in_gate_bias/out_gate_bias write; the version call;
lstm97_stop_threads between mini-batches."""
from __future__ import annotations

import ctypes
import itertools

import numpy as np
import pytest

import fastlstm
from fastlstm import _core
from fastlstm._base import GROUPS

LIB = ctypes.CDLL(_core.__file__)
OK, ERR_DIMS = 0, -1


class Dims(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in
                ("I", "K", "B", "S", "output_gate", "forget_gate", "g", "h", "out", "kernel")]


class Topology(ctypes.Structure):
    _fields_ = [("recurrent", ctypes.c_int32), ("input_to_output", ctypes.c_int32),
                ("bias", ctypes.c_int32)]


def _dims(net: fastlstm.LSTM) -> Dims:
    return Dims(net.I, net.K, net.B, net.S, int(net.config["output_gate"]), 0, 0, 0, 0, 0)


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


BIAS_SETS = [tuple(g for g, bit in zip(GROUPS, bits) if bit)
             for bits in itertools.product((0, 1), repeat=3)]


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 1, 2, 2), (3, 2, 3, 2), (5, 4, 1, 3)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_masks_equal_python_masks(shape, dtype):
    I, K, B, S = shape
    fn = LIB.lstm97_masks_f64 if dtype == "float64" else LIB.lstm97_masks_f32
    n = 0
    for output_gate, recurrent, input_to_output, bias in itertools.product(
            (True, False), (True, False), (True, False), BIAS_SETS):
        net = fastlstm.LSTM(I, K, B, S, output_gate=output_gate, recurrent=recurrent,
                            input_to_output=input_to_output, bias=bias, dtype=dtype, seed=0)
        flags = sum(1 << GROUPS.index(g) for g in bias)
        topo = Topology(int(recurrent), int(input_to_output), flags)
        masks = np.full(net.n_params, 7, dtype=dtype)
        assert fn(ctypes.byref(_dims(net)), ctypes.byref(topo), _ptr(masks)) == OK
        assert np.array_equal(masks, net._mask), (output_gate, recurrent, input_to_output,
                                                  bias)
        n += 1
    assert n == 64


def test_default_topology_is_lstm_default():
    net = fastlstm.LSTM(3, 2, 2, 2, seed=0)
    masks = np.zeros(net.n_params)
    assert LIB.lstm97_masks_f64(ctypes.byref(_dims(net)), None, _ptr(masks)) == OK
    assert np.array_equal(masks, net._mask)


def test_masks_reject_bad_options():
    net = fastlstm.LSTM(2, 1, 1, 1, seed=0)
    masks = np.zeros(net.n_params)
    for topo in (Topology(2, 0, 7), Topology(1, -1, 7), Topology(1, 0, 8)):
        assert LIB.lstm97_masks_f64(ctypes.byref(_dims(net)), ctypes.byref(topo),
                                    _ptr(masks)) == ERR_DIMS


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gate_bias_equals_python(dtype):
    in_b, out_b = [-3.0, -6.0, 1.5], [0.25, -1.0, 2.0]
    net = fastlstm.LSTM(2, 1, 3, 2, in_gate_bias=in_b, out_gate_bias=out_b, dtype=dtype,
                        seed=4)
    plain = fastlstm.LSTM(2, 1, 3, 2, dtype=dtype, seed=4)
    params = plain._theta.copy()
    fn = LIB.lstm97_set_gate_bias_f64 if dtype == "float64" else LIB.lstm97_set_gate_bias_f32
    a_in = np.array(in_b)
    a_out = np.array(out_b)
    assert fn(ctypes.byref(_dims(net)), _ptr(plain._mask), _ptr(a_in), _ptr(a_out),
              _ptr(params)) == OK
    assert np.array_equal(params, net._theta)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_init_uniform_keeps_python_masking(dtype):
    net = fastlstm.LSTM(3, 2, 2, 2, bias=("cells",), recurrent=False, dtype=dtype, seed=0)
    fn = LIB.lstm97_init_uniform_f64 if dtype == "float64" else LIB.lstm97_init_uniform_f32
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_double, ctypes.c_uint64,
                   ctypes.c_void_p]
    params = np.full(net.n_params, 9, dtype=dtype)
    assert fn(ctypes.byref(_dims(net)), _ptr(net._mask), 0.2, 5, _ptr(params)) == OK
    free = net._mask != 0
    assert np.all(params[~free] == 0) and not np.signbit(params[~free]).any()
    assert np.all(np.abs(params[free]) <= 0.2) and np.all(params[free] != 0)
    again = np.zeros_like(params)
    assert fn(ctypes.byref(_dims(net)), _ptr(net._mask), 0.2, 5, _ptr(again)) == OK
    assert np.array_equal(params, again)


def test_version_call():
    LIB.lstm97_version.restype = ctypes.c_char_p
    assert LIB.lstm97_version().decode() == fastlstm.__version__
    major, minor, patch = (int(p) for p in fastlstm.__version__.split("."))
    assert LIB.lstm97_version_number() == major * 10000 + minor * 100 + patch


def test_stop_threads_between_batches():
    """Stopping the kept threads (twice) changes no result: the next call starts new
    ones and gives the same bits."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(12, 15, 2))
    y = rng.uniform(0, 1, size=(12, 15, 1))
    a = fastlstm.LSTM(2, 1, 2, 2, seed=1)
    b = fastlstm.LSTM(2, 1, 2, 2, seed=1)
    out_a = a.train_batch(x, y, n_threads=3)
    assert LIB.lstm97_n_kept_threads() >= 2
    assert LIB.lstm97_stop_threads() == OK
    assert LIB.lstm97_n_kept_threads() == 0
    assert LIB.lstm97_stop_threads() == OK
    out_b = b.train_batch(x, y, n_threads=3)
    assert np.array_equal(out_a, out_b) and np.array_equal(a._theta, b._theta)
    assert LIB.lstm97_n_kept_threads() >= 2
