"""The process-wide default thread count of the compiled kernels.

:meth:`fastlstm.LSTM.train_batch` and the batched :meth:`fastlstm.LSTM.forward` use it
when they are called without ``n_threads``.  Set it with :func:`set_num_threads`, or
before the process starts with the environment variable ``FASTLSTM_NUM_THREADS``; the
default is 1.  The results never depend on it (every thread count gives the same bits).
"""
from __future__ import annotations

import numbers
import os
import threading
from typing import Any, Optional

__all__ = ["set_num_threads", "get_num_threads", "batch_threads", "MAX_THREADS", "ENV_VAR"]

#: largest thread count (LSTM97_MAX_THREADS of the C core)
MAX_THREADS = 64
#: the environment variable read when no count was set
ENV_VAR = "FASTLSTM_NUM_THREADS"

_lock = threading.Lock()
_num_threads: Optional[int] = None


def _check(n: object, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: expected an integer in [1, {MAX_THREADS}], "
                        f"got {type(n).__name__}")
    value = int(n)
    if not 1 <= value <= MAX_THREADS:
        raise ValueError(f"{name}: must be in [1, {MAX_THREADS}], got {value}")
    return value


def set_num_threads(n: Optional[int]) -> None:
    """Set the default thread count of the compiled kernels (process-wide).

    Parameters
    ----------
    n : int in [1, 64], or None
        Threads used by :meth:`~fastlstm.LSTM.train_batch` and the batched
        :meth:`~fastlstm.LSTM.forward` when they are called without ``n_threads``.
        None forgets the setting: ``FASTLSTM_NUM_THREADS`` (or 1) applies again.

    Examples
    --------
    >>> import fastlstm
    >>> fastlstm.set_num_threads(2)
    >>> fastlstm.get_num_threads()
    2
    >>> fastlstm.set_num_threads(None)
    """
    global _num_threads
    value = None if n is None else _check(n, "n")
    with _lock:
        _num_threads = value


def get_num_threads() -> int:
    """The default thread count of the compiled kernels.

    The value of :func:`set_num_threads` if one was set, else the environment variable
    ``FASTLSTM_NUM_THREADS`` (read at every call), else 1.

    Raises
    ------
    ValueError
        If ``FASTLSTM_NUM_THREADS`` is set to anything but an integer in [1, 64].
    """
    with _lock:
        value = _num_threads
    if value is not None:
        return value
    raw = os.environ.get(ENV_VAR)
    if raw is None or raw.strip() == "":
        return 1
    try:
        parsed = int(raw.strip())
    except ValueError:
        raise ValueError(f"{ENV_VAR}: expected an integer in [1, {MAX_THREADS}], "
                         f"got {raw!r}") from None
    if not 1 <= parsed <= MAX_THREADS:
        raise ValueError(f"{ENV_VAR}: must be in [1, {MAX_THREADS}], got {raw!r}")
    return parsed


def resolve(n_threads: object) -> int:
    """``n_threads`` checked, or the default when it is None."""
    if n_threads is None:
        return get_num_threads()
    return _check(n_threads, "n_threads")


def batch_threads(net: Any, N: int, T: int, mask: Any = None, schedule: str = "step",
                  n_threads: Optional[int] = None) -> int:
    """The number of threads ``net.train_batch`` uses for N sequences of T steps.

    ``n_threads`` given: that count, at most one thread per block of 4 sequences.  None
    (the default of :meth:`~fastlstm.LSTM.train_batch`): at most
    :func:`get_num_threads`, fewer where more threads would make the call slower than
    one (a compiled net, schedule "step": fewer sequences than a vector-lane group per thread; or too
    little work per thread in the call or between two steps with a target; see
    ``lstm97_batch_threads`` in ``csrc/fastlstm.h``).  The results of a call never depend on the count.

    Parameters
    ----------
    net : fastlstm.LSTM
    N, T : int
        Sequences and steps of the batch (each >= 1).
    mask : array-like of bool, shape (N, T), optional
        The steps with a target, as passed to ``train_batch`` (default: all).
    schedule : {"step", "sequence"}
    n_threads : int in [1, 64], optional

    Returns
    -------
    int
    """
    for name, v in (("N", N), ("T", T)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {v!r}")
    N, T = int(N), int(T)
    schedule = net._as_schedule(schedule)
    tmask = None
    if mask is not None:
        import numpy as np
        m = np.asarray(mask)
        if m.shape != (N, T):
            raise ValueError(f"mask: expected shape ({N}, {T}), got {m.shape}")
        tmask = net._as_mask(m.reshape(-1), N * T)
    return int(net._batch_threads(N, T, tmask, schedule, n_threads))
