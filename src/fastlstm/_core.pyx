# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin boundary between Python and the C kernels of csrc/fastlstm.h.

Every function validates its buffers (dtype, C-contiguity, length, writability), naming
the argument in the error, then makes one ``with nogil:`` call.  The buffers are owned by
the caller (:class:`fastlstm.LSTM` keeps them); nothing here allocates per step.

``dims`` is the tuple ``(I, K, B, S, output_gate, g, h, out[, kernel[, sources[,
forget_gate[, peepholes]]]])`` with the integer ids of :data:`G_IDS`, :data:`H_IDS`,
:data:`OUT_IDS` and :data:`SOURCES_IDS`; ``kernel`` is KERNEL_FAST (the default) or
KERNEL_NAIVE (the plain scalar reference), ``sources`` "full" (the default) or "cells",
``forget_gate`` and ``peepholes`` 0 (the default) or 1.
"""
import atexit
import os
import threading

import numpy as np

cimport numpy as cnp

# numpy's headers pull in <complex.h>, whose macro I would rewrite lstm97_dims.I
cdef extern from *:
    """
    #ifdef I
    #undef I
    #endif
    """
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.string cimport memcpy, strerror
from libc.float cimport FLT_MAX
from libc.math cimport fabs
from libc.errno cimport errno, EINTR

cdef extern from "Python.h":
    int PyErr_CheckSignals() except -1
    unsigned long PyThread_get_thread_ident() nogil

cdef extern from "<fcntl.h>" nogil:
    int c_open "open"(const char *path, int flags, int mode)
    int O_WRONLY, O_CREAT, O_EXCL, O_CLOEXEC

cdef extern from "<sys/stat.h>" nogil:
    int fchmod(int fd, unsigned int mode)

cdef extern from "<unistd.h>" nogil:
    int c_close "close"(int fd)
    int fsync(int fd)
    int unlink(const char *path)

cdef extern from "<stdio.h>" nogil:
    int c_rename "rename"(const char *old, const char *new)

cnp.import_array()

G_IDS = {"g2": LSTM97_G2, "g1": LSTM97_G1, "tanh": LSTM97_G_TANH, "h1": LSTM97_G_H1,
         "id": LSTM97_G_ID}
H_IDS = {"h1": LSTM97_H1, "id": LSTM97_H_ID, "tanh": LSTM97_H_TANH, "g2": LSTM97_H_G2,
         "g1": LSTM97_H_G1}
OUT_IDS = {"logistic": LSTM97_OUT_LOGISTIC, "linear": LSTM97_OUT_LINEAR,
           "softmax": LSTM97_OUT_SOFTMAX}
SOURCES_IDS = {"full": LSTM97_SOURCES_FULL, "cells": LSTM97_SOURCES_CELLS}
SCHEDULES = {"step": LSTM97_STEP, "sequence": LSTM97_SEQUENCE}
KERNEL_FAST = LSTM97_KERNEL_FAST
KERNEL_NAIVE = LSTM97_KERNEL_NAIVE
MODE_FORWARD = LSTM97_FORWARD
MODE_LEARN = LSTM97_LEARN
MODE_ACCUMULATE = LSTM97_ACCUMULATE

_MESSAGES = {
    LSTM97_ERR_DIMS: "invalid sizes (every size must be >= 1 and B*S <= 2**24)",
    LSTM97_ERR_ACTIVATION: "unknown activation id",
    LSTM97_ERR_UNSUPPORTED: "unsupported extension requested",
    LSTM97_ERR_NULL: "a required buffer is missing",
    LSTM97_ERR_LENGTH: "T must be >= 1",
    LSTM97_ERR_SCHEDULE: "unknown schedule or mode",
    LSTM97_ERR_ALPHA: "lr must be finite",
    LSTM97_ERR_THREADS: "n_threads must be in [1, 64] (or a thread could not be started)",
}
MAX_THREADS = LSTM97_MAX_THREADS
POLL_UNITS = LSTM97_POLL_UNITS


# ---------------------------------------------------------------------------- Ctrl-C
# The kernels call _poll about every LSTM97_POLL_UNITS units of work (1-10 ms).  In the
# main thread it takes the GIL and runs the Python signal handlers; an exception they
# raise (KeyboardInterrupt for Ctrl-C) is kept in _pending, the kernel stops with
# LSTM97_ERR_INTERRUPTED, and _raise_for raises it once the GIL is back.  Signal handlers
# only ever run in the main thread, so the other threads' kernels never take the GIL.
cdef unsigned long _main_ident = threading.main_thread().ident
cdef object _pending = None


cdef int _poll_gil() noexcept:
    global _pending
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        _pending = exc
        return 1
    return 0


cdef int _poll(void *ctx) noexcept nogil:
    if PyThread_get_thread_ident() != _main_ident:
        return 0
    with gil:
        return _poll_gil()


def set_poll(bint on):
    """Install (True, the default at import) or remove (False) the poll through which the
    kernels answer Ctrl-C within a few milliseconds (for benchmarks and tests)."""
    if on:
        lstm97_set_poll(_poll, NULL)
    else:
        lstm97_set_poll(NULL, NULL)


lstm97_set_poll(_poll, NULL)


def stop_threads():
    """Stop and join the worker threads that ``train_batch`` and the batched ``forward``
    keep between calls (``lstm97_stop_threads``); a later call starts new ones.  Called
    at interpreter exit, after a call still running in another thread has finished."""
    with nogil:
        lstm97_stop_threads()


atexit.register(stop_threads)


def _raise_for(int rc, str where):
    global _pending
    if rc == LSTM97_OK:
        return
    if rc == LSTM97_ERR_INTERRUPTED:
        exc, _pending = _pending, None
        raise exc if exc is not None else KeyboardInterrupt()
    if rc == LSTM97_ERR_THREADS and where == "train_batch":
        raise RuntimeError("train_batch: could not start the worker threads (a system "
                           "limit on threads or memory); try fewer n_threads")
    if rc == LSTM97_ERR_NONFINITE:
        raise FloatingPointError(
            f"{where}: an output, cell state or weight became NaN or infinite")
    raise ValueError(f"{where}: {_MESSAGES.get(rc, 'error code %d' % rc)}")


cdef int _dims_from(tuple dims, lstm97_dims *d, lstm97_layout *L) except -1:
    cdef Py_ssize_t n = len(dims)
    if n < 8 or n > 12:
        raise ValueError(f"dims: expected 8 to 12 integers, got {n}")
    d.I, d.K, d.B, d.S = dims[0], dims[1], dims[2], dims[3]
    d.output_gate, d.g, d.h, d.out = dims[4], dims[5], dims[6], dims[7]
    d.kernel = dims[8] if n >= 9 else LSTM97_KERNEL_FAST
    d.sources = dims[9] if n >= 10 else LSTM97_SOURCES_FULL
    d.forget_gate = dims[10] if n >= 11 else 0
    d.peepholes = dims[11] if n == 12 else 0
    _raise_for(lstm97_layout_of(d, L), "dims")
    return 0


def layout(tuple dims):
    """Sizes and offsets of the buffers for ``dims`` (see csrc/fastlstm.h)."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    return dict(C=L.C, nz=L.nz, nu=L.nu, W_in=L.W_in,
                W_out=(L.W_out if L.W_out >= 0 else None),
                W_phi=(L.W_phi if L.W_phi >= 0 else None),
                P_in=(L.P_in if L.P_in >= 0 else None),
                P_phi=(L.P_phi if L.P_phi >= 0 else None),
                P_out=(L.P_out if L.P_out >= 0 else None),
                W_c=L.W_c, W_k=L.W_k, n_params=L.n_params,
                state_len=L.state_len, work_len=L.work_len)


cdef void *_buf(object a, str name, int typenum, Py_ssize_t n, bint writable) except NULL:
    """Data pointer of ``a`` after checking it is a C-contiguous ndarray of ``typenum``
    with ``n`` elements (and writable if asked)."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != typenum:
        want = "float64" if typenum == cnp.NPY_DOUBLE else (
            "float32" if typenum == cnp.NPY_FLOAT else "uint8")
        raise TypeError(f"{name}: expected dtype {want} (the dtype of params), got {a.dtype}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{name}: array must be C-contiguous")
    if cnp.PyArray_SIZE(arr) != n:
        raise ValueError(f"{name}: expected {n} elements, got {a.size} (shape {a.shape})")
    if writable and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name}: array must be writable")
    if n == 0:
        raise ValueError(f"{name}: empty array")
    return cnp.PyArray_DATA(arr)


cdef int _real_type(object params) except -1:
    if not cnp.PyArray_Check(params):
        raise TypeError(f"params: expected a numpy.ndarray, got {type(params).__name__}")
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>params)
    if t != cnp.NPY_DOUBLE and t != cnp.NPY_FLOAT:
        raise TypeError(f"params: dtype must be float64 or float32, got {params.dtype}")
    return t


cdef int64_t _length(object x, int I) except -1:
    if not cnp.PyArray_Check(x):
        raise TypeError(f"x: expected a numpy.ndarray, got {type(x).__name__}")
    if cnp.PyArray_NDIM(<cnp.ndarray>x) != 2:
        raise ValueError(f"x: expected a 2-d array (T, {I}), got shape {np.shape(x)}")
    cdef int64_t T = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    if T < 1:
        raise ValueError("x: the sequence is empty (T = 0)")
    return T


def all_finite(a):
    """True if every element of the C-contiguous float64/float32 array ``a`` is finite."""
    cdef int t = _real_type(a)
    cdef Py_ssize_t n = a.size
    if n == 0:
        return True
    cdef void *p = _buf(a, "a", t, n, False)
    cdef int ok
    with nogil:
        ok = lstm97_all_finite_f64(n, <double *>p) if t == cnp.NPY_DOUBLE \
            else lstm97_all_finite_f32(n, <float *>p)
    return ok != 0


def sig(x, out, int lanes=0):
    """out[:] = the kernels' logistic of x (C-contiguous float64 arrays of one size; out
    may be x).  For tests: ``lanes`` 0 evaluates it as the kernels do; 1, 2 or 4 (4 needs
    AVX2: see has_avx2) values at a time; every choice must give the same bits."""
    if lanes not in (0, 1, 2, 4) or (lanes == 4 and not has_avx2()):
        raise ValueError(f"lanes: expected 0, 1, 2 or 4 (4 with AVX2), got {lanes}")
    cdef Py_ssize_t n = x.size
    if out.size != n:
        raise ValueError(f"out: expected {n} values, got {out.size}")
    if n == 0:
        return
    cdef void *px = _buf(x, "x", cnp.NPY_DOUBLE, n, False)
    cdef void *po = _buf(out, "out", cnp.NPY_DOUBLE, n, True)
    with nogil:
        lstm97_sig_f64(n, <const double *>px, <double *>po, lanes)


def set_isa(level):
    """Choose the build of the kernels that every later call runs (process-wide; for tests
    and benchmarks).

    Parameters
    ----------
    level : int
        1 (or True) the baseline build (x86-64 SSE2), 2 the AVX2 build, 3 the AVX-512 build,
        each at most the best the CPU supports (see `cpu_isa`); 0 (or False) the best the
        CPU supports (the default).  All builds give the same bits.
    """
    if not isinstance(level, (int, np.integer)) or not 0 <= level <= 3:
        raise ValueError(f"level: expected 0, 1, 2 or 3, got {level!r}")
    lstm97_set_isa(int(level))


def get_isa():
    """The level whose build the kernels run: 1 baseline, 2 AVX2, 3 AVX-512."""
    return lstm97_get_isa()


def cpu_isa():
    """The best level this CPU (and its OS) supports in this build: 1, 2 or 3."""
    return lstm97_cpu_isa()


def set_batch_lanes(bint on):
    """For tests and benchmarks: False makes ``train_batch`` run every sequence on its
    own (the lanes path off), True runs full lane groups (4 float64 or 8 float32
    sequences) in vector lanes where the net allows it (the default).  Process-wide."""
    lstm97_set_batch_lanes(on)


def batch_lanes(tuple dims):
    """True if ``train_batch`` runs the full lane groups of a net with these
    dims in vector lanes (the tuned 1997 cell, no softmax outputs, the lanes path on)."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int r = lstm97_batch_lanes(&d)
    if r < 0:
        raise ValueError("batch_lanes: invalid dims")
    return r == 1


def has_avx2():
    """True if the kernels evaluate the logistic four at a time (x86-64 with AVX2)."""
    return lstm97_sig_max_lanes() == 4


cdef int _rows_finite(int typ, const void *p, Py_ssize_t T, Py_ssize_t K,
                      const uint8_t *m) noexcept nogil:
    """1 if rows s of the (T, K) array at p with m[s] != 0 (every row if m is NULL) are
    finite, else 0"""
    cdef Py_ssize_t s
    for s in range(T):
        if m == NULL or m[s]:
            if typ == cnp.NPY_DOUBLE:
                if not lstm97_all_finite_f64(K, <const double *>p + s * K):
                    return 0
            elif not lstm97_all_finite_f32(K, <const float *>p + s * K):
                return 0
    return 1


cdef inline bint _is_ready(object a, int ndim, Py_ssize_t cols, int typ):
    """a is an aligned C-contiguous ndarray of the type, ndim dims, >= 1 row, cols columns"""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if (cnp.PyArray_TYPE(arr) != typ or cnp.PyArray_NDIM(arr) != ndim
            or not cnp.PyArray_ISCARRAY_RO(arr) or cnp.PyArray_DIM(arr, 0) < 1):
        return False
    return ndim == 1 or cnp.PyArray_DIM(arr, 1) == cols


cdef bint _ready_targets(y, mask, Py_ssize_t T, Py_ssize_t K, int typ,
                         const uint8_t **ptm):
    """y (T, K) of the type (or None) and mask (T,) bool (or None) need no conversion
    (see _is_ready); *ptm: the mask's data, or NULL.  Never raises."""
    ptm[0] = NULL
    if y is not None and (not _is_ready(y, 2, K, typ)
                          or cnp.PyArray_DIM(<cnp.ndarray>y, 0) != T):
        return False
    if mask is not None:
        if (not _is_ready(mask, 1, 0, cnp.NPY_BOOL)
                or cnp.PyArray_DIM(<cnp.ndarray>mask, 0) != T):
            return False
        ptm[0] = <const uint8_t *>cnp.PyArray_DATA(<cnp.ndarray>mask)
    return True


cdef Py_ssize_t _ready(x, y, mask, Py_ssize_t I, Py_ssize_t K, int typ):
    """T if the arguments of a sequence need neither conversion nor an error (see
    ready_sequence), else 0; never raises"""
    if not _is_ready(x, 2, I, typ):
        return 0
    cdef Py_ssize_t T = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef const uint8_t *pm = NULL
    if not _ready_targets(y, mask, T, K, typ, &pm):
        return 0
    cdef void *px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void *py = NULL if y is None else cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef int ok
    with nogil:
        ok = _rows_finite(typ, px, 1, T * I, NULL)
        if ok and py != NULL:
            ok = _rows_finite(typ, py, T, K, pm)
    return T if ok else 0


def ready_sequence(x, y, mask, Py_ssize_t I, Py_ssize_t K, int typ):
    """The fast path of the API's argument checks, in one call: True if ``x (T, I)`` and
    ``y (T, K)`` (or None) are C-contiguous ndarrays of type ``typ`` (a numpy type
    number), ``mask`` is None or a C-contiguous bool array (T,), x is finite and y is
    finite at the target steps.  False means "take the slow path", which converts the
    arguments or raises the explaining error; it never raises itself."""
    return _ready(x, y, mask, I, K, typ) != 0


# ---- the fast paths of LSTM.train_sequence: what train_fast and train_onehot share ------

cdef double _fast_alpha(lr):
    """lr as the fast paths take it (a float, finite and >= 0), else -1: the caller takes
    the general path, which converts lr or raises the error that explains it"""
    if type(lr) is not float:
        return -1
    cdef double alpha = lr
    if not (alpha >= 0 and alpha - alpha == 0):           # NaN, negative or infinite
        return -1
    return alpha


cdef struct _FastNet:
    # a net's own buffers, from the ``net`` tuple of train_fast and train_onehot
    lstm97_dims d
    lstm97_layout L
    int typ
    void *params
    void *masks
    void *state
    void *work
    void *dW
    void *backup
    uint8_t *busy


cdef int _fast_net(tuple net, _FastNet *f) except -1:
    """Fill f from ``net`` (dims, params, masks, state, work, dW, backup, lock.acquire,
    lock.release, busy): buffers made by the net, not checked (_fast_run takes the lock's
    methods from net)."""
    dims, params, masks, state, work, dW, backup, acquire, release, busy = net
    _dims_from(<tuple>dims, &f.d, &f.L)
    f.typ = cnp.PyArray_TYPE(<cnp.ndarray>params)
    f.params = cnp.PyArray_DATA(<cnp.ndarray>params)
    f.masks = cnp.PyArray_DATA(<cnp.ndarray>masks)
    f.state = cnp.PyArray_DATA(<cnp.ndarray>state)
    f.work = cnp.PyArray_DATA(<cnp.ndarray>work)
    f.dW = cnp.PyArray_DATA(<cnp.ndarray>dW)
    f.backup = cnp.PyArray_DATA(<cnp.ndarray>backup)
    f.busy = <uint8_t *>cnp.PyArray_DATA(<cnp.ndarray>busy)
    return 0


cdef object _as_real(a, Py_ssize_t cols, int typ):
    """A (T, cols) array of the type typ (NPY_DOUBLE or NPY_FLOAT32) for the fast paths:
    ``a`` itself when it is already one (see _is_ready), a fresh copy when it is one of
    the other type and every value fits (float32 to float64 is exact; float64 to float32
    rounds to nearest as numpy's cast does, NaN and infinities kept, and a finite value
    beyond float32's range gives None), else None: the general path converts it or
    explains what is wrong with it."""
    if _is_ready(a, 2, cols, typ):
        return a
    cdef int other = cnp.NPY_FLOAT32 if typ == cnp.NPY_DOUBLE else cnp.NPY_DOUBLE
    if not _is_ready(a, 2, cols, other):
        return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>a), i
    out = _new_outputs(cnp.PyArray_DIM(<cnp.ndarray>a, 0), cols, typ)
    cdef const void *src = cnp.PyArray_DATA(<cnp.ndarray>a)
    cdef void *dst = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef double v
    cdef bint fits = True
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            for i in range(n):
                (<double *>dst)[i] = (<const float *>src)[i]
        else:
            for i in range(n):
                v = (<const double *>src)[i]
                if fabs(v) > FLT_MAX and v - v == 0:   # finite, beyond float32's range
                    fits = False
                    break
                (<float *>dst)[i] = <float>v
    return out if fits else None


def as_real(a, Py_ssize_t cols, int typ):
    """``a`` as a C-contiguous (T, cols) array of the numpy type number ``typ`` (float64
    or float32) when it is such an array of either type whose values fit, else None (see
    _as_real); the fast paths' conversion between the two float types.  Never raises."""
    if typ != cnp.NPY_DOUBLE and typ != cnp.NPY_FLOAT32:
        return None
    return _as_real(a, cols, typ)


cdef object _new_outputs(Py_ssize_t T, Py_ssize_t K, int typ):
    cdef cnp.npy_intp shape[2]
    shape[0] = T
    shape[1] = K
    return cnp.PyArray_EMPTY(2, shape, typ, 0)


cdef int _fast_run(_FastNet *f, tuple net, const void *px,
                   const int32_t *pi, const void *pt, const uint8_t *ptm, Py_ssize_t T,
                   double alpha, int schedule, void *py, Py_ssize_t *bad) except? -100:
    """The transaction of the fast paths: under the net's lock, *bad = the first nonzero
    weight under a 0 mask (-1: none; else nothing runs and the caller takes the general
    path, which explains it); params backed up, the kernel run (lstm97_train on x, or
    with pi != NULL lstm97_train_onehot, schedule "step"), params put back on a
    non-finite value or an interrupt.  Returns the kernel's status."""
    cdef size_t nbytes = <size_t>f.L.n_params * (8 if f.typ == cnp.NPY_DOUBLE else 4)
    cdef int rc = LSTM97_OK
    release = net[8]
    net[7]()                                        # lock.acquire
    try:
        with nogil:
            bad[0] = _first_masked(f.typ, f.params, f.masks, f.L.n_params)
            if bad[0] < 0:
                f.busy[0] = 1
                memcpy(f.backup, f.params, nbytes)
                if pi == NULL:
                    rc = _train_c(f.typ, &f.d, f.params, f.masks, px, pt, ptm, T, alpha,
                                  schedule, py, f.state, f.work, f.dW)
                elif f.typ == cnp.NPY_DOUBLE:
                    rc = lstm97_train_onehot_f64(&f.d, <double *>f.params,
                                                 <const double *>f.masks, pi,
                                                 <const double *>pt, ptm, T, alpha,
                                                 <double *>py, <double *>f.state,
                                                 <double *>f.work)
                else:
                    rc = lstm97_train_onehot_f32(&f.d, <float *>f.params,
                                                 <const float *>f.masks, pi,
                                                 <const float *>pt, ptm, T, alpha,
                                                 <float *>py, <float *>f.state,
                                                 <float *>f.work)
                if rc == LSTM97_ERR_NONFINITE or rc == LSTM97_ERR_INTERRUPTED:
                    memcpy(f.params, f.backup, nbytes)
                f.busy[0] = 0
    finally:
        release()
    return rc


def train_fast(tuple net, x, y, mask, lr, schedule):
    """All of ``LSTM.train_sequence`` in one call when nothing needs converting or
    explaining: the arguments pass ready_sequence, ``lr`` is a float, finite and >= 0, and
    ``schedule`` is "step" or "sequence".  Returns the outputs (T, K), or None: then the
    caller takes the general path, which converts the arguments or raises the error that
    explains them.  ``net`` is (dims, params, masks, state, work, dW, backup,
    lock.acquire, lock.release): the net's own buffers and lock, made by the net (not
    checked here), and busy (see Transaction).  Under the lock, params is backed up and,
    on a non-finite value or an interrupt, restored before the exception is raised;
    None also when a masked weight is nonzero (the general path raises the error)."""
    cdef double alpha = _fast_alpha(lr)
    if alpha < 0 or y is None:
        return None
    cdef int sched
    if schedule == "step":
        sched = LSTM97_STEP
    elif schedule == "sequence":
        sched = LSTM97_SEQUENCE
    else:
        return None
    cdef _FastNet f
    _fast_net(net, &f)
    cdef Py_ssize_t T = _ready(x, y, mask, f.d.I, f.d.K, f.typ)
    if T == 0:
        # arrays of the other float type (float64, numpy's default, for a float32 net):
        # converted here, far cheaper than the general path's conversion and checks
        x = _as_real(x, f.d.I, f.typ)
        y = _as_real(y, f.d.K, f.typ)
        if x is None or y is None:
            return None
        T = _ready(x, y, mask, f.d.I, f.d.K, f.typ)
    if T == 0:
        return None
    cdef const uint8_t *ptm = NULL
    if mask is not None:
        ptm = <const uint8_t *>cnp.PyArray_DATA(<cnp.ndarray>mask)
    out = _new_outputs(T, f.d.K, f.typ)
    cdef Py_ssize_t bad
    cdef int rc = _fast_run(&f, net, cnp.PyArray_DATA(<cnp.ndarray>x), NULL,
                            cnp.PyArray_DATA(<cnp.ndarray>y), ptm, T, alpha, sched,
                            cnp.PyArray_DATA(<cnp.ndarray>out), &bad)
    if bad >= 0:
        return None                 # the general path explains it
    if rc != LSTM97_OK:
        _raise_for(rc, "train")
    return out


def train_onehot(tuple net, idx, y, mask, lr):
    """``LSTM.train_sequence`` (schedule "step") on one-hot inputs given by index, in one
    call (``lstm97_train_onehot``): ``idx`` an aligned C-contiguous int32 array (T,), at
    step s the input unit that is 1 (-1: no input), ``y`` and ``mask`` as for
    train_fast.  Bitwise the result of train_sequence on the dense one-hot inputs, at a
    cost per step that does not grow with the number of inputs.  Returns the outputs
    (T, K), or None when the arguments need converting or explaining, an index is outside
    [-1, I), the net has forget gates or peepholes, or a masked weight is nonzero: then
    the caller takes the general path.  ``net`` as for train_fast (the same
    transaction: params restored on a non-finite value or an interrupt)."""
    cdef double alpha = _fast_alpha(lr)
    if alpha < 0 or y is None:
        return None
    cdef _FastNet f
    _fast_net(net, &f)
    if f.d.forget_gate or f.d.peepholes:
        return None
    if not _is_ready(idx, 1, 0, cnp.NPY_INT32):
        return None
    cdef Py_ssize_t T = cnp.PyArray_DIM(<cnp.ndarray>idx, 0)
    cdef const uint8_t *ptm = NULL
    y = _as_real(y, f.d.K, f.typ)            # targets of the other float type converted
    if y is None or not _ready_targets(y, mask, T, f.d.K, f.typ, &ptm):
        return None
    cdef const int32_t *pi = <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray>idx)
    cdef void *pt = cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef Py_ssize_t s
    cdef int ok = 1
    with nogil:
        for s in range(T):
            if pi[s] < -1 or pi[s] >= f.d.I:
                ok = 0
                break
        if ok:
            ok = _rows_finite(f.typ, pt, T, f.d.K, ptm)
    if not ok:
        return None
    out = _new_outputs(T, f.d.K, f.typ)
    cdef Py_ssize_t bad
    cdef int rc = _fast_run(&f, net, NULL, pi, pt, ptm, T, alpha, LSTM97_STEP,
                            cnp.PyArray_DATA(<cnp.ndarray>out), &bad)
    if bad >= 0:
        return None                 # the general path explains it
    if rc != LSTM97_OK:
        _raise_for(rc, "train_onehot")
    return out


def targets_finite(t, tmask):
    """True if the rows of ``t (T, K)`` where ``tmask (T,)`` (uint8, or None = all) is
    nonzero are finite."""
    cdef int typ = _real_type(t)
    cdef cnp.ndarray arr = <cnp.ndarray>t
    if cnp.PyArray_NDIM(arr) != 2:
        raise ValueError("y: expected a 2-d array")
    cdef Py_ssize_t T = cnp.PyArray_DIM(arr, 0), K = cnp.PyArray_DIM(arr, 1)
    cdef void *p = _buf(t, "y", typ, T * K, False)
    if tmask is None:
        return all_finite(t)
    cdef uint8_t *m = <uint8_t *>_buf(tmask, "mask", cnp.NPY_UINT8, T, False)
    cdef int ok
    with nogil:
        ok = _rows_finite(typ, p, T, K, m)
    return ok != 0


def copy_into(dst, src):
    """``dst[...] = src`` for two C-contiguous arrays of one dtype and size (memcpy)."""
    cdef int t = _real_type(src)
    cdef Py_ssize_t n = src.size
    cdef void *ps = _buf(src, "src", t, n, False)
    cdef void *pd = _buf(dst, "dst", t, n, True)
    cdef size_t nbytes = n * (8 if t == cnp.NPY_DOUBLE else 4)
    with nogil:
        memcpy(pd, ps, nbytes)


cdef Py_ssize_t _first_masked(int typ, const void *pp, const void *pm,
                              Py_ssize_t n) noexcept nogil:
    """Index of the first nonzero parameter under a 0 mask, or -1."""
    cdef Py_ssize_t i
    cdef const double *p64
    cdef const double *m64
    cdef const float *p32
    cdef const float *m32
    cdef int bad = 0
    if typ == cnp.NPY_DOUBLE:
        p64 = <const double *>pp
        m64 = <const double *>pm
        for i in range(n):                  # a branch-free sum vectorises; then locate
            bad |= (m64[i] == 0) & (p64[i] != 0)
        if bad:
            for i in range(n):
                if m64[i] == 0 and p64[i] != 0:
                    return i
    else:
        p32 = <const float *>pp
        m32 = <const float *>pm
        for i in range(n):
            bad |= (m32[i] == 0) & (p32[i] != 0)
        if bad:
            for i in range(n):
                if m32[i] == 0 and p32[i] != 0:
                    return i
    return -1


def first_masked(params, masks):
    """Index of the first nonzero entry of ``params`` where ``masks`` is 0, or -1 (two
    C-contiguous arrays of one float dtype and size)."""
    cdef int t = _real_type(params)
    cdef Py_ssize_t n = params.size
    cdef void *pp = _buf(params, "params", t, n, False)
    cdef void *pm = _buf(masks, "masks", t, n, False)
    cdef Py_ssize_t i
    with nogil:
        i = _first_masked(t, pp, pm, n)
    return i


cdef class Transaction:
    """``with Transaction(lock, pairs, params, masks, on_masked):`` holds ``lock``; on entry
    it checks that no entry of ``params`` under a 0 of ``masks`` is nonzero (else it
    releases the lock and calls ``on_masked(index)``, which raises) and copies each
    ``live`` array of ``pairs`` ((live, saved), ...) into its ``saved``; if the body
    raises anything, each ``live`` is put back from ``saved`` before the lock is released.
    ``busy``: a uint8 array (1,) set to 1 from the copy to the release (for a fork()ed
    child, which must know whether its net was caught inside a transaction).

    Written in Cython so that no Python signal handler (Ctrl-C) can run between taking
    the lock and the start of the body, nor inside the restore and the release: an
    interrupt arriving anywhere leaves the arrays as they were and the lock free.
    ``params``/``masks`` None: no check."""
    cdef object lock, pairs, params, masks, on_masked
    cdef uint8_t *busy

    def __cinit__(self, lock, tuple pairs, params=None, masks=None, on_masked=None,
                  busy=None):
        cdef int t
        for live, saved in pairs:
            t = _real_type(live)
            _buf(live, "live", t, live.size, True)
            _buf(saved, "saved", t, live.size, True)
        if params is not None:
            t = _real_type(params)
            _buf(params, "params", t, params.size, False)
            _buf(masks, "masks", t, params.size, False)
        self.lock = lock
        self.pairs = pairs
        self.params = params
        self.masks = masks
        self.on_masked = on_masked
        self.busy = NULL
        if busy is not None:
            self.busy = <uint8_t *>_buf(busy, "busy", cnp.NPY_UINT8, 1, True)

    cdef void _copy(self, bint restore) noexcept:
        cdef cnp.ndarray live, saved
        for pair in self.pairs:
            live, saved = <cnp.ndarray>pair[0], <cnp.ndarray>pair[1]
            if restore:
                memcpy(cnp.PyArray_DATA(live), cnp.PyArray_DATA(saved), cnp.PyArray_NBYTES(live))
            else:
                memcpy(cnp.PyArray_DATA(saved), cnp.PyArray_DATA(live), cnp.PyArray_NBYTES(live))

    def __enter__(self):
        cdef Py_ssize_t bad = -1
        cdef cnp.ndarray p
        self.lock.acquire()      # raises without the lock if interrupted while waiting
        if self.params is not None:
            p = <cnp.ndarray>self.params
            bad = _first_masked(cnp.PyArray_TYPE(p), cnp.PyArray_DATA(p),
                                cnp.PyArray_DATA(<cnp.ndarray>self.masks),
                                cnp.PyArray_SIZE(p))
        if bad >= 0:
            self.lock.release()
            self.on_masked(bad)
            raise ValueError("params: a weight under a 0 mask is nonzero")
        self._copy(False)
        if self.busy != NULL:
            self.busy[0] = 1
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._copy(True)
        if self.busy != NULL:
            self.busy[0] = 0
        self.lock.release()
        return False


def write_file(str path, str tmp, int mode, writer):
    """Write a file at ``path`` all or nothing: create ``tmp`` (a new name in the same
    directory), call ``writer(f)`` with a binary file object on it, set its mode
    (``mode`` >= 0; -1: the default of a new file, 0o666 less the umask), flush it to
    disk and rename it to ``path``.  If anything fails or is interrupted (Ctrl-C inside
    ``writer``), ``tmp`` is closed and removed before the exception propagates: the
    cleanup runs in C, where no Python signal handler can interrupt it.  An OSError names
    ``path``, never ``tmp``."""
    cdef bytes btmp = os.fsencode(tmp)
    cdef bytes bpath = os.fsencode(path)
    cdef const char *ctmp = btmp
    cdef const char *cpath = bpath
    cdef int fd = c_open(ctmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                         0o666 if mode < 0 else 0o600)
    if fd < 0:
        e = errno
        raise OSError(e, strerror(e).decode(errors="replace"), path)
    cdef int rc
    try:
        f = open(fd, "wb", closefd=False)
        writer(f)
        f.close()                                  # flushes; fd stays open
        if mode >= 0 and fchmod(fd, <unsigned int>mode) != 0:
            e = errno
            raise OSError(e, strerror(e).decode(errors="replace"), path)
        with nogil:
            rc = fsync(fd)
        if rc != 0:
            e = errno
            raise OSError(e, strerror(e).decode(errors="replace"), path)
        if c_rename(ctmp, cpath) != 0:
            e = errno
            raise OSError(e, strerror(e).decode(errors="replace"), path)
    except BaseException:
        c_close(fd)
        unlink(ctmp)
        raise
    c_close(fd)


def forward(tuple dims, params, x, y, state, work):
    """Outputs ``y (T, K)`` for inputs ``x (T, I)``; the state is reset first."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int t = _real_type(params)
    cdef int64_t T = _length(x, d.I)
    cdef void *pp = _buf(params, "params", t, L.n_params, False)
    cdef void *px = _buf(x, "x", t, T * d.I, False)
    cdef void *py = _buf(y, "y", t, T * d.K, True)
    cdef void *ps = _buf(state, "state", t, L.state_len, True)
    cdef void *pw = _buf(work, "work", t, L.work_len, True)
    cdef int rc
    with nogil:
        if t == cnp.NPY_DOUBLE:
            rc = lstm97_forward_f64(&d, <double *>pp, <double *>px, T, <double *>py,
                                    <double *>ps, <double *>pw)
        else:
            rc = lstm97_forward_f32(&d, <float *>pp, <float *>px, T, <float *>py,
                                    <float *>ps, <float *>pw)
    _raise_for(rc, "forward")


cdef struct _SeqBufs:
    int64_t T
    void *x
    void *t
    uint8_t *tmask
    void *y


cdef _SeqBufs _sequence(x, t, tmask, y, int typ, const lstm97_dims *d,
                        bint targets) except *:
    """The buffers of one sequence: x (T, I); when ``targets``, t (T, K) and tmask (T,)
    uint8 or None; y (T, K) written."""
    cdef _SeqBufs b
    b.T = _length(x, d.I)
    b.x = _buf(x, "x", typ, b.T * d.I, False)
    b.t = NULL
    b.tmask = NULL
    if targets:
        b.t = _buf(t, "y", typ, b.T * d.K, False)
        if tmask is not None:
            # bool (one byte, 0 or 1) is read as uint8: no conversion on the fast path
            b.tmask = <uint8_t *>_buf(tmask, "mask", cnp.NPY_BOOL if cnp.PyArray_Check(tmask)
                                      and cnp.PyArray_TYPE(<cnp.ndarray>tmask) == cnp.NPY_BOOL
                                      else cnp.NPY_UINT8, b.T, False)
    b.y = _buf(y, "out", typ, b.T * d.K, True)
    return b


cdef int _train_c(int typ, const lstm97_dims *d, void *pp, const void *pm, const void *px,
                  const void *pt, const uint8_t *ptm, int64_t T, double alpha, int schedule,
                  void *py, void *ps, void *pw, void *pd) noexcept nogil:
    """lstm97_train of the type"""
    if typ == cnp.NPY_DOUBLE:
        return lstm97_train_f64(d, <double *>pp, <const double *>pm, <const double *>px,
                                <const double *>pt, ptm, T, alpha, schedule, <double *>py,
                                <double *>ps, <double *>pw, <double *>pd)
    return lstm97_train_f32(d, <float *>pp, <const float *>pm, <const float *>px,
                            <const float *>pt, ptm, T, alpha, schedule, <float *>py,
                            <float *>ps, <float *>pw, <float *>pd)


# ---- the argument checks of the kernel wrappers below, shared -------------------------

cdef struct _NetBufs:
    void *params        # n_params, written
    void *masks         # n_params
    void *state         # n x state_len, written
    void *work          # n x work_len, written
    void *dW            # n x n_params, written


cdef int _params_masks(params, masks, int typ, const lstm97_layout *L,
                       _NetBufs *b) except -1:
    b.params = _buf(params, "params", typ, L.n_params, True)
    b.masks = _buf(masks, "masks", typ, L.n_params, False)
    return 0


cdef int _scratch(state, work, dW, int typ, const lstm97_layout *L, int64_t n,
                  _NetBufs *b) except -1:
    """the state, work and dW of n sequences"""
    b.state = _buf(state, "state", typ, n * L.state_len, True)
    b.work = _buf(work, "work", typ, n * L.work_len, True)
    b.dW = _buf(dW, "dW", typ, n * L.n_params, True)
    return 0


cdef int _check_mode(int mode) except -1:
    if mode != LSTM97_FORWARD and mode != LSTM97_LEARN and mode != LSTM97_ACCUMULATE:
        raise ValueError(f"mode: unknown step mode {mode}")
    return 0


cdef int _batch_shape(x, int I, int64_t *N, int64_t *T) except -1:
    """N and T of a batch x (N, T, I), each >= 1"""
    if not cnp.PyArray_Check(x) or cnp.PyArray_NDIM(<cnp.ndarray>x) != 3:
        raise ValueError(f"x: expected a 3-d array (N, T, {I}), got shape {np.shape(x)}")
    N[0] = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    T[0] = cnp.PyArray_DIM(<cnp.ndarray>x, 1)
    if N[0] < 1 or T[0] < 1:
        raise ValueError(f"x: N and T must be >= 1, got shape {x.shape}")
    return 0


def train(tuple dims, params, masks, x, t, tmask, double alpha, int schedule,
          y, state, work, dW):
    """On-line truncated-gradient training over one sequence (state reset first).

    ``tmask`` is a uint8 or bool array (T,) or None (a target at every step).  ``params``
    is updated in place.  On a non-finite activation, state or weight this raises
    FloatingPointError and ``params`` may be partly updated (the caller restores).
    """
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    cdef _NetBufs n
    _params_masks(params, masks, typ, &L, &n)
    cdef _SeqBufs b = _sequence(x, t, tmask, y, typ, &d, True)
    _scratch(state, work, dW, typ, &L, 1, &n)
    cdef int rc
    with nogil:
        rc = _train_c(typ, &d, n.params, n.masks, b.x, b.t, b.tmask, b.T, alpha, schedule,
                      b.y, n.state, n.work, n.dW)
    _raise_for(rc, "train")


def run(tuple dims, params, masks, x, t, tmask, double alpha, int mode, y, state, work,
        dW):
    """T steps from the state as it is (streaming a piece of a sequence).  ``t`` and
    ``tmask`` may be None in MODE_FORWARD; ``tmask`` None: a target at every step."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    _check_mode(mode)
    cdef _NetBufs n
    _params_masks(params, masks, typ, &L, &n)
    cdef _SeqBufs b = _sequence(x, t, tmask, y, typ, &d, mode != LSTM97_FORWARD)
    _scratch(state, work, dW, typ, &L, 1, &n)
    cdef int rc
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            rc = lstm97_run_f64(&d, <double *>n.params, <double *>n.masks, <double *>b.x,
                                <double *>b.t, b.tmask, b.T, alpha, mode, <double *>b.y,
                                <double *>n.state, <double *>n.work, <double *>n.dW)
        else:
            rc = lstm97_run_f32(&d, <float *>n.params, <float *>n.masks, <float *>b.x,
                                <float *>b.t, b.tmask, b.T, alpha, mode, <float *>b.y,
                                <float *>n.state, <float *>n.work, <float *>n.dW)
    _raise_for(rc, "run")


def step(tuple dims, params, masks, x_t, t_t, double alpha, int mode, y_t,
         state, work, dW):
    """One step from an explicit state (streaming).  ``t_t`` None: no target.

    ``mode`` is MODE_FORWARD, MODE_LEARN (update params now) or MODE_ACCUMULATE
    (add the update to ``dW``).
    """
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    _check_mode(mode)
    cdef _NetBufs n
    _params_masks(params, masks, typ, &L, &n)
    cdef void *px = _buf(x_t, "x_t", typ, d.I, False)
    cdef void *pt = NULL
    if t_t is not None:
        pt = _buf(t_t, "y_t", typ, d.K, False)
    cdef void *py = _buf(y_t, "out", typ, d.K, True)
    _scratch(state, work, dW, typ, &L, 1, &n)
    cdef int rc
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            rc = lstm97_step_f64(&d, <double *>n.params, <double *>n.masks, <double *>px,
                                 <double *>pt, alpha, mode, <double *>py, <double *>n.state,
                                 <double *>n.work, <double *>n.dW)
        else:
            rc = lstm97_step_f32(&d, <float *>n.params, <float *>n.masks, <float *>px,
                                 <float *>pt, alpha, mode, <float *>py, <float *>n.state,
                                 <float *>n.work, <float *>n.dW)
    _raise_for(rc, "step")


def apply(tuple dims, params, dW):
    """``params += dW``, then ``dW = 0``; FloatingPointError if a weight is not finite."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    cdef void *pp = _buf(params, "params", typ, L.n_params, True)
    cdef void *pd = _buf(dW, "dW", typ, L.n_params, True)
    cdef int rc
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            rc = lstm97_apply_f64(&d, <double *>pp, <double *>pd)
        else:
            rc = lstm97_apply_f32(&d, <float *>pp, <float *>pd)
    _raise_for(rc, "apply")


def tape_len(tuple dims, int64_t T):
    """Length of the tape buffer of :func:`gradient` for T steps."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int64_t n = lstm97_tape_len(&d, T)
    if n < 0:
        raise ValueError(f"T: no tape for T = {T}")
    return n


def gradient(tuple dims, params, masks, x, t, tmask, bint truncated, y, grad, tape):
    """Loss and gradient of one sequence by back-propagation through time (state reset
    first): ``grad`` (n_params) and ``y (T, K)`` are written, ``tape`` holds
    :func:`tape_len` values of scratch; returns the loss 1/2 sum (t - y)^2 over the
    target steps.  ``truncated``: stop the gradient at every recurrent entry of z(t)."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    cdef void *pp = _buf(params, "params", typ, L.n_params, False)
    cdef void *pm = NULL
    if masks is not None:
        pm = _buf(masks, "masks", typ, L.n_params, False)
    cdef _SeqBufs b = _sequence(x, t, tmask, y, typ, &d, True)
    cdef void *pg = _buf(grad, "grad", typ, L.n_params, True)
    cdef int64_t n_tape = lstm97_tape_len(&d, b.T)
    if n_tape < 0:
        raise ValueError(f"T: no tape for T = {b.T}")
    cdef void *pw = _buf(tape, "tape", typ, n_tape, True)
    cdef double loss = 0
    cdef int rc
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            rc = lstm97_gradient_f64(&d, <double *>pp, <double *>pm, <double *>b.x,
                                     <double *>b.t, b.tmask, b.T, truncated, <double *>b.y,
                                     <double *>pg, &loss, <double *>pw)
        else:
            rc = lstm97_gradient_f32(&d, <float *>pp, <float *>pm, <float *>b.x,
                                     <float *>b.t, b.tmask, b.T, truncated, <float *>b.y,
                                     <float *>pg, &loss, <float *>pw)
    _raise_for(rc, "gradient")
    return loss


def train_batch(tuple dims, params, masks, x, t, tmask, double alpha, int schedule,
                int n_threads, y, state, work, dW):
    """Mini-batch training: ``x (N, T, I)``, ``t (N, T, K)``, ``tmask (N, T)`` uint8 or
    None, ``y (N, T, K)`` written; ``state``, ``work``, ``dW``: N times the single-sequence
    lengths.  The mean update of the N sequences is applied (see csrc/fastlstm.h)."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    cdef int64_t N, T
    _batch_shape(x, d.I, &N, &T)
    cdef _NetBufs n
    _params_masks(params, masks, typ, &L, &n)
    cdef void *px = _buf(x, "x", typ, N * T * d.I, False)
    cdef void *pt = _buf(t, "y", typ, N * T * d.K, False)
    cdef uint8_t *ptm = NULL
    if tmask is not None:
        ptm = <uint8_t *>_buf(tmask, "mask", cnp.NPY_UINT8, N * T, False)
    cdef void *py = _buf(y, "out", typ, N * T * d.K, True)
    _scratch(state, work, dW, typ, &L, N, &n)
    cdef int rc
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            rc = lstm97_train_batch_f64(&d, <double *>n.params, <double *>n.masks,
                                        <double *>px, <double *>pt, ptm, N, T, alpha,
                                        schedule, n_threads, <double *>py,
                                        <double *>n.state, <double *>n.work,
                                        <double *>n.dW)
        else:
            rc = lstm97_train_batch_f32(&d, <float *>n.params, <float *>n.masks,
                                        <float *>px, <float *>pt, ptm, N, T, alpha,
                                        schedule, n_threads, <float *>py, <float *>n.state,
                                        <float *>n.work, <float *>n.dW)
    _raise_for(rc, "train_batch")


def batch_threads(tuple dims, params, tmask, int64_t N, int64_t T, int schedule,
                  int n_threads):
    """The thread count :func:`train_batch` should be given when ``n_threads`` threads are
    allowed (``lstm97_batch_threads``): ``n_threads`` or fewer, where more threads would
    be slower.  ``tmask`` as for :func:`train_batch` (uint8 (N, T) or None); ``params``
    gives the dtype."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    if N < 1 or T < 1:
        raise ValueError(f"N and T must be >= 1, got N = {N}, T = {T}")
    cdef uint8_t *ptm = NULL
    if tmask is not None:
        ptm = <uint8_t *>_buf(tmask, "mask", cnp.NPY_UINT8, N * T, False)
    cdef int r
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            r = lstm97_batch_threads_f64(&d, ptm, N, T, schedule, n_threads)
        else:
            r = lstm97_batch_threads_f32(&d, ptm, N, T, schedule, n_threads)
    if r < 0:
        _raise_for(r, "batch_threads")
    return r


# ---- batched inference ------------------------------------------------------------------

def forward_batch(tuple dims, params, x, lengths, int n_threads, y, zs, scratch):
    """Outputs ``y (N, T, K)`` of N sequences ``x (N, T, I)`` on ``n_threads`` threads.

    ``lengths`` is an int64 array (N,) of values in [0, T] or None (T each); rows of y past
    a sequence's length are set to 0.  ``zs (N, nz + C)`` holds z and s of each sequence's
    state: read at the start, written at the end.  ``scratch`` has
    ``n_threads * (state_len + work_len)`` elements.  Each sequence gives the bits of one
    :func:`run` in MODE_FORWARD.  FloatingPointError names the first sequence whose
    outputs or cell states became NaN or infinite.
    """
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    cdef int typ = _real_type(params)
    cdef int64_t N, T
    _batch_shape(x, d.I, &N, &T)
    if n_threads < 1 or n_threads > LSTM97_MAX_THREADS:
        raise ValueError(f"n_threads: must be in [1, {LSTM97_MAX_THREADS}], got "
                         f"{n_threads}")
    cdef void *pp = _buf(params, "params", typ, L.n_params, False)
    cdef void *px = _buf(x, "x", typ, N * T * d.I, False)
    cdef int64_t *pl = NULL
    if lengths is not None:
        pl = <int64_t *>_buf(lengths, "lengths", cnp.NPY_INT64, N, False)
    cdef void *py = _buf(y, "y", typ, N * T * d.K, True)
    cdef void *pz = _buf(zs, "zs", typ, N * (L.nz + L.C), True)
    cdef void *pw = _buf(scratch, "scratch", typ, n_threads * (L.state_len + L.work_len),
                         True)
    cdef int64_t failed = -1
    cdef int rc
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            rc = lstm97_forward_batch_f64(&d, <double *>pp, <double *>px, pl, N, T,
                                          n_threads, <double *>py, <double *>pz,
                                          <double *>pw, &failed)
        else:
            rc = lstm97_forward_batch_f32(&d, <float *>pp, <float *>px, pl, N, T,
                                          n_threads, <float *>py, <float *>pz,
                                          <float *>pw, &failed)
    if rc == LSTM97_ERR_NONFINITE:
        raise FloatingPointError(
            f"forward: sequence {failed}: an output or cell state became NaN or infinite")
    if rc == LSTM97_ERR_LENGTH:
        raise ValueError(f"lengths: every length must be in [0, {T}]")
    _raise_for(rc, "forward")
