"""Seeded data generators for the experiments of Hochreiter & Schmidhuber (1997).

Every task draws its randomness from a caller-supplied ``numpy.random.Generator`` and
returns `Example` records (inputs, targets, target mask, info). Use `get_task` to build a
task by registry name::

    >>> import numpy as np
    >>> from fastlstm.tasks import get_task
    >>> task = get_task("adding", T=100)
    >>> ex = task.sample(np.random.default_rng(0))
    >>> ex.x.shape[1], ex.y.shape[1]
    (2, 1)

Names: ``reber`` (Exp. 1), ``lag2a``, ``lag2b`` (p), ``lag2c`` (q, p), ``noise3a``,
``noise3b``, ``noise3c`` (T, N), ``adding``, ``multiplication`` (T), ``order6a``,
``order6b``; beyond the 1997 paper: ``cerg`` (the continual embedded Reber grammar) and
``spikes`` (measuring spike delays).
"""
from __future__ import annotations

from typing import Any, Dict, Type

from ._base import Example, Task
from .arithmetic import AddingTask, MultiplicationTask
from .cerg import ContinualReberStream, ContinualReberTask
from .lags import Lag2aTask, Lag2bTask, Lag2cTask
from .noise import Noise3aTask, Noise3bTask, Noise3cTask
from .reber import (REBER_SYMBOLS, ReberTask, accepts_embedded, accepts_reber,
                    embedded_reber_string, legal_next, make_reber_sets, reber_string)
from .spikes import SpikeDelayStream, SpikeDelayTask
from .temporal_order import ORDER_SYMBOLS, Order6aTask, Order6bTask

__all__ = [
    "Example", "Task", "get_task", "TASKS",
    "ReberTask", "Lag2aTask", "Lag2bTask", "Lag2cTask",
    "Noise3aTask", "Noise3bTask", "Noise3cTask",
    "AddingTask", "MultiplicationTask", "Order6aTask", "Order6bTask",
    "REBER_SYMBOLS", "ORDER_SYMBOLS", "reber_string", "embedded_reber_string",
    "accepts_reber", "accepts_embedded", "legal_next", "make_reber_sets",
    "ContinualReberTask", "ContinualReberStream", "SpikeDelayTask", "SpikeDelayStream",
]

#: Registry name -> Task subclass.
TASKS: Dict[str, Type[Task]] = {
    cls.name: cls
    for cls in (ReberTask, Lag2aTask, Lag2bTask, Lag2cTask, Noise3aTask, Noise3bTask,
                Noise3cTask, AddingTask, MultiplicationTask, Order6aTask, Order6bTask,
                ContinualReberTask, SpikeDelayTask)
}


def get_task(name: str, **params: Any) -> Task:
    """Build a task by its registry name.

    Parameters
    ----------
    name : str
        One of ``TASKS`` (case-insensitive): reber, lag2a, lag2b, lag2c, noise3a, noise3b,
        noise3c, adding, multiplication, order6a, order6b, cerg, spikes.
    **params
        Constructor parameters of that task (e.g. ``p`` for lag2b, ``q`` and ``p`` for lag2c,
        ``T`` and ``N`` for noise3*, ``T`` for adding/multiplication, ``strings`` for reber).

    Returns
    -------
    Task

    Raises
    ------
    ValueError
        If `name` is unknown.
    """
    try:
        cls = TASKS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted(TASKS)}") from None
    return cls(**params)
