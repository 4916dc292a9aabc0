"""Measuring spike delays: a timing task for peephole connections.

One input channel is 0 except for spikes (1.0). Spike n comes at step
``T(n) = T(n-1) + F + I(n)`` with ``I(n)`` drawn uniformly from a small set such as
{0, 1}; the first spike is at step 0. The target is ``I(n)`` at the step of spike n (how
much later than F steps after its predecessor it came) and 0 at every other step; the
first spike has no predecessor and no target. A step is wrong when the output is 0.49 or
farther from its target. The stream never restarts: the net must time each interval
from the previous spike on its own. The task follows the spike-delay experiments of Gers,
Schraudolph & Schmidhuber (2002), where a cell's output gate that sees the cell state
(a peephole) can open at the right step.
"""
from __future__ import annotations

from typing import Iterable, Tuple

import numpy as np

from ._base import Example, Task, _check_int, _check_rng

__all__ = ["SPIKE_TOLERANCE", "SpikeDelayStream", "SpikeDelayTask"]

#: A step is wrong when the output is this far or farther from its target.
SPIKE_TOLERANCE = 0.49


def _check_intervals(intervals: Iterable[int]) -> Tuple[int, ...]:
    try:
        out = tuple(_check_int("intervals", v, 0) for v in intervals)
    except TypeError as e:
        raise TypeError(f"intervals must be a sequence of integers >= 0: {e}") from None
    if not out or len(set(out)) != len(out):
        raise ValueError(f"intervals must be non-empty and distinct, got {out}")
    return out


class SpikeDelayStream:
    """An endless spike train with its delay targets, read in pieces.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the delays I(n).
    F : int, default 10
        Fixed part of every inter-spike interval (>= 1).
    intervals : sequence of int, default (0, 1)
        The values of I(n), each drawn with equal probability.

    Attributes
    ----------
    t : int
        Steps handed out so far.
    spikes : int
        Spikes handed out so far.

    Examples
    --------
    >>> import numpy as np
    >>> s = SpikeDelayStream(np.random.default_rng(0), F=3)
    >>> x, y, mask = s.take(8)
    >>> x[:, 0].tolist()[:4], bool(mask[0])
    ([1.0, 0.0, 0.0, 1.0], False)
    """

    def __init__(self, rng: np.random.Generator, F: int = 10,
                 intervals: Iterable[int] = (0, 1)) -> None:
        self.rng = _check_rng(rng)
        self.F = _check_int("F", F, 1)
        self.intervals = _check_intervals(intervals)
        self.t = 0
        self.spikes = 0
        self._next = 0               # step of the next spike
        self._delay = -1             # I of the next spike (-1: the first, no target)

    def take(self, n: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The next `n` steps.

        Parameters
        ----------
        n : int
            Number of steps (>= 1).

        Returns
        -------
        x : ndarray, shape (n, 1)
            1.0 at the spikes, 0.0 elsewhere.
        y : ndarray, shape (n, 1)
            I(n) at the step of spike n, 0.0 elsewhere.
        mask : ndarray of bool, shape (n,)
            False only at the stream's first spike (no delay to measure).
        """
        n = _check_int("n", n, 1)
        x = np.zeros((n, 1))
        y = np.zeros((n, 1))
        mask = np.ones(n, dtype=bool)
        end = self.t + n
        vals = self.intervals
        while self._next < end:
            k = self._next - self.t
            x[k, 0] = 1.0
            if self._delay < 0:
                mask[k] = False
            else:
                y[k, 0] = float(self._delay)
            self.spikes += 1
            self._delay = vals[int(self.rng.integers(len(vals)))]
            self._next += self.F + self._delay
        self.t = end
        return x, y, mask


class SpikeDelayTask(Task):
    """Pieces of the spike-delay stream (1 input, 1 output).

    Each example is a fresh stream of ``n_spikes`` spikes (it starts with a spike and ends
    at the last spike), targets at every step but the first.

    Parameters
    ----------
    F : int, default 10
        Fixed part of the inter-spike interval.
    intervals : sequence of int, default (0, 1)
        Values of the variable part I(n).
    n_spikes : int, default 20
        Spikes per example (>= 2).
    """

    name = "spikes"
    n_in = 1
    n_out = 1

    def __init__(self, F: int = 10, intervals: Iterable[int] = (0, 1),
                 n_spikes: int = 20) -> None:
        super().__init__()
        self.F = _check_int("F", F, 1)
        self.intervals = _check_intervals(intervals)
        self.n_spikes = _check_int("n_spikes", n_spikes, 2)
        self.params = {"F": self.F, "intervals": self.intervals, "n_spikes": self.n_spikes}

    def sample(self, rng: np.random.Generator) -> Example:
        rng = _check_rng(rng)
        d = rng.integers(len(self.intervals), size=self.n_spikes - 1)
        gaps = self.F + np.asarray(self.intervals)[d]
        T = int(gaps.sum()) + 1
        at = np.concatenate(([0], np.cumsum(gaps)))
        x = np.zeros((T, 1))
        x[at, 0] = 1.0
        y = np.zeros((T, 1))
        y[at[1:], 0] = gaps - self.F
        mask = np.ones(T, dtype=bool)
        mask[0] = False
        return Example(x, y, mask, {"spikes": at, "delays": gaps - self.F})

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        """True if the output is within 0.49 of the target at every step with a target."""
        y_hat = self._check_output(y_hat, ex)
        d = np.abs(y_hat[ex.mask, 0] - ex.y[ex.mask, 0])
        return bool(np.all(d < SPIKE_TOLERANCE))
