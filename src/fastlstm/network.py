"""The compiled net: :class:`LSTM` over the C kernels of ``csrc/``."""
from __future__ import annotations

import numpy as np

from . import _core
from ._base import NetBase, PathLike

__all__ = ["LSTM", "load"]


class LSTM(NetBase):
    """The 1997 LSTM with its truncated on-line gradient (compiled kernel).

    Parameters
    ----------
    n_in, n_out : int
        Input units I and output units K.
    n_blocks : int
        Memory-cell blocks B; each has one input gate and one output gate.
    block_size : int, default 1
        Cells per block S (they share their block's gates).
    output_gate : bool, default True
        Without output gates y_out = 1.
    recurrent : bool, default True
        False masks the recurrent columns (y_c, y_in, y_out) of z.
    input_to_output : bool, default False
        True lets the output units see the inputs (topology F masks them).
    bias : bool, str or iterable of {"gates", "cells", "outputs"}, default True
        Groups with a bias weight (True: all, False: none).
    g : {"g2", "g1", "tanh", "h1", "id"}, default "g2"
        Cell input squash (g2 = 4 sig - 2, range [-2, 2]; g1 = sig; h1 = 2 sig - 1).
    h : {"h1", "id", "tanh", "g2", "g1"}, default "h1"
        Cell output squash (h1 = 2 sig - 1, range [-1, 1]).  "h1"/"id" as g and
        "g2"/"g1" as h are there to test the swapped reading of the paper's Table 10.
    out : {"logistic", "linear", "softmax"}, default "logistic"
        Output-unit activation: logistic or linear with squared error, or a softmax
        layer (n_out >= 2) with cross-entropy (output error e_k = t_k - y_k).
    init_range : float, default 0.1
        Weights are drawn uniformly from [-init_range, init_range].
    in_gate_bias, out_gate_bias : float or sequence of B floats, optional
        Initial gate biases per block (None: random like the other weights).
    sources : {"full", "cells"}, default "full"
        What gates and cell inputs read: "full" z(t) = [1, x(t), y_c(t-1), y_in(t-1),
        y_out(t-1)] (the 1997 topology) or "cells" z(t) = [1, x(t), y_c(t-1)] (the
        modern LSTM's).
    forget_gate : bool, default False
        One forget gate per block (weights W_phi): s_c(t) = y_phi_j s_c(t-1) +
        y_in_j g(net_c).
    forget_gate_bias : float or sequence of B floats, optional
        Initial forget-gate biases (None: random like the other weights).
    peepholes : bool, default False
        Peephole weights P_in, P_phi (with forget gates), P_out (with output gates), one
        per cell, from the cell's state to the gates of its block: the input and forget
        gates see s(t-1), the output gate s(t).
    dtype : {"float64", "float32"}, default "float64"
    seed : int or numpy.random.Generator, optional
        Seed of the initialisation (the same seed gives the same weights in the
        compiled net and in :class:`fastlstm.oracle.LSTM`).

    Attributes
    ----------
    params : read-only mapping of ndarray
        "W_in", "W_out" (if output gates), "W_c", "W_k": writable views into the one
        contiguous parameter block, shapes (B, nz), (B, nz), (C, nz), (K, 1+I+C).  Write
        with ``net.params["W_c"][...] = w``; weights under a 0 mask must stay 0 (a call
        that finds one nonzero raises ValueError).
    masks : read-only mapping of ndarray
        Read-only 0/1 arrays of the same shapes (change them with :meth:`set_mask`).
    n_weights : int
        Number of unmasked weights.

    Examples
    --------
    >>> import numpy as np, fastlstm
    >>> net = fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2, seed=0)
    >>> x = np.zeros((5, 2)); y = np.full((5, 1), 0.5)
    >>> net.train_sequence(x, y, lr=0.5).shape
    (5, 1)
    """

    backend: str = "c"
    # the options of the LSTM family the kernels compute (the others: fastlstm.oracle.LSTM)
    _family_options: tuple = ("forget_gate", "peepholes", "sources", "softmax")

    def _init_backend(self):
        c = self.config
        self._dims = (self.I, self.K, self.B, self.S, int(c["output_gate"]),
                      _core.G_IDS[c["g"]], _core.H_IDS[c["h"]], _core.OUT_IDS[c["out"]])
        if c["sources"] != "full" or c["forget_gate"] or c["peepholes"]:
            self._dims += (_core.KERNEL_FAST, _core.SOURCES_IDS[c["sources"]],
                           int(c["forget_gate"]), int(c["peepholes"]))
        lay = _core.layout(self._dims)
        assert lay["n_params"] == self._theta.size and lay["state_len"] == self._layout["state_len"]
        self._state = np.zeros(lay["state_len"], dtype=self.dtype)
        self._work = np.zeros(lay["work_len"], dtype=self.dtype)
        self._typenum = np.dtype(self.dtype).num
        self._batch_scratch = None
        self._fast = (self._dims, self._theta, self._mask, self._state, self._work, self._dW,
                      self._backup, self._lock.acquire, self._lock.release, self._busy)

    def _lock_changed(self):
        self._fast = self._fast[:7] + (self._lock.acquire, self._lock.release) + self._fast[9:]

    _all_finite = staticmethod(_core.all_finite)
    _targets_finite = staticmethod(_core.targets_finite)
    _copy_into = staticmethod(_core.copy_into)

    def _ready_sequence(self, x, y, mask):
        return _core.ready_sequence(x, y, mask, self.I, self.K, self._typenum)

    # x and y of the other float type (float64, numpy's default, for a float32 net) are
    # converted by one C loop when they need nothing else, several microseconds less per
    # call than the general path (a Stream fed step by step pays it at every step)
    def _as_x(self, x):
        xr = _core.as_real(x, self.I, self._typenum)
        if xr is not None and self._ready_sequence(xr, None, None):
            return xr
        return super()._as_x(x)

    def _as_xy(self, x, y, mask):
        xr = _core.as_real(x, self.I, self._typenum)
        yr = _core.as_real(y, self.K, self._typenum)
        if xr is not None and yr is not None and self._ready_sequence(xr, yr, mask):
            return xr, yr, mask
        return super()._as_xy(x, y, mask)

    def _new_state(self):
        return np.zeros(self._layout["state_len"], dtype=self.dtype)

    def _forward_kernel(self, x):
        y = np.empty((x.shape[0], self.K), dtype=self.dtype)
        _core.forward(self._dims, self._theta, x, y, self._state, self._work)
        return y

    def _train_fast(self, x, y, mask, lr, schedule):
        # one C call when the arguments need nothing (about 1 us less per call); None
        # sends train_sequence down the general path, which converts them or raises the
        # explaining error
        return _core.train_fast(self._fast, x, y, mask, lr, schedule)

    def train_onehot(self, indices, y, mask=None, lr=0.1):
        """:meth:`train_sequence` (schedule "step") on one-hot inputs given by index.

        ``train_onehot(idx, y, mask, lr)`` learns exactly (bit for bit: outputs, weights
        and state) what ``train_sequence(x, y, mask, lr)`` learns on the dense one-hot
        inputs ``x[t, idx[t]] = 1`` (a row of zeros where ``idx[t] == -1``), and is
        transactional the same way.  For the 1997 cell (no forget gate, no peepholes) a
        kernel that keeps the inputs as indices runs it, so a step costs the same
        whatever the number of inputs (Exp. 2c with 1004 inputs: about 20x less than
        the dense call); other nets train on the dense inputs.

        Parameters
        ----------
        indices : array-like of int, shape (T,)
            At step t the input unit that is 1 (the others are 0), or -1 for no input.
        y : array-like, shape (T, n_out)
            Targets; only the rows where ``mask`` is true are read.
        mask : array-like of bool, shape (T,), optional
            Steps with a target (default: every step).
        lr : float
            Learning rate alpha (finite, >= 0).

        Returns
        -------
        ndarray, shape (T, n_out)
            The outputs as computed during training.

        Raises
        ------
        ValueError
            For indices that are not a non-empty 1-d integer sequence in [-1, n_in), and
            for the arguments train_sequence rejects.
        FloatingPointError
            As train_sequence (the weights are restored).
        """
        out = _core.train_onehot(self._fast, indices, y, mask, lr)
        if out is not None:
            return out
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.shape[0] < 1:
            raise ValueError(f"indices: expected a non-empty 1-d array, got shape "
                             f"{idx.shape}")
        if idx.dtype == np.bool_ or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"indices: expected integers, got dtype {idx.dtype}")
        if idx.min() < -1 or idx.max() >= self.I:
            raise ValueError(f"indices: expected values in [-1, {self.I}) (-1: no input), "
                             f"got {idx.min()} .. {idx.max()}")
        idx32 = np.ascontiguousarray(idx, dtype=np.int32)
        if type(lr) is not float and isinstance(lr, (int, float, np.floating, np.integer)) \
                and not isinstance(lr, bool):
            lr = float(lr)
        if isinstance(y, np.ndarray) and y.dtype == self.dtype and y.flags.c_contiguous \
                and (mask is None or (isinstance(mask, np.ndarray) and mask.dtype == np.bool_
                                      and mask.flags.c_contiguous)):
            out = _core.train_onehot(self._fast, idx32, y, mask, lr)
            if out is not None:
                return out
        # the general path: the dense inputs (it converts y, mask and lr or explains them)
        x = np.zeros((idx32.shape[0], self.I), dtype=self.dtype)
        on = np.flatnonzero(idx32 >= 0)
        x[on, idx32[on]] = 1
        return self.train_sequence(x, y, mask, lr, "step")

    def _train_kernel(self, x, y, tmask, lr, schedule):
        out = np.empty((x.shape[0], self.K), dtype=self.dtype)
        _core.train(self._dims, self._theta, self._mask, x, y, tmask, lr,
                    _core.SCHEDULES[schedule], out, self._state, self._work, self._dW)
        return out

    def _gradient_kernel(self, x, y, tmask, truncated):
        out = np.empty((x.shape[0], self.K), dtype=self.dtype)
        grad = np.empty_like(self._theta)
        tape = np.empty(_core.tape_len(self._dims, x.shape[0]), dtype=self.dtype)
        loss = _core.gradient(self._dims, self._theta, self._mask, x, y, tmask, truncated,
                              out, grad, tape)
        return loss, grad, out

    def _step_kernel(self, state, x_t, t_t, lr, mode, dW):
        out = np.empty(self.K, dtype=self.dtype)
        _core.step(self._dims, self._theta, self._mask, x_t, t_t, lr, mode, out, state,
                   self._work, dW)
        return out

    def _run_kernel(self, state, x, y, tmask, lr, mode, dW):
        out = np.empty((x.shape[0], self.K), dtype=self.dtype)
        _core.run(self._dims, self._theta, self._mask, x, y, tmask, lr, mode, out, state,
                  self._work, dW)
        return out

    def _apply_kernel(self, dW):
        _core.apply(self._dims, self._theta, dW)

    # train_batch keeps its scratch (state, work, dW of N sequences) for the next call of
    # the same N when it is at most this many bytes: fresh memory costs page faults on
    # every call (N = 32, W = 1254: 8 % of a one-thread call, and the two threads of a
    # two-thread call fault at once)
    _BATCH_SCRATCH_KEEP = 32 << 20

    def _batch_buffers(self, N):
        kept = self._batch_scratch
        if kept is not None and kept[0] == N:
            return kept[1:]
        lay = self._layout
        sizes = [N * lay[k] for k in ("state_len", "work_len", "n_params")]
        bufs = tuple(np.empty(n, dtype=self.dtype) for n in sizes)
        keep = sum(sizes) * self.dtype.itemsize <= self._BATCH_SCRATCH_KEEP
        self._batch_scratch = (N,) + bufs if keep else None
        return bufs

    def _forward_batch_kernel(self, x, lengths, zs, n_threads):
        N, T = x.shape[:2]
        y = np.empty((N, T, self.K), dtype=self.dtype)
        lay = self._layout
        n_threads = min(n_threads, N)
        scratch = np.empty(n_threads * (lay["state_len"] + lay["work_len"]), self.dtype)
        _core.forward_batch(self._dims, self._theta, x, lengths, n_threads, y, zs, scratch)
        return y

    def _default_batch_threads(self, N, T, tmask, schedule, n_max):
        # the C core's choice (lstm97_batch_threads): fewer threads where more are slower
        return _core.batch_threads(self._dims, self._theta, tmask, N, T,
                                   _core.SCHEDULES[schedule], n_max)

    def _train_batch_kernel(self, x, y, tmask, lr, schedule, n_threads):
        N, T = x.shape[:2]
        out = np.empty((N, T, self.K), dtype=self.dtype)
        state, work, dW = self._batch_buffers(N)
        _core.train_batch(self._dims, self._theta, self._mask, x, y, tmask, lr,
                          _core.SCHEDULES[schedule], n_threads, out, state, work, dW)
        return out


def load(path: PathLike) -> LSTM:
    """Read a compiled :class:`LSTM` saved with :meth:`LSTM.save`."""
    return LSTM.load(path)
