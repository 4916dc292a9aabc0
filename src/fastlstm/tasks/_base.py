"""Common pieces of the task generators: the `Example` record and the `Task` base class.

Every generator is pure numpy and draws all randomness from a caller-supplied
``numpy.random.Generator``, so a sequence of examples is fully determined by the seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np

__all__ = ["Example", "Task"]


@dataclass(frozen=True, eq=False)
class Example:
    """One training or test sequence.

    Parameters
    ----------
    x : ndarray of float64, shape (T, n_in)
        Input vectors, C-contiguous; row ``t`` is the input at step ``t``.
    y : ndarray of float64, shape (T, n_out)
        Targets, C-contiguous; rows at steps without a target are zero.
    mask : ndarray of bool, shape (T,)
        True at the steps where a target is given.
    info : dict
        Task-specific facts (class label, marked positions, the string, ...).

    Notes
    -----
    The arrays are validated on construction (shapes, dtypes, C order) but not
    copied and not made read-only, so that they can be handed to compiled code.
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    info: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x, y, mask = self.x, self.y, self.mask
        for name, arr, dtype, ndim in (("x", x, np.float64, 2), ("y", y, np.float64, 2),
                                       ("mask", mask, np.bool_, 1)):
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"Example.{name} must be a numpy array, got {type(arr).__name__}")
            if arr.dtype != dtype or arr.ndim != ndim:
                raise ValueError(f"Example.{name} must be a {ndim}-d {np.dtype(dtype).name} array, "
                                 f"got {arr.ndim}-d {arr.dtype}")
            if not arr.flags.c_contiguous:
                raise ValueError(f"Example.{name} must be C-contiguous")
        if y.shape[0] != x.shape[0] or mask.shape[0] != x.shape[0]:
            raise ValueError(f"Example lengths differ: x {x.shape}, y {y.shape}, mask {mask.shape}")

    @property
    def T(self) -> int:
        """Number of time steps."""
        return int(self.x.shape[0])


def _check_rng(rng: Any) -> np.random.Generator:
    """Return `rng` if it is a numpy Generator, else raise a TypeError."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def _one_hot(indices: np.ndarray, n: int) -> np.ndarray:
    """One-hot rows for integer `indices`: a C-contiguous (len(indices), n) float64 array."""
    indices = np.asarray(indices, dtype=np.intp)
    out = np.zeros((indices.shape[0], n), dtype=np.float64)
    out[np.arange(indices.shape[0]), indices] = 1.0
    return out


def _final_target_arrays(T: int, target: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(y, mask)`` of a sequence of `T` steps whose only target is `target` (shape
    (n_out,)) at the last step."""
    y = np.zeros((T, target.shape[0]), dtype=np.float64)
    y[-1] = target
    mask = np.zeros(T, dtype=bool)
    mask[-1] = True
    return y, mask


def _final_target_example(x: np.ndarray, target: np.ndarray, info: Dict[str, Any]) -> Example:
    """Build an Example whose only target is `target` (shape (n_out,)) at the last step."""
    y, mask = _final_target_arrays(x.shape[0], target)
    return Example(np.ascontiguousarray(x, dtype=np.float64), y, mask, info)


def _check_int(name: str, value: Any, minimum: int) -> int:
    """Validate an integer task parameter and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


class Task:
    """Base class of the experiment generators (one subclass per experiment).

    Attributes
    ----------
    name : str
        Registry name (see `fastlstm.tasks.get_task`).
    n_in, n_out : int
        Input and output dimensions of every example.
    params : dict
        The constructor parameters, for reports.
    """

    name: str = ""
    n_in: int = 0
    n_out: int = 0

    def __init__(self) -> None:
        self.params: Dict[str, Any] = {}

    def sample(self, rng: np.random.Generator) -> Example:
        """Draw one example.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of all randomness; the example is a deterministic function of its state.

        Returns
        -------
        Example
        """
        raise NotImplementedError

    def samples(self, rng: np.random.Generator, n: int) -> List[Example]:
        """Draw `n` examples in order with `sample`."""
        return [self.sample(rng) for _ in range(n)]

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        """The paper's per-sequence correctness rule.

        Parameters
        ----------
        y_hat : array_like, shape (T, n_out)
            Network outputs for ``ex.x``.
        ex : Example
            The example.

        Returns
        -------
        bool
            True if the sequence counts as correctly processed (NaN outputs never do).
        """
        raise NotImplementedError

    def abs_error(self, y_hat: np.ndarray, ex: Example) -> float:
        """Mean absolute error over the target entries (the steps where ``ex.mask`` holds).

        Parameters
        ----------
        y_hat : array_like, shape (T, n_out)
            Network outputs for ``ex.x``.
        ex : Example
            The example.

        Returns
        -------
        float
        """
        y_hat = self._check_output(y_hat, ex)
        return float(np.mean(np.abs(y_hat[ex.mask] - ex.y[ex.mask])))

    def _check_output(self, y_hat: Any, ex: Example) -> np.ndarray:
        """Return `y_hat` as a float64 array after checking it has the shape of ``ex.y``."""
        out: np.ndarray = np.asarray(y_hat, dtype=np.float64)
        if out.shape != ex.y.shape:
            raise ValueError(f"y_hat has shape {out.shape}, expected {ex.y.shape} (T, n_out)")
        return out

    def _final_error(self, y_hat: Any, ex: Example) -> np.ndarray:
        """Absolute errors of all outputs at the last step, shape (n_out,)."""
        out = self._check_output(y_hat, ex)
        err: np.ndarray = np.abs(out[-1] - ex.y[-1])
        return err

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def _length_range(T: int) -> Tuple[int, int]:
    """Inclusive length range [T, T + T//10] of the "uniform in [T, T+T/10]" tasks."""
    return T, T + T // 10
