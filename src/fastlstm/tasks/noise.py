"""Experiments 3a, 3b, 3c: noise and signal on the same (single) input channel."""
from __future__ import annotations

import math

from typing import Tuple

import numpy as np

from ._base import (Example, Task, _check_int, _check_rng, _final_target_arrays,
                    _final_target_example, _length_range)

__all__ = ["Noise3aTask", "Noise3bTask", "Noise3cTask"]

_INPUT_STD = math.sqrt(0.2)      # input noise: Gaussian, mean 0, variance 0.2
_TARGET_STD = math.sqrt(0.1)     # 3c target noise: Gaussian, mean 0, variance 0.1


class _NoiseTask(Task):
    """Common generator of 3a/3b/3c (one real input, one output, target at the end).

    Class 1 or 2 with probability 0.5; length uniform in [T, T + T//10] (inclusive).
    The first N inputs are +1 (class 1) or -1 (class 2), the others Gaussian noise
    (mean 0, variance 0.2). ``info``: ``class`` (1 or 2), ``clean_target`` (the noise-free
    target), ``sign``.
    """

    noisy_signal = False             # 3b/3c: noise also on the first N elements
    targets = (1.0, 0.0)             # noise-free target of class 1, class 2
    target_noise = False             # 3c: Gaussian noise on the training target
    tolerance = 0.2

    def __init__(self, T: int = 100, N: int = 3) -> None:
        super().__init__()
        self.T = _check_int("T", T, 1)
        self.N = _check_int("N", N, 1)
        if self.N > self.T:
            raise ValueError(f"N ({self.N}) must not exceed T ({self.T})")
        self.n_in = self.n_out = 1
        self.params = {"T": self.T, "N": self.N}

    def sample(self, rng: np.random.Generator) -> Example:
        rng = _check_rng(rng)
        lo, hi = _length_range(self.T)
        cls = 1 + int(rng.integers(2))
        length = int(rng.integers(lo, hi + 1))
        sign = 1.0 if cls == 1 else -1.0
        x = rng.normal(0.0, _INPUT_STD, size=length)
        if self.noisy_signal:
            x[:self.N] += sign
        else:
            x[:self.N] = sign
        clean = self.targets[cls - 1]
        target = clean + rng.normal(0.0, _TARGET_STD) if self.target_noise else clean
        info = {"class": cls, "clean_target": clean, "sign": sign}
        return _final_target_example(x.reshape(length, 1), np.array([target]), info)

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
        x : ndarray, shape (T, 1)
        y : ndarray, shape (T, 1)
        mask : ndarray of bool, shape (T,)
        """
        lo, hi = _length_range(self.T)
        cls = 1 + int(rng.integers(2))
        length = int(rng.integers(lo, hi + 1))
        sign = 1.0 if cls == 1 else -1.0
        x = rng.normal(0.0, _INPUT_STD, size=(length, 1))
        if self.noisy_signal:
            x[:self.N] += sign
        else:
            x[:self.N] = sign
        clean = self.targets[cls - 1]
        target = clean + rng.normal(0.0, _TARGET_STD) if self.target_noise else clean
        y, mask = _final_target_arrays(length, np.array([target]))
        return x, y, mask

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        return bool(np.all(self._final_error(y_hat, ex) < self.tolerance))


class Noise3aTask(_NoiseTask):
    """Experiment 3a: first N inputs exactly +-1, then noise; target 1.0 / 0.0.

    Parameters
    ----------
    T : int
        Minimal length; lengths are uniform in [T, T + T//10].
    N : int
        Number of information-carrying first elements.

    Notes
    -----
    Correct if ``|output - target| < 0.2`` at the end.
    """

    name = "noise3a"


class Noise3bTask(_NoiseTask):
    """Experiment 3b: as 3a, but Gaussian noise (variance 0.2) also on the first N inputs.

    Parameters
    ----------
    T : int
        Minimal length; lengths are uniform in [T, T + T//10].
    N : int
        Number of information-carrying first elements.

    Notes
    -----
    Correct if ``|output - target| < 0.2`` at the end.
    """

    name = "noise3b"
    noisy_signal = True


class Noise3cTask(_NoiseTask):
    """Experiment 3c: inputs as 3b; targets 0.2 (class 1) / 0.8 (class 2) plus target noise.

    Parameters
    ----------
    T : int
        Minimal length; lengths are uniform in [T, T + T//10].
    N : int
        Number of information-carrying first elements.

    Notes
    -----
    Readings of the paper: 3c modifies 3b, so the first N inputs carry noise as in 3b;
    class 1 gets 0.2 and class 2 gets 0.8 (the order in which the paper lists them).
    ``y`` holds the noisy training target (Gaussian noise with variance 0.1 added), and
    ``info["clean_target"]`` the noise-free one. `correct` and `abs_error` both use the
    noise-free target: correct if ``|output - clean target| <= 0.1`` (misclassified if > 0.1).
    """

    name = "noise3c"
    noisy_signal = True
    targets = (0.2, 0.8)
    target_noise = True

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        y_hat = self._check_output(y_hat, ex)
        return bool(abs(y_hat[-1, 0] - ex.info["clean_target"]) <= 0.1)

    def abs_error(self, y_hat: np.ndarray, ex: Example) -> float:
        """Absolute error of the final output against the noise-free target."""
        y_hat = self._check_output(y_hat, ex)
        return float(abs(y_hat[-1, 0] - ex.info["clean_target"]))
