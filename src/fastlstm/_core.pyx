# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin boundary between Python and the C kernels of csrc/fastlstm.h.

Every function validates its buffers (dtype, C-contiguity, length), naming the argument in
the error, then makes one ``with nogil:`` call.  The buffers are owned by the caller
(:class:`fastlstm.LSTM` keeps them); nothing here allocates per step.

``dims`` is the tuple ``(I, K, B, S, output_gate, g, h, out)`` with the integer ids of
:data:`G_IDS`, :data:`H_IDS` and :data:`OUT_IDS`.
"""
import numpy as np

from libc.stdint cimport int64_t, uint8_t

G_IDS = {"g2": LSTM97_G2, "g1": LSTM97_G1, "tanh": LSTM97_G_TANH}
H_IDS = {"h1": LSTM97_H1, "id": LSTM97_H_ID, "tanh": LSTM97_H_TANH}
OUT_IDS = {"logistic": LSTM97_OUT_LOGISTIC, "linear": LSTM97_OUT_LINEAR}
SCHEDULES = {"step": LSTM97_STEP, "sequence": LSTM97_SEQUENCE}
MODE_FORWARD = LSTM97_FORWARD
MODE_LEARN = LSTM97_LEARN
MODE_ACCUMULATE = LSTM97_ACCUMULATE

ctypedef fused real:
    float
    double

_MESSAGES = {
    LSTM97_ERR_DIMS: "invalid sizes (every size must be >= 1 and B*S <= 2**24)",
    LSTM97_ERR_ACTIVATION: "unknown activation id",
    LSTM97_ERR_UNSUPPORTED: "unsupported extension requested",
    LSTM97_ERR_NULL: "a required buffer is missing",
    LSTM97_ERR_LENGTH: "T must be >= 1",
    LSTM97_ERR_SCHEDULE: "unknown schedule or mode",
    LSTM97_ERR_ALPHA: "lr must be finite",
}


def _raise_for(int rc, str where):
    if rc == LSTM97_OK:
        return
    if rc == LSTM97_ERR_NONFINITE:
        raise FloatingPointError(
            f"{where}: an output, cell state or weight became NaN or infinite")
    raise ValueError(f"{where}: {_MESSAGES.get(rc, 'error code %d' % rc)}")


cdef int _dims_from(tuple dims, lstm97_dims *d, lstm97_layout *L) except -1:
    if len(dims) != 8:
        raise ValueError(f"dims: expected 8 integers, got {len(dims)}")
    d.I, d.K, d.B, d.S, d.output_gate, d.g, d.h, d.out = [int(v) for v in dims]
    d.forget_gate = 0
    _raise_for(lstm97_layout_of(d, L), "dims")
    return 0


def layout(tuple dims):
    """Sizes and offsets of the buffers for ``dims`` (see csrc/fastlstm.h)."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    return dict(C=L.C, nz=L.nz, nu=L.nu, W_in=L.W_in,
                W_out=(L.W_out if L.W_out >= 0 else None),
                W_c=L.W_c, W_k=L.W_k, n_params=L.n_params,
                state_len=L.state_len, work_len=L.work_len)


cdef _check(object a, str name, object dtype, Py_ssize_t n):
    """Raise unless ``a`` is a C-contiguous ndarray of ``dtype`` with ``n`` elements."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(a).__name__}")
    if a.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)}, got {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: array must be C-contiguous")
    if a.size != n:
        raise ValueError(f"{name}: expected {n} elements, got {a.size} (shape {a.shape})")


cdef _check_writable(object a, str name):
    if not a.flags.writeable:
        raise ValueError(f"{name}: array must be writable")


def _real_dtype(params):
    if not isinstance(params, np.ndarray):
        raise TypeError(f"params: expected a numpy.ndarray, got {type(params).__name__}")
    if params.dtype != np.float64 and params.dtype != np.float32:
        raise TypeError(f"params: dtype must be float64 or float32, got {params.dtype}")
    return params.dtype


cdef int _forward(lstm97_dims *d, const real[::1] params, const real[::1] x, int64_t T,
                  real[::1] y, real[::1] state, real[::1] work) noexcept nogil:
    if real is double:
        return lstm97_forward_f64(d, &params[0], &x[0], T, &y[0], &state[0], &work[0])
    else:
        return lstm97_forward_f32(d, &params[0], &x[0], T, &y[0], &state[0], &work[0])


def forward(tuple dims, params, x, y, state, work):
    """Outputs ``y (T, K)`` for inputs ``x (T, I)``; the state is reset first."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    dt = _real_dtype(params)
    if not isinstance(x, np.ndarray) or x.ndim != 2:
        raise ValueError("x: expected a 2-d ndarray (T, I)")
    cdef int64_t T = x.shape[0]
    if T < 1:
        raise ValueError("x: T must be >= 1")
    _check(params, "params", dt, L.n_params)
    _check(x, "x", dt, T * d.I)
    _check(y, "y", dt, T * d.K)
    _check(state, "state", dt, L.state_len)
    _check(work, "work", dt, L.work_len)
    for a, n in ((y, "y"), (state, "state"), (work, "work")):
        _check_writable(a, n)
    cdef int rc
    if dt == np.float64:
        rc = _do_forward[double](&d, params.reshape(-1), x.reshape(-1), T, y.reshape(-1),
                                 state, work)
    else:
        rc = _do_forward[float](&d, params.reshape(-1), x.reshape(-1), T, y.reshape(-1),
                                state, work)
    _raise_for(rc, "forward")


cdef int _do_forward(lstm97_dims *d, const real[::1] params, const real[::1] x, int64_t T,
                     real[::1] y, real[::1] state, real[::1] work):
    cdef int rc
    with nogil:
        rc = _forward(d, params, x, T, y, state, work)
    return rc


cdef int _do_train(lstm97_dims *d, real[::1] params, const real[::1] masks,
                   const real[::1] x, const real[::1] t, const uint8_t[::1] tmask, int64_t T, double alpha, int schedule,
                   real[::1] y, real[::1] state, real[::1] work, real[::1] dW):
    cdef int rc
    with nogil:
        if real is double:
            rc = lstm97_train_f64(d, &params[0], &masks[0], &x[0], &t[0], &tmask[0], T,
                                  alpha, schedule, &y[0], &state[0], &work[0], &dW[0])
        else:
            rc = lstm97_train_f32(d, &params[0], &masks[0], &x[0], &t[0], &tmask[0], T,
                                  alpha, schedule, &y[0], &state[0], &work[0], &dW[0])
    return rc


def train(tuple dims, params, masks, x, t, tmask, double alpha, int schedule,
          y, state, work, dW):
    """On-line truncated-gradient training over one sequence (state reset first).

    ``params`` is updated in place.  On a non-finite activation, state or weight this
    raises FloatingPointError and ``params`` may be partly updated (the caller restores).
    """
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    dt = _real_dtype(params)
    if not isinstance(x, np.ndarray) or x.ndim != 2:
        raise ValueError("x: expected a 2-d ndarray (T, I)")
    cdef int64_t T = x.shape[0]
    if T < 1:
        raise ValueError("x: T must be >= 1")
    _check(params, "params", dt, L.n_params)
    _check(masks, "masks", dt, L.n_params)
    _check(x, "x", dt, T * d.I)
    _check(t, "y", dt, T * d.K)
    _check(tmask, "mask", np.uint8, T)
    _check(y, "out", dt, T * d.K)
    _check(state, "state", dt, L.state_len)
    _check(work, "work", dt, L.work_len)
    _check(dW, "dW", dt, L.n_params)
    for a, n in ((params, "params"), (y, "out"), (state, "state"), (work, "work"),
                 (dW, "dW")):
        _check_writable(a, n)
    cdef int rc
    if dt == np.float64:
        rc = _do_train[double](&d, params.reshape(-1), masks.reshape(-1), x.reshape(-1),
                               t.reshape(-1), tmask, T, alpha, schedule, y.reshape(-1),
                               state, work, dW)
    else:
        rc = _do_train[float](&d, params.reshape(-1), masks.reshape(-1), x.reshape(-1),
                              t.reshape(-1), tmask, T, alpha, schedule, y.reshape(-1),
                              state, work, dW)
    _raise_for(rc, "train")


cdef int _do_step(lstm97_dims *d, real[::1] params, const real[::1] masks,
                  const real[::1] x_t, const real[::1] t_t, bint has_target, double alpha, int mode, real[::1] y_t,
                  real[::1] state, real[::1] work, real[::1] dW):
    cdef int rc
    cdef const real *tp = &t_t[0] if has_target else NULL
    with nogil:
        if real is double:
            rc = lstm97_step_f64(d, &params[0], &masks[0], &x_t[0], tp, alpha, mode,
                                 &y_t[0], &state[0], &work[0], &dW[0])
        else:
            rc = lstm97_step_f32(d, &params[0], &masks[0], &x_t[0], tp, alpha, mode,
                                 &y_t[0], &state[0], &work[0], &dW[0])
    return rc


def step(tuple dims, params, masks, x_t, t_t, double alpha, int mode, y_t,
         state, work, dW):
    """One step from an explicit state (streaming).  ``t_t`` None: no target.

    ``mode`` is MODE_FORWARD, MODE_LEARN (update params now) or MODE_ACCUMULATE
    (add the update to ``dW``).
    """
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    dt = _real_dtype(params)
    if mode != LSTM97_FORWARD and mode != LSTM97_LEARN and mode != LSTM97_ACCUMULATE:
        raise ValueError(f"mode: unknown step mode {mode}")
    _check(params, "params", dt, L.n_params)
    _check(masks, "masks", dt, L.n_params)
    _check(x_t, "x_t", dt, d.I)
    cdef bint has_target = t_t is not None
    if has_target:
        _check(t_t, "y_t", dt, d.K)
    else:
        t_t = y_t          # placeholder buffer; not read
    _check(y_t, "out", dt, d.K)
    _check(state, "state", dt, L.state_len)
    _check(work, "work", dt, L.work_len)
    _check(dW, "dW", dt, L.n_params)
    for a, n in ((params, "params"), (y_t, "out"), (state, "state"), (work, "work"),
                 (dW, "dW")):
        _check_writable(a, n)
    cdef int rc
    if dt == np.float64:
        rc = _do_step[double](&d, params.reshape(-1), masks.reshape(-1), x_t.reshape(-1),
                              t_t.reshape(-1), has_target, alpha, mode, y_t.reshape(-1),
                              state, work, dW)
    else:
        rc = _do_step[float](&d, params.reshape(-1), masks.reshape(-1), x_t.reshape(-1),
                             t_t.reshape(-1), has_target, alpha, mode, y_t.reshape(-1),
                             state, work, dW)
    _raise_for(rc, "step")


cdef int _do_apply(lstm97_dims *d, real[::1] params, real[::1] dW):
    cdef int rc
    with nogil:
        if real is double:
            rc = lstm97_apply_f64(d, &params[0], &dW[0])
        else:
            rc = lstm97_apply_f32(d, &params[0], &dW[0])
    return rc


def apply(tuple dims, params, dW):
    """``params += dW``, then ``dW = 0``; FloatingPointError if a weight is not finite."""
    cdef lstm97_dims d
    cdef lstm97_layout L
    _dims_from(dims, &d, &L)
    dt = _real_dtype(params)
    _check(params, "params", dt, L.n_params)
    _check(dW, "dW", dt, L.n_params)
    _check_writable(params, "params")
    _check_writable(dW, "dW")
    cdef int rc
    if dt == np.float64:
        rc = _do_apply[double](&d, params.reshape(-1), dW)
    else:
        rc = _do_apply[float](&d, params.reshape(-1), dW)
    _raise_for(rc, "apply")
