"""Experiments 4 (adding) and 5 (multiplication): two marked values in a long sequence."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import (Example, Task, _check_int, _check_rng, _final_target_arrays,
                    _final_target_example, _length_range)

__all__ = ["AddingTask", "MultiplicationTask"]


class _MarkedPairTask(Task):
    """Common generator of the adding and multiplication problems.

    Each step is a pair ``[value, marker]`` (inputs (T, 2)). The length is uniform in
    [T, T + T//10]. One of the first ten pairs is marked (X1), then one of the first
    T//2 - 1 still unmarked pairs (X2); markers are 1 there, -1 at the first and last pair
    unless marked, 0 elsewhere. If the first pair is marked (by either mark) its value is
    replaced by `first_value` in the input as well (the project's choice). One output; the target is at
    the last step. Correct if |error| < 0.04.

    Notes
    -----
    "One of the first T/2 - 1 still unmarked pairs" is read literally: the candidates are
    the first T//2 - 1 pairs that X1 left unmarked, i.e. 0-based positions 0..T//2-1
    without X1's. The largest X2 position is then T//2 - 1, so the shortest lag from X2 to
    the end of a length-T sequence is T - T//2 = T/2, the "minimal lag" of the paper's
    Table 7 (50 for T = 100). ``info``: ``positions`` (0-based X1 and X2 positions),
    ``X1``, ``X2`` (values after the first-pair rule), ``first_marked``, ``target``.
    """

    low = -1.0
    high = 1.0
    first_value = 0.0

    def __init__(self, T: int = 100) -> None:
        super().__init__()
        self.T = _check_int("T", T, 20)   # X1 (first ten) must lie among the X2 candidates
        self.n_in = 2
        self.n_out = 1
        self.params = {"T": self.T}

    def _target(self, x1: float, x2: float) -> float:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Example:
        rng = _check_rng(rng)
        lo, hi = _length_range(self.T)
        length = int(rng.integers(lo, hi + 1))
        values = rng.uniform(self.low, self.high, size=length)
        i1 = int(rng.integers(10))
        j = int(rng.integers(self.T // 2 - 1))       # index among the still unmarked pairs
        i2 = j if j < i1 else j + 1
        markers = np.zeros(length)
        markers[0] = markers[-1] = -1.0
        markers[i1] = markers[i2] = 1.0
        first_marked = i1 == 0 or i2 == 0
        if first_marked:
            values[0] = self.first_value
        x1, x2 = float(values[i1]), float(values[i2])
        target = self._target(x1, x2)
        x = np.column_stack((values, markers))
        info = {"positions": (i1, i2), "X1": x1, "X2": x2, "first_marked": first_marked,
                "target": target}
        return _final_target_example(x, np.array([target]), info)

    def sample_xy(self, rng: np.random.Generator
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, mask)`` of :meth:`sample` (the same draws from ``rng``, the same
        arrays) without the `Example` record and its ``info``: the training loops'
        generator.

        Parameters
        ----------
        rng : numpy.random.Generator

        Returns
        -------
        x : ndarray, shape (T, 2)
        y : ndarray, shape (T, 1)
        mask : ndarray of bool, shape (T,)
        """
        lo, hi = _length_range(self.T)
        length = int(rng.integers(lo, hi + 1))
        values = rng.uniform(self.low, self.high, size=length)
        i1 = int(rng.integers(10))
        j = int(rng.integers(self.T // 2 - 1))
        i2 = j if j < i1 else j + 1
        x = np.zeros((length, 2))
        x[:, 0] = values
        x[0, 1] = x[-1, 1] = -1.0
        x[i1, 1] = x[i2, 1] = 1.0
        if i1 == 0 or i2 == 0:
            x[0, 0] = self.first_value
        y, mask = _final_target_arrays(
            length, np.array([self._target(float(x[i1, 0]), float(x[i2, 0]))]))
        return x, y, mask

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        return bool(np.all(self._final_error(y_hat, ex) < 0.04))


class AddingTask(_MarkedPairTask):
    """Experiment 4, the adding problem: values uniform in [-1, 1], target 0.5 + (X1+X2)/4.

    Parameters
    ----------
    T : int
        Minimal sequence length (>= 20); lengths are uniform in [T, T + T//10].

    Notes
    -----
    A marked first pair counts as 0 (its input value is set to 0).
    """

    name = "adding"

    def _target(self, x1: float, x2: float) -> float:
        return 0.5 + (x1 + x2) / 4.0


class MultiplicationTask(_MarkedPairTask):
    """Experiment 5, the multiplication problem: values uniform in [0, 1], target X1*X2.

    Parameters
    ----------
    T : int
        Minimal sequence length (>= 20); lengths are uniform in [T, T + T//10].

    Notes
    -----
    A marked first pair counts as 1.0 (its input value is set to 1.0).
    """

    name = "multiplication"
    low = 0.0
    high = 1.0
    first_value = 1.0

    def _target(self, x1: float, x2: float) -> float:
        return x1 * x2
