"""Experiments 2a, 2b, 2c: noise-free and noise-free-but-unpredictable long time lags."""
from __future__ import annotations

import numpy as np

from ._base import Example, Task, _check_int, _check_rng, _final_target_example, _one_hot

__all__ = ["Lag2aTask", "Lag2bTask", "Lag2cTask"]


class _Lag2Task(Task):
    """Common part of 2a and 2b: p+1 one-hot symbols, next-symbol prediction at every step.

    Symbol codes: a_i -> i-1 (i = 1..p-1), x -> p-1, y -> p. A sequence of p+1 symbols
    (first symbol x or y, p-1 middle symbols, the first symbol again) gives T = p steps:
    inputs are symbols 0..p-1, targets the one-hots of symbols 1..p.
    """

    random_middle = False

    def __init__(self, p: int = 100) -> None:
        super().__init__()
        self.p = _check_int("p", p, 2)
        self.n_in = self.n_out = self.p + 1
        self.params = {"p": self.p}

    def sample(self, rng: np.random.Generator) -> Example:
        rng = _check_rng(rng)
        p = self.p
        label = int(rng.integers(2))                 # 0: x, 1: y
        first = p - 1 + label
        if self.random_middle:
            middle = rng.integers(0, p - 1, size=p - 1)
        else:
            middle = np.arange(p - 1)
        seq = np.concatenate(([first], middle, [first])).astype(np.intp)
        info = {"class": label, "symbol": "xy"[label], "sequence": seq}
        return Example(_one_hot(seq[:-1], p + 1), _one_hot(seq[1:], p + 1),
                       np.ones(p, dtype=bool), info)


class Lag2aTask(_Lag2Task):
    """Experiment 2a: the two sequences (y, a1..a_{p-1}, y) and (x, a1..a_{p-1}, x).

    Parameters
    ----------
    p : int
        Time lag; there are p+1 symbols (inputs = outputs = p+1) and T = p steps.

    Notes
    -----
    Correct if the maximal absolute output error is below 0.25 at every step.
    ``info``: ``class`` (0 for x, 1 for y), ``symbol``, ``sequence`` (the p+1 symbol codes).
    """

    name = "lag2a"

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        y_hat = self._check_output(y_hat, ex)
        return bool(np.all(np.abs(y_hat[ex.mask] - ex.y[ex.mask]) < 0.25))


class Lag2bTask(_Lag2Task):
    """Experiment 2b: as 2a, but the middle is p-1 i.i.d. uniform draws from a1..a_{p-1}.

    Parameters
    ----------
    p : int
        Time lag; there are p+1 symbols and T = p steps.

    Notes
    -----
    Reading of the paper: the net is still trained to predict the next symbol at every
    step (targets and mask at every step, as in 2a, although the middle symbols are
    unpredictable), but success is judged at the sequence end only: `correct` looks at
    the last prediction (the repeated x/y), max absolute error < 0.25. `abs_error`
    averages over all target steps like every other task.
    """

    name = "lag2b"
    random_middle = True

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        return bool(np.all(self._final_error(y_hat, ex) < 0.25))


class Lag2cTask(Task):
    """Experiment 2c: very long lags without local regularities.

    Symbols (one-hot, p+4 inputs): distractors a1..ap -> 0..p-1, e -> p, b -> p+1,
    x -> p+2, y -> p+3. A sequence is ``b, c, q distractors``, then repeatedly a distractor
    (probability 0.9) or e (probability 0.1, which stops), then ``c`` again, where c is x or
    y with probability 0.5 and distractors are uniform over a1..ap.

    The input is the whole sequence except its final element (T = length - 1, the last input
    is e); the only target is at the last step: 2 outputs (x-unit, y-unit), one-hot of c.

    Parameters
    ----------
    q : int
        Number of distractors before the random tail.
    p : int
        Number of distinct distractor symbols.

    Notes
    -----
    The number of tail elements including e is geometric with mean 10, so the mean sequence
    length is q + 13 (the paper prints q + 14). ``info``: ``class`` (0: x, 1: y), ``symbol``,
    ``length`` (full sequence length, T + 1), ``n_tail`` (distractors after the first q),
    ``sequence``. Correct if both outputs are within 0.2 of their targets at the end.
    """

    name = "lag2c"
    n_out = 2
    e_prob = 0.1

    def __init__(self, q: int = 100, p: int = 100) -> None:
        super().__init__()
        self.q = _check_int("q", q, 0)
        self.p = _check_int("p", p, 1)
        self.n_in = self.p + 4
        self.params = {"q": self.q, "p": self.p}

    def sample(self, rng: np.random.Generator) -> Example:
        rng = _check_rng(rng)
        p, q = self.p, self.q
        label = int(rng.integers(2))
        c = p + 2 + label
        head = rng.integers(0, p, size=q)
        n_tail = int(rng.geometric(self.e_prob)) - 1   # distractors drawn before e
        tail = rng.integers(0, p, size=n_tail)
        seq = np.concatenate(([p + 1, c], head, tail, [p, c])).astype(np.intp)
        target = np.zeros(2)
        target[label] = 1.0
        info = {"class": label, "symbol": "xy"[label], "length": int(seq.shape[0]),
                "n_tail": n_tail, "sequence": seq}
        return _final_target_example(_one_hot(seq[:-1], p + 4), target, info)

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        return bool(np.all(self._final_error(y_hat, ex) < 0.2))
