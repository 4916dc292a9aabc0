"""The continual embedded Reber grammar: embedded Reber strings in one unbroken stream.

Embedded Reber strings (see :mod:`fastlstm.tasks.reber`) are concatenated with no marker
and no reset between them: ``...BTBPVVETE BPBTXSEPE BT...``. At every step the net reads
one symbol and predicts the symbols that may come next: the target is 1 for each legal
next symbol and 0 for the others (after the final E of a string the only legal symbol is
the B that starts the next one). A step is predicted correctly when every output is within
0.49 of its target. The task is that of Gers, Schmidhuber & Cummins (2000), where it shows
why the 1997 cell needs a forget gate: without a reset, its cell states grow without
bound.

`ContinualReberStream` yields the stream piece by piece (one stream of any length with
memory independent of it); `ContinualReberTask` draws fixed-length pieces as `Example`
records for the generic task interface.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from ._base import Example, Task, _check_int, _check_rng
from .reber import _REBER, REBER_SYMBOLS, _embedded_legal_sets

__all__ = ["CERG_TOLERANCE", "ContinualReberStream", "ContinualReberTask", "first_error"]

#: A step is wrong when some output is this far or farther from its target.
CERG_TOLERANCE = 0.49

_INDEX = {s: k for k, s in enumerate(REBER_SYMBOLS)}
_ARCS = tuple(_REBER[k] for k in range(8))        # the automaton's arcs by state
_WINDOW = 8
_BIT_CHARS = bytes.maketrans(b"\x00\x01", b"01")


def _walks() -> Tuple[Dict[bytes, Tuple[str, int, int]], ...]:
    """For each state and each window of 8 bits (b'0'/b'1' characters): the symbols the
    automaton emits from that state reading those bits one per choice, the bits read,
    and the state where it stops (7, after E, or where a choice needs a ninth bit)."""
    tables = []
    for start in range(8):
        table: Dict[bytes, Tuple[str, int, int]] = {}
        for w in range(1 << _WINDOW):
            bits = format(w, f"0{_WINDOW}b")
            state, k, out = start, 0, []
            while state != 7:
                arcs = _ARCS[state]
                if len(arcs) == 2:
                    if k == _WINDOW:
                        break
                    symbol, state = arcs[int(bits[k])]
                    k += 1
                else:
                    symbol, state = arcs[0]
                out.append(symbol)
            table[bits.encode()] = ("".join(out), k, state)
        tables.append(table)
    return tuple(tables)


_WALKS = _walks()
_B_ROW = np.zeros(7)
_B_ROW[_INDEX["B"]] = 1.0
# encodings of the strings seen so far, shared by all streams (strings repeat often)
_ENCODED: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
_ENCODED_MAX = 50_000


def _encode(s: str) -> Tuple[np.ndarray, np.ndarray]:
    """One-hot inputs (len(s), 7) and legal-next targets (len(s), 7) of one string of the
    stream; the target after the final E is the next string's B."""
    sets = _embedded_legal_sets(s)[1:]            # legal after s[:1], ..., s[:len(s)]
    if sets[-1]:
        raise ValueError(f"{s!r} is not a complete embedded Reber string")
    n = len(s)
    x = np.zeros((n, 7))
    x[np.arange(n), [_INDEX[c] for c in s]] = 1.0
    y = np.zeros((n, 7))
    for t, allowed in enumerate(sets[:-1]):
        y[t, [_INDEX[c] for c in allowed]] = 1.0
    y[-1] = _B_ROW
    return x, y


def first_error(y_hat: np.ndarray, y: np.ndarray, tol: float = CERG_TOLERANCE) -> int:
    """Index of the first step with an output at least `tol` from its target, or -1.

    Parameters
    ----------
    y_hat, y : ndarray, shape (T, n_out)
        Outputs and targets.
    tol : float
        The tolerance (the protocol's 0.49).

    Returns
    -------
    int
        The first wrong step (a NaN output counts as wrong), -1 if every step is right.
    """
    ok = np.all(np.abs(y_hat - y) < tol, axis=1)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else -1


class ContinualReberStream:
    """An endless stream of embedded Reber strings, read in pieces.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the strings; the stream is a deterministic function of its state.

    Attributes
    ----------
    t : int
        Symbols handed out so far.
    strings : int
        Strings begun so far.

    Examples
    --------
    >>> import numpy as np
    >>> s = ContinualReberStream(np.random.default_rng(0))
    >>> x, y = s.take(5)
    >>> x.shape, y.shape
    ((5, 7), (5, 7))
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = _check_rng(rng)
        self.t = 0
        self.strings = 0
        self._bits: List[int] = []
        self._bittext = b""            # _bits as b'0'/b'1' characters
        self._bit = 0
        self._pend: List[Tuple[str, np.ndarray, np.ndarray]] = []   # the unread strings
        self._pos = 0                  # symbols of _pend[0] already handed out
        self._text: List[str] = []     # symbols handed out since take(record=True) began

    def _coin(self) -> int:
        """One fair random bit (drawn from `rng` in blocks of 256)."""
        if self._bit == len(self._bits):
            self._refill()
        self._bit += 1
        return self._bits[self._bit - 1]

    def _draw(self) -> str:
        """An embedded Reber string: every choice of the automaton is one fair bit (the
        bits of :meth:`_coin`, read here without a call per bit)."""
        bits, i = self._bits, self._bit
        if i == len(bits):
            bits = self._refill()
            i = 0
        c = "TP"[bits[i]]
        i += 1
        out = ["B", c]
        state = 0
        text, walks = self._bittext, _WALKS
        while state != 7:
            if i + _WINDOW <= len(bits):          # up to 8 choices in one look-up
                symbols, k, state = walks[state][text[i:i + _WINDOW]]
                i += k
                out.append(symbols)
                continue
            arcs = _ARCS[state]
            if len(arcs) == 2:
                if i == len(bits):
                    bits = self._refill()
                    text = self._bittext
                    i = 0
                symbol, state = arcs[bits[i]]
                i += 1
            else:
                symbol, state = arcs[0]
            out.append(symbol)
        self._bit = i
        out.append(c)
        out.append("E")
        return "".join(out)

    def _refill(self) -> List[int]:
        """The next block of 256 bits (as :meth:`_coin` draws them)."""
        bits = self._bits = self.rng.integers(0, 2, size=256).tolist()
        self._bittext = bytes(bits).translate(_BIT_CHARS)
        self._bit = 0
        return bits

    def _next_string(self) -> Tuple[str, np.ndarray, np.ndarray]:
        s = self._draw()
        enc = _ENCODED.get(s)
        if enc is None:
            if len(_ENCODED) >= _ENCODED_MAX:
                _ENCODED.clear()
            enc = _ENCODED[s] = _encode(s)
        self.strings += 1
        return s, enc[0], enc[1]

    def take(self, n: int) -> Tuple[np.ndarray, np.ndarray]:
        """The next `n` steps of the stream.

        Parameters
        ----------
        n : int
            Number of steps (>= 1).

        Returns
        -------
        x : ndarray, shape (n, 7)
            One-hot symbols (order ``B T P S X V E``), C-contiguous float64.
        y : ndarray, shape (n, 7)
            Targets: 1 for every symbol that may follow the prefix read so far.
        """
        n = _check_int("n", n, 1)
        xs, ys, text = [], [], self._text
        need = n
        pend, pos = self._pend, self._pos
        while need:
            if not pend:
                pend.append(self._next_string())
                pos = 0
            s, x, y = pend[0]
            ls = len(s)
            if pos == 0 and ls <= need:           # a whole string
                xs.append(x)
                ys.append(y)
                text.append(s)
                need -= ls
                pend.pop()
                continue
            k = min(need, ls - pos)
            xs.append(x[pos:pos + k])
            ys.append(y[pos:pos + k])
            text.append(s[pos:pos + k])
            pos += k
            need -= k
            if pos == ls:
                pend.pop()
                pos = 0
        self._pos = pos
        self.t += n
        if len(xs) == 1:
            return np.ascontiguousarray(xs[0]).copy(), np.ascontiguousarray(ys[0]).copy()
        return np.concatenate(xs), np.concatenate(ys)

    def take_string(self) -> Tuple[str, np.ndarray, np.ndarray]:
        """The rest of the current string (a whole string at a string boundary).

        Returns
        -------
        s : str
            Its symbols.
        x, y : ndarray, shape (len(s), 7)
            As in :meth:`take`.
        """
        if not self._pend:
            self._pend.append(self._next_string())
            self._pos = 0
        s = self._pend[0][0][self._pos:]
        x, y = self.take(len(s))
        return s, x, y

    def text(self, clear: bool = True) -> str:
        """The symbols handed out since the last call with ``clear=True`` (or the start).

        Parameters
        ----------
        clear : bool
            Forget them afterwards (long streams: call it now and then, or the record
            grows with the stream).

        Returns
        -------
        str
        """
        out = "".join(self._text)
        if clear:
            self._text = []
        return out


class ContinualReberTask(Task):
    """Pieces of the continual embedded Reber stream (7 inputs, 7 outputs).

    Each example is a fresh stream of `length` symbols (so it starts with a B); every step
    has a target (the legal next symbols). For the protocol of one unbroken stream use
    `ContinualReberStream` directly.

    Parameters
    ----------
    length : int, default 1000
        Steps per example.

    Notes
    -----
    ``info`` holds ``symbols`` (the stream piece as a string).
    """

    name = "cerg"
    n_in = 7
    n_out = 7

    def __init__(self, length: int = 1000) -> None:
        super().__init__()
        self.length = _check_int("length", length, 1)
        self.params = {"length": self.length}

    def sample(self, rng: np.random.Generator) -> Example:
        stream = ContinualReberStream(_check_rng(rng))
        x, y = stream.take(self.length)
        return Example(x, y, np.ones(self.length, dtype=bool), {"symbols": stream.text()})

    def correct(self, y_hat: np.ndarray, ex: Example) -> bool:
        """True if at every step every output is within 0.49 of its target (NaN: wrong)."""
        y_hat = self._check_output(y_hat, ex)
        return first_error(y_hat, ex.y) < 0
