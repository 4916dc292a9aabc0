"""The explicit state of a net between two time steps (:class:`State`)."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["State"]

#: (n_in, n_blocks, block_size, output_gate): what a state's layout depends on; a net
#: using an option of the LSTM family adds (forget_gate, peepholes, sources)
StateShape = Tuple[Any, ...]


def _family(shape: StateShape) -> tuple[bool, bool, str]:
    """(forget_gate, peepholes, sources) of ``shape`` (the 1997 cell for 4 entries)."""
    if len(shape) == 7:
        return bool(shape[4]), bool(shape[5]), str(shape[6])
    return False, False, "full"


def _sizes(shape: StateShape) -> tuple[int, int, int, int]:
    """(C, nz, B, length) of a state of ``shape``: z, s, dS_c, dS_in, then dS_phi with a
    forget gate and the peephole traces dS_in_P, dS_phi_P (C, S each)."""
    I, B, S, output_gate = shape[:4]
    forget_gate, peepholes, sources = _family(shape)
    C = B * S
    n_gates = (2 if output_gate else 1) + (1 if forget_gate else 0)
    nz = 1 + I + C + (n_gates * B if sources == "full" else 0)
    n = nz + C + (3 if forget_gate else 2) * C * nz
    if peepholes:
        n += C * S * (2 if forget_gate else 1)
    return C, nz, B, n


class State:
    """Where a net stands between two time steps of a sequence.

    A state holds everything the next step reads besides the weights: the cell states
    ``s`` and the previous step's activations (cell outputs ``y_c``, gates ``y_in`` and
    ``y_out``), and the traces ``dS_c``, ``dS_in`` of the truncated gradient (which only
    learning reads and writes).  It is a value: the calls that take one never change
    it, the calls that return one return a new object.  Copy it with :meth:`copy` (or
    :func:`copy.copy`), compare with ``==`` (every value equal), pickle it.

    Get one from :meth:`fastlstm.LSTM.initial_state` (all zero: a sequence start), from
    ``forward(..., return_state=True)``, ``train_sequence(..., return_state=True)`` or
    :attr:`fastlstm.Stream.state`.  A state fits every net, compiled or oracle, with the
    same ``n_in``, ``n_blocks``, ``block_size``, output gates and dtype.

    Parameters
    ----------
    shape : tuple (n_in, n_blocks, block_size, output_gate)
        The architecture the state belongs to.
    data : ndarray, 1-d, float64 or float32
        The values in the kernels' order: z (nz: 1, the last input, y_c, y_in, y_out),
        s (C), dS_c (C, nz), dS_in (C, nz).  Copied.
    """

    __slots__ = ("_shape", "_data")

    def __init__(self, shape: StateShape, data: NDArray[np.floating[Any]]) -> None:
        try:
            I, B, S, og = shape[:4]
            if len(shape) not in (4, 7):
                raise ValueError
            family = tuple(shape[4:])
        except (TypeError, ValueError):
            raise TypeError(f"shape: expected (n_in, n_blocks, block_size, output_gate"
                            f"[, forget_gate, peepholes, sources]), got {shape!r}") from None
        sh: StateShape = (int(I), int(B), int(S), bool(og))
        if family:
            if family[2] not in ("full", "cells"):
                raise ValueError(f"shape: sources must be 'full' or 'cells', got "
                                 f"{family[2]!r}")
            sh += (bool(family[0]), bool(family[1]), str(family[2]))
        if min(sh[:3]) < 1:
            raise ValueError(f"shape: sizes must be >= 1, got {shape!r}")
        arr = np.asarray(data)
        if arr.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise TypeError(f"data: expected float64 or float32, got {arr.dtype}")
        n = _sizes(sh)[3]
        if arr.shape != (n,):
            raise ValueError(f"data: expected shape ({n},) for shape {sh}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("data: contains NaN or infinite values")
        self._shape = sh
        self._data = np.array(arr, copy=True, order="C")

    # ----------------------------------------------------------------- views

    def _part(self, start: int, stop: int, rows: Optional[int] = None
              ) -> NDArray[np.floating[Any]]:
        v = self._data[start:stop]
        if rows is not None:
            v = v.reshape(rows, -1)
        v = v.view()
        v.flags.writeable = False
        return v

    @property
    def shape(self) -> StateShape:
        """(n_in, n_blocks, block_size, output_gate) of the net the state belongs to."""
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """float64 or float32."""
        return self._data.dtype

    @property
    def data(self) -> NDArray[np.floating[Any]]:
        """All values in the kernels' order (read-only view)."""
        return self._part(0, self._data.size)

    @property
    def s(self) -> NDArray[np.floating[Any]]:
        """Cell states s_c, shape (C,) (read-only view)."""
        C, nz, _, _ = _sizes(self._shape)
        return self._part(nz, nz + C)

    @property
    def y_c(self) -> NDArray[np.floating[Any]]:
        """Cell outputs y_c of the last step, shape (C,) (read-only view)."""
        C, _, _, _ = _sizes(self._shape)
        I = self._shape[0]
        return self._part(1 + I, 1 + I + C)

    @property
    def y_in(self) -> NDArray[np.floating[Any]]:
        """Input-gate activations of the last step, shape (B,) (read-only view)."""
        C, _, B, _ = _sizes(self._shape)
        I = self._shape[0]
        if _family(self._shape)[2] != "full":
            raise ValueError("y_in: a net with sources='cells' keeps no gate activations "
                             "in its state")
        return self._part(1 + I + C, 1 + I + C + B)

    @property
    def y_out(self) -> Optional[NDArray[np.floating[Any]]]:
        """Output-gate activations of the last step, shape (B,) (read-only view); None
        without output gates."""
        if not self._shape[3]:
            return None
        C, _, B, _ = _sizes(self._shape)
        I = self._shape[0]
        if _family(self._shape)[2] != "full":
            raise ValueError("y_out: a net with sources='cells' keeps no gate activations "
                             "in its state")
        return self._part(1 + I + C + B, 1 + I + C + 2 * B)

    @property
    def dS_c(self) -> NDArray[np.floating[Any]]:
        """Trace ds_c / dW_c[c, :], shape (C, nz) (read-only view)."""
        C, nz, _, _ = _sizes(self._shape)
        return self._part(nz + C, nz + C + C * nz, C)

    @property
    def dS_in(self) -> NDArray[np.floating[Any]]:
        """Trace ds_c / dW_in[block(c), :], shape (C, nz) (read-only view)."""
        C, nz, _, _ = _sizes(self._shape)
        return self._part(nz + C + C * nz, nz + C + 2 * C * nz, C)

    # ----------------------------------------------------------------- value semantics

    def copy(self) -> State:
        """An independent copy."""
        return State(self._shape, self._data)

    def __copy__(self) -> State:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> State:
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (State, (self._shape, self._data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return (self._shape == other._shape and self._data.dtype == other._data.dtype
                and bool(np.array_equal(self._data, other._data)))

    __hash__ = None  # type: ignore[assignment]   # mutable arrays inside: not hashable

    def __repr__(self) -> str:
        I, B, S, og = self._shape[:4]
        family = ""
        if len(self._shape) == 7:
            fg, peep, src = _family(self._shape)
            family = f", forget_gate={fg}, peepholes={peep}, sources={src!r}"
        return (f"fastlstm.State(n_in={I}, n_blocks={B}, block_size={S}, "
                f"output_gate={og}{family}, dtype={self._data.dtype.name!r})")
