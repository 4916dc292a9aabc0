"""Experiment 1: the embedded Reber grammar.

The Reber automaton (states 1-6, each choice with probability 0.5)::

    start -B-> 1;  1: T->2 | P->3;  2: S->2 | X->4;  3: T->3 | V->5;
    4: X->3 | S->6;  5: P->4 | V->6;  6: E -> end

An embedded Reber string is ``B, c, <Reber string>, c, E`` with ``c`` in {T, P}: the
second-to-last symbol repeats the second one, which is the long time-lag dependency.
Symbols are one-hot coded in the order ``B T P S X V E``.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

import numpy as np

from ._base import Example, Task, _check_int, _check_rng, _one_hot

__all__ = [
    "REBER_SYMBOLS", "reber_string", "embedded_reber_string", "accepts_reber",
    "accepts_embedded", "legal_next", "make_reber_sets", "ReberTask",
]

#: Symbol order of the one-hot code (input and output unit k stands for REBER_SYMBOLS[k]).
REBER_SYMBOLS = "BTPSXVE"
_INDEX = {s: k for k, s in enumerate(REBER_SYMBOLS)}

# Reber automaton: state -> ((symbol, next state), ...). State 0 is "before B", 7 is "after E".
_REBER: Dict[int, Tuple[Tuple[str, int], ...]] = {
    0: (("B", 1),),
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
    6: (("E", 7),),
    7: (),
}
_REBER_LEGAL = {k: frozenset(s for s, _ in arcs) for k, arcs in _REBER.items()}


def reber_string(rng: np.random.Generator) -> str:
    """Draw a Reber string, e.g. ``"BTSSXSE"``.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    str
    """
    rng = _check_rng(rng)
    out = []
    state = 0
    while state != 7:
        arcs = _REBER[state]
        symbol, state = arcs[rng.integers(2)] if len(arcs) == 2 else arcs[0]
        out.append(symbol)
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """Draw an embedded Reber string, e.g. ``"BTBTSSXSETE"``.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    str
        ``"B" + c + reber_string(rng) + c + "E"`` with ``c`` = T or P, each with probability 0.5.
    """
    rng = _check_rng(rng)
    c = "TP"[rng.integers(2)]
    return "B" + c + reber_string(rng) + c + "E"


def _reber_legal_sets(s: str) -> List[FrozenSet[str]]:
    """Legal next symbols after each prefix ``s[:0] .. s[:len(s)]`` of a plain Reber string.

    Raises ValueError at the first symbol the grammar does not allow.
    """
    state = 0
    sets = [_REBER_LEGAL[state]]
    for pos, symbol in enumerate(s):
        arcs = dict(_REBER[state])
        if symbol not in arcs:
            raise ValueError(f"{s!r}: symbol {symbol!r} at position {pos} is not allowed "
                             f"(legal: {sorted(_REBER_LEGAL[state])})")
        state = arcs[symbol]
        sets.append(_REBER_LEGAL[state])
    return sets


def _embedded_legal_sets(s: str) -> List[FrozenSet[str]]:
    """Legal next symbols after each prefix ``s[:0] .. s[:len(s)]`` of an embedded Reber string.

    The embedded automaton is walked explicitly; its phases are: expect B, expect T/P,
    inside the Reber string, expect the remembered T/P, expect E, done.
    Raises ValueError at the first symbol the grammar does not allow.
    """
    sets: List[FrozenSet[str]] = []
    branch = ""          # the T/P chosen at position 1
    phase = "B"          # "B", "TP", "inner", "repeat", "E", "done"
    inner = 0            # Reber automaton state while phase == "inner"

    def legal() -> FrozenSet[str]:
        if phase == "B":
            return frozenset("B")
        if phase == "TP":
            return frozenset("TP")
        if phase == "inner":
            return _REBER_LEGAL[inner]
        if phase == "repeat":
            return frozenset(branch)          # the long-range dependency
        if phase == "E":
            return frozenset("E")
        return frozenset()

    sets.append(legal())
    for pos, symbol in enumerate(s):
        if symbol not in sets[-1]:
            raise ValueError(f"{s!r}: symbol {symbol!r} at position {pos} is not allowed "
                             f"(legal: {sorted(sets[-1])})")
        if phase == "B":
            phase = "TP"
        elif phase == "TP":
            branch, phase = symbol, "inner"
        elif phase == "inner":
            inner = dict(_REBER[inner])[symbol]
            if inner == 7:
                phase = "repeat"
        elif phase == "repeat":
            phase = "E"
        else:                                  # phase == "E"
            phase = "done"
        sets.append(legal())
    return sets


def accepts_reber(s: str) -> bool:
    """True if `s` is a complete Reber string."""
    try:
        return not _reber_legal_sets(s)[-1]
    except ValueError:
        return False


def accepts_embedded(s: str) -> bool:
    """True if `s` is a complete embedded Reber string (T/P repeated before the final E).

    Parameters
    ----------
    s : str

    Returns
    -------
    bool
    """
    try:
        return not _embedded_legal_sets(s)[-1]
    except ValueError:
        return False


def legal_next(prefix: str) -> FrozenSet[str]:
    """Symbols that may follow an embedded-Reber prefix.

    Parameters
    ----------
    prefix : str
        A prefix of an embedded Reber string (possibly empty or complete).

    Returns
    -------
    frozenset of str
        E.g. ``{"B"}`` for ``""``, ``{"T", "P"}`` for ``"B"``, ``{"T"}`` for ``"BTBTSSXSE"``
        (the symbol repeats the second one), and the empty set for a complete string.

    Raises
    ------
    ValueError
        If `prefix` is not a prefix of any embedded Reber string.
    """
    return _embedded_legal_sets(prefix)[-1]


def make_reber_sets(rng: np.random.Generator, n_train: int = 256, n_test: int = 256,
                    max_draws: int = 1_000_000, distinct: bool = True
                    ) -> Tuple[List[str], List[str]]:
    """Draw a training and a test set of embedded Reber strings.

    Strings are drawn with `embedded_reber_string`, first for the training set, then for
    the test set; a test draw that is a training string is always skipped.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_train, n_test : int
        Set sizes (the paper: 256 each).
    max_draws : int
        Give up after this many draws.
    distinct : bool
        True: every string of both sets is distinct (repeats are skipped too).  False:
        the paper's literal reading, "The training set is generated randomly [...]. Test
        sequences are generated randomly, too, but sequences already used in the training
        set are not used for testing": both sets may repeat strings, only the test set
        excludes the training strings.  Short strings are frequent (the shortest, 9
        symbols, has probability 1/4), so the two readings differ a lot: repeats keep
        them in the training set, the distinct reading keeps one copy of each.

    Returns
    -------
    train, test : list of str
        Strings in draw order; no string is in both lists.

    Raises
    ------
    RuntimeError
        If `max_draws` draws did not produce enough (distinct) strings.
    """
    rng = _check_rng(rng)
    n_train = _check_int("n_train", n_train, 0)
    n_test = _check_int("n_test", n_test, 0)
    if not isinstance(distinct, (bool, np.bool_)):
        raise TypeError(f"distinct: expected a bool, got {distinct!r}")
    seen: Set[str] = set()
    train_set: Set[str] = set()
    sets: List[List[str]] = [[], []]
    draws = 0
    for k, (out, n) in enumerate(zip(sets, (n_train, n_test))):
        while len(out) < n:
            if draws >= max_draws:
                raise RuntimeError(f"only {len(out)} of {n} strings for the "
                                   f"{('training', 'test')[k]} set in {max_draws} draws")
            draws += 1
            s = embedded_reber_string(rng)
            if distinct and s in seen or k == 1 and s in train_set:
                continue
            seen.add(s)
            if k == 0:
                train_set.add(s)
            out.append(s)
    return sets[0], sets[1]


class ReberTask(Task):
    """Experiment 1: next-symbol prediction on embedded Reber strings (7 inputs, 7 outputs).

    For a string of n symbols the example has T = n-1 steps: the inputs are symbols
    0..n-2, the targets the one-hots of symbols 1..n-1 (the actual next symbol), and every
    step has a target.

    Parameters
    ----------
    strings : sequence of str, optional
        If given, `sample` picks one of these uniformly at random (the paper draws training
        exemplars from a fixed set of 256); otherwise it draws a fresh string.

    Notes
    -----
    ``info`` holds ``string``, ``branch`` (the T/P at position 1), ``legal_sets`` (tuple of
    frozensets, the legal next symbols at each step) and ``legal`` (the same as a (T, 7)
    bool array in symbol order).
    """

    name = "reber"
    n_in = 7
    n_out = 7

    def __init__(self, strings: Optional[Iterable[str]] = None) -> None:
        super().__init__()
        self.strings: Optional[Tuple[str, ...]] = None
        if strings is not None:
            strings = tuple(strings)
            if not strings:
                raise ValueError("strings must not be empty")
            bad = [s for s in strings if not accepts_embedded(s)]
            if bad:
                raise ValueError(f"not embedded Reber strings: {bad[:5]!r}")
            self.strings = strings
            self.params = {"strings": f"<{len(strings)} strings>"}

    def example(self, s: str) -> Example:
        """Encode the embedded Reber string `s` as an Example.

        Parameters
        ----------
        s : str
            A complete embedded Reber string.

        Returns
        -------
        Example
        """
        legal_sets = _embedded_legal_sets(s)
        if legal_sets[-1]:
            raise ValueError(f"{s!r} is not a complete embedded Reber string")
        idx = np.array([_INDEX[c] for c in s], dtype=np.intp)
        T = len(s) - 1
        step_sets = tuple(legal_sets[1:T + 1])          # after inputs s[0..t]
        legal = np.zeros((T, 7), dtype=bool)
        for t, allowed in enumerate(step_sets):
            legal[t, [_INDEX[c] for c in allowed]] = True
        info = {"string": s, "branch": s[1], "legal_sets": step_sets, "legal": legal}
        return Example(_one_hot(idx[:-1], 7), _one_hot(idx[1:], 7), np.ones(T, dtype=bool), info)

    def sample(self, rng: np.random.Generator) -> Example:
        rng = _check_rng(rng)
        if self.strings is None:
            return self.example(embedded_reber_string(rng))
        return self.example(self.strings[rng.integers(len(self.strings))])

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        """True if at every step the legal next symbols have the most active outputs.

        With k legal symbols at a step, their k outputs must all be strictly larger than
        every other output (ties with an illegal symbol count as wrong). Note that the
        one-hot target itself fails this rule where two symbols are legal.
        """
        y_hat = self._check_output(y_hat, ex)
        legal = ex.info["legal"]
        lowest_legal = np.where(legal, y_hat, np.inf).min(axis=1)
        highest_other = np.where(legal, -np.inf, y_hat).max(axis=1)
        return bool(np.all(lowest_legal > highest_other))
