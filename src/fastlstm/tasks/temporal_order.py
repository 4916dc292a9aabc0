"""Experiments 6a and 6b: temporal order of widely separated X/Y symbols."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import Example, Task, _check_rng, _final_target_example, _one_hot

__all__ = ["ORDER_SYMBOLS", "Order6aTask", "Order6bTask"]

#: Symbol order of the one-hot code (8 inputs).
ORDER_SYMBOLS = "EBabcdXY"
_X = ORDER_SYMBOLS.index("X")


class _OrderTask(Task):
    """Common generator of 6a/6b.

    A sequence of length uniform in [100, 110] starts with E, ends with B, and is filled
    with random a-d, except that X or Y (probability 0.5 each) sits at one random position
    in each window (1-based, inclusive). The class is the X/Y pattern read as a binary
    number with X = 0, Y = 1, first symbol most significant (6a: XX=0, XY=1, YX=2, YY=3).
    The input is the whole sequence (T = length, the last input is B); one output per class,
    one-hot target at the last step. Correct if every output is within 0.3 of its target.

    ``info``: ``class``, ``label`` (e.g. "XY"), ``positions`` (1-based), ``sequence``.
    """

    windows: Tuple[Tuple[int, int], ...] = ()
    min_length = 100
    max_length = 110

    def __init__(self) -> None:
        super().__init__()
        self.n_in = len(ORDER_SYMBOLS)
        self.n_out = 2 ** len(self.windows)

    def sample(self, rng: np.random.Generator) -> Example:
        rng = _check_rng(rng)
        length = int(rng.integers(self.min_length, self.max_length + 1))
        seq = rng.integers(2, 6, size=length)                    # a, b, c, d
        seq[0] = 0                                               # E
        seq[-1] = 1                                              # B
        bits = rng.integers(2, size=len(self.windows))           # 0: X, 1: Y
        positions = tuple(int(rng.integers(lo, hi + 1)) for lo, hi in self.windows)
        for pos, bit in zip(positions, bits):
            seq[pos - 1] = _X + bit
        cls = 0
        for bit in bits:
            cls = 2 * cls + int(bit)
        target = np.zeros(self.n_out)
        target[cls] = 1.0
        info = {"class": cls, "label": "".join("XY"[b] for b in bits),
                "positions": positions, "sequence": seq}
        return _final_target_example(_one_hot(seq, self.n_in), target, info)

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        return bool(np.all(self._final_error(y_hat, ex) < 0.3))


class Order6aTask(_OrderTask):
    """Experiment 6a: X/Y at t1 in [10, 20] and t2 in [50, 60] (1-based); 4 classes."""

    name = "order6a"
    windows = ((10, 20), (50, 60))


class Order6bTask(_OrderTask):
    """Experiment 6b: X/Y at t1 in [10, 20], t2 in [33, 43], t3 in [66, 76]; 8 classes."""

    name = "order6b"
    windows = ((10, 20), (33, 43), (66, 76))
