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
from typing import Optional

__all__ = ["set_num_threads", "get_num_threads", "MAX_THREADS", "ENV_VAR"]

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
