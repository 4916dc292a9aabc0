"""What the compiled net and the numpy oracle share: options, layout, masks,
initialisation, argument checking, streaming and files.

A backend subclass supplies five methods over the flat buffers: ``_new_state``,
``_forward_kernel``, ``_train_kernel``, ``_step_kernel`` and ``_apply_kernel``.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import secrets
import stat
import threading
import warnings
import types
import weakref
import zipfile
from typing import (Any, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple,
                    Type, TypeVar, Union, overload)

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _core, _threads
from ._state import State, StateShape

__all__ = ["NetBase", "Stream", "State", "FORMAT_VERSION"]

#: an array of the net's dtype (float64 or float32)
FloatArray = NDArray[Any]
#: what ``forward`` takes as a state: one State, or one per sequence of a batch
StateArg = Union[State, Sequence[State]]
#: a file name
PathLike = Union[str, "os.PathLike[str]"]
_Net = TypeVar("_Net", bound="NetBase")

#: version of the files written by ``save`` for a net using an option of the LSTM family
#: (forget gate, peepholes, "cells" sources, softmax outputs); a 1997 net's file is
#: still written as version 1, byte for byte as before, so older readers keep reading it
FORMAT_VERSION = 2
READ_VERSIONS = (1, 2)
GROUPS = ("gates", "cells", "outputs")
# the paper's squashing functions; "h1"/"id" as g and "g2"/"g1" as h test the swapped
# reading of the caption of the paper's Table 10 (docs/model.md#squashing-functions)
G_CHOICES = ("g2", "g1", "tanh", "h1", "id")
H_CHOICES = ("h1", "id", "tanh", "g2", "g1")
OUT_CHOICES = ("logistic", "linear", "softmax")
SOURCES = ("full", "cells")
# the options of the LSTM family and their values for the 1997 cell
FAMILY_DEFAULTS = {"forget_gate": False, "forget_gate_bias": None, "peepholes": False,
                   "sources": "full"}
SCHEDULES = ("step", "sequence")
DTYPES = {"float64": np.float64, "float32": np.float32}
#: largest net accepted: parameters plus state (elements); building the largest float64
#: net peaks at about 6 GB (docs/reliability.md, "Memory of the largest net")
MAX_ELEMENTS = 1 << 28
MAX_DIM = 1 << 24
# step modes, the same integers as csrc/fastlstm.h
MODE_FORWARD, MODE_LEARN, MODE_ACCUMULATE = 0, 1, 2


# --------------------------------------------------------------------------- checking


def _check_int(value: Any, name: str, minimum: int = 1,
               maximum: int = MAX_DIM) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum or value > maximum:
        raise ValueError(f"{name}: must be in [{minimum}, {maximum}], got {value}")
    return value


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def _check_choice(value: Any, name: str, choices: Tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {choices}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name}: unknown option {value!r}; choose one of {choices}")
    return value


def _as_path(path: Any) -> Any:
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path: expected str, bytes or os.PathLike, "
                        f"got {type(path).__name__}") from None
    if ("\0" if isinstance(path, str) else b"\0") in path:
        raise ValueError(f"path: {path!r} contains a null character")
    return path


def _check_real(value: Any, name: str, minimum: Optional[float] = None) -> float:
    if type(value) is not float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"{name}: must be finite, got a number too large for a "
                             f"float") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return value


def _check_bias(bias: Any) -> Tuple[str, ...]:
    """``bias`` -> sorted tuple of groups with bias weights."""
    if bias is True:
        return GROUPS
    if bias is False or bias is None:
        return ()
    if isinstance(bias, str):
        bias = (bias,)
    try:
        groups = tuple(bias)
    except TypeError:
        raise TypeError(f"bias: expected True, False or groups from {GROUPS}, "
                        f"got {bias!r}") from None
    for grp in groups:
        if not isinstance(grp, str) or grp not in GROUPS:
            raise ValueError(f"bias: unknown group {grp!r}; choose from {GROUPS}")
    return tuple(grp for grp in GROUPS if grp in groups)


def _check_dtype(dtype: Any) -> np.dtype[Any]:
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype: must be 'float64' or 'float32', got {dtype!r}")
        return np.dtype(DTYPES[dtype])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: must be 'float64' or 'float32', got {dtype!r}") from None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype: must be 'float64' or 'float32', got {dt}")
    return dt


def _numeric_array(a: Any, name: str) -> NDArray[Any]:
    """``a`` as an ndarray of a real numeric kind (bool, int, uint, float)."""
    if a is None:
        raise TypeError(f"{name}: expected an array, got None")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name}: cannot be read as an array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    return arr


def _check_gate_bias(value: Any, name: str, B: int) -> Optional[List[float]]:
    if value is None:
        return None
    arr = _numeric_array(value, name)
    if arr.ndim == 0:
        arr = np.full(B, float(arr))
    if arr.shape != (B,):
        raise ValueError(f"{name}: expected one value per block, shape ({B},), "
                         f"got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: values must be finite")
    return [float(v) for v in arr]


def _check_family(forget_gate, forget_gate_bias, peepholes, sources, B, bias):
    """Check the options of the LSTM family; return them normalised."""
    forget_gate = _check_bool(forget_gate, "forget_gate")
    peepholes = _check_bool(peepholes, "peepholes")
    sources = _check_choice(sources, "sources", SOURCES)
    forget_gate_bias = _check_gate_bias(forget_gate_bias, "forget_gate_bias", B)
    if forget_gate_bias is not None:
        if not forget_gate:
            raise ValueError("forget_gate_bias: the net has no forget gate "
                             "(forget_gate=False)")
        if "gates" not in bias:
            raise ValueError(f"forget_gate_bias: the gates have no bias weights "
                             f"(bias={bias})")
    return forget_gate, forget_gate_bias, peepholes, sources


# --------------------------------------------------------------------------- layout


def layout(I: int, K: int, B: int, S: int, output_gate: bool, forget_gate: bool = False,
           peepholes: bool = False, sources: str = "full") -> Dict[str, Any]:
    """Shapes and offsets of the parameter block and the state and work lengths.

    The block holds, in this order, W_in (B, nz), W_out (B, nz) (with output gates),
    W_phi (B, nz) (with forget gates), W_c (C, nz), W_k (K, 1+I+C), then with peepholes
    P_in (C,), P_phi (C,) (with forget gates) and P_out (C,) (with output gates).  The
    hidden source vector z(t) is [1, x(t), y_c(t-1), y_in(t-1), y_out(t-1), y_phi(t-1)]
    with ``sources="full"`` (a gate kind that is absent is left out) and
    [1, x(t), y_c(t-1)] with ``sources="cells"``.  With the default options this is the
    1997 layout.

    Parameters
    ----------
    I, K, B, S : int
        Inputs, outputs, blocks and cells per block.
    output_gate, forget_gate, peepholes : bool
        Which gates and peephole weights the net has.
    sources : {"full", "cells"}
        What the gates and cell inputs read.

    Returns
    -------
    dict
        ``C``, ``nz``, ``nu``, ``shapes`` and ``offsets`` (by parameter name, in block
        order), ``n_params``, ``state_len`` and ``work_len`` (``docs/model.md``).
    """
    C = B * S
    n_gates = 1 + int(bool(output_gate)) + int(bool(forget_gate))
    nz = 1 + I + C + (n_gates * B if sources == "full" else 0)
    nu = 1 + I + C
    shapes = {"W_in": (B, nz)}
    if output_gate:
        shapes["W_out"] = (B, nz)
    if forget_gate:
        shapes["W_phi"] = (B, nz)
    shapes["W_c"] = (C, nz)
    shapes["W_k"] = (K, nu)
    if peepholes:
        shapes["P_in"] = (C,)
        if forget_gate:
            shapes["P_phi"] = (C,)
        if output_gate:
            shapes["P_out"] = (C,)
    offsets, pos = {}, 0
    for name, shp in shapes.items():
        offsets[name] = pos
        pos += math.prod(shp)
    # state: z, s, dS_c, dS_in (1997); dS_phi (C, nz) with a forget gate; the peephole
    # traces dS_in_P (C, S) and, with a forget gate, dS_phi_P (C, S)
    state_len = nz + C + 2 * C * nz
    if forget_gate:
        state_len += C * nz
    if peepholes:
        state_len += C * S * (2 if forget_gate else 1)
    work_len = nu + 3 * B + 5 * C + 2 * K + (1 + int(bool(output_gate))) * B + C + K + I
    if forget_gate:
        work_len += 3 * B + C          # y_phi, s(t-1), a mask-flag row of W_phi, spare
    elif peepholes:
        work_len += C                  # s(t-1)
    return dict(C=C, nz=nz, nu=nu, shapes=shapes, offsets=offsets, n_params=pos,
                state_len=state_len, work_len=work_len)



def _uses_family(config):
    """True if ``config`` asks for an option of the LSTM family (beyond the 1997 cell)."""
    return (config.get("out") == "softmax"
            or any(k in config and config[k] != v for k, v in FAMILY_DEFAULTS.items()))


def _file_meta(config):
    """The JSON record of a saved net: version 1 without the family's options (the
    file a 1997 net has always had), else version ``FORMAT_VERSION``."""
    if _uses_family(config):
        return json.dumps({"format": "fastlstm", "version": FORMAT_VERSION,
                           "config": config})
    plain = {k: v for k, v in config.items() if k not in FAMILY_DEFAULTS}
    return json.dumps({"format": "fastlstm", "version": 1, "config": plain})


# The context of NetBase._transaction, written in Cython (see _core.Transaction) so that
# an interrupt can neither skip the restore nor leave the lock held.
_Transaction = _core.Transaction

# every net, for the fork handler below
_NETS: "weakref.WeakSet[NetBase]" = weakref.WeakSet()


class _Views(dict):
    """``net.params`` / ``net.masks``: a dict that cannot be changed (its arrays can, when
    they are writable views); an assignment raises TypeError saying what to do."""

    __slots__ = ("_what", "_hint")

    def __init__(self, views, what, hint):
        super().__init__(views)
        self._what, self._hint = what, hint

    def _refuse(self, name="..."):
        raise TypeError(f"net.{self._what} cannot be changed ({self._hint.format(name=name)})")

    def __setitem__(self, name, value):
        if value is not dict.get(self, name):   # ``params[n] += d`` writes in place
            self._refuse(name)

    def __delitem__(self, name):
        self._refuse(name)

    def _refuse_all(self, *args, **kwargs):
        self._refuse()

    clear = pop = popitem = setdefault = update = __ior__ = _refuse_all

    def __reduce__(self):
        return dict, (dict(self),)


def _after_fork_in_child():
    """A fork()ed child has only the thread that forked: a net that another thread was
    using at the fork would keep its lock held forever.  Each net gets a fresh lock, and
    one caught inside a transaction gets back its parameters from before that call."""
    for net in list(_NETS):
        net._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class NetBase:
    """Common part of :class:`fastlstm.LSTM` and :class:`fastlstm.oracle.LSTM`.

    See :class:`fastlstm.LSTM` for the parameters.
    """

    backend: str = "base"
    #: the constructor's arguments, checked (JSON-ready; what save writes)
    config: Dict[str, Any]
    #: n_in, n_out, n_blocks, block_size, cells B * S, len(z(t)), len(u(t)) = 1 + I + C
    I: int
    K: int
    B: int
    S: int
    C: int
    nz: int
    nu: int
    dtype: np.dtype[Any]
    params: Mapping[str, FloatArray]
    masks: Mapping[str, FloatArray]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # each net class gets this __init__ under its own name, so that Python's own
        # errors for a missing or unknown argument name the class the user called
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            return
        f = NetBase.__init__
        qualname = f"{cls.__qualname__}.__init__"
        code = f.__code__
        if hasattr(code, "co_qualname"):                 # Python >= 3.11
            code = code.replace(co_qualname=qualname)
        init = types.FunctionType(code, f.__globals__, "__init__", f.__defaults__,
                                  f.__closure__)
        init.__kwdefaults__ = f.__kwdefaults__
        init.__annotations__ = f.__annotations__
        init.__doc__, init.__qualname__, init.__module__ = f.__doc__, qualname, cls.__module__
        cls.__init__ = init                              # type: ignore[misc]

    def __init__(self, n_in: int, n_out: int, n_blocks: int, block_size: int = 1, *,
                 output_gate: bool = True, recurrent: bool = True,
                 input_to_output: bool = False,
                 bias: Union[bool, str, Iterable[str], None] = True, g: str = "g2",
                 h: str = "h1", out: str = "logistic", init_range: float = 0.1,
                 in_gate_bias: Optional[ArrayLike] = None,
                 out_gate_bias: Optional[ArrayLike] = None, forget_gate: bool = False,
                 forget_gate_bias: Optional[ArrayLike] = None, peepholes: bool = False,
                 sources: str = "full", dtype: DTypeLike = "float64",
                 seed: Union[int, np.random.Generator, None] = None) -> None:
        I = _check_int(n_in, "n_in")
        K = _check_int(n_out, "n_out")
        B = _check_int(n_blocks, "n_blocks")
        S = _check_int(block_size, "block_size")
        output_gate = _check_bool(output_gate, "output_gate")
        recurrent = _check_bool(recurrent, "recurrent")
        input_to_output = _check_bool(input_to_output, "input_to_output")
        bias = _check_bias(bias)
        g = _check_choice(g, "g", G_CHOICES)
        h = _check_choice(h, "h", H_CHOICES)
        out = _check_choice(out, "out", OUT_CHOICES)
        init_range = _check_real(init_range, "init_range", minimum=0.0)
        in_gate_bias = _check_gate_bias(in_gate_bias, "in_gate_bias", B)
        out_gate_bias = _check_gate_bias(out_gate_bias, "out_gate_bias", B)
        if out_gate_bias is not None and not output_gate:
            raise ValueError("out_gate_bias: the net has no output gate (output_gate=False)")
        if (in_gate_bias is not None or out_gate_bias is not None) and "gates" not in bias:
            raise ValueError("in_gate_bias/out_gate_bias: the gates have no bias weights "
                             f"(bias={bias})")
        forget_gate, forget_gate_bias, peepholes, sources = _check_family(
            forget_gate, forget_gate_bias, peepholes, sources, B, bias)
        if out == "softmax" and K < 2:
            raise ValueError("out: 'softmax' needs n_out >= 2 (a softmax over one unit is "
                             "the constant 1)")
        family = dict(forget_gate=forget_gate, forget_gate_bias=forget_gate_bias,
                      peepholes=peepholes, sources=sources)
        self._check_backend_supports(family, out)
        dt = _check_dtype(dtype)
        fmax = float(np.finfo(dt).max)
        if init_range > fmax / 2:
            raise ValueError(f"init_range: must be <= {fmax / 2:g} for {dt.name}, "
                             f"got {init_range}")
        for nm, v in (("in_gate_bias", in_gate_bias), ("out_gate_bias", out_gate_bias),
                      ("forget_gate_bias", forget_gate_bias)):
            if v is not None and max(abs(b) for b in v) > fmax:
                raise ValueError(f"{nm}: values must be finite in {dt.name}")
        if B * S > MAX_DIM:
            raise ValueError(f"n_blocks * block_size: must be <= {MAX_DIM}, got {B * S}")
        lay = layout(I, K, B, S, output_gate, forget_gate, peepholes, sources)
        if lay["n_params"] + lay["state_len"] > MAX_ELEMENTS:
            raise ValueError(f"n_blocks/block_size/n_in/n_out: net too large "
                             f"({lay['n_params']} parameters, {lay['state_len']} state "
                             f"elements; limit {MAX_ELEMENTS} in all)")
        if seed is not None and not isinstance(seed, np.random.Generator):
            if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
                raise TypeError(f"seed: expected None, an integer or a numpy Generator, "
                                f"got {type(seed).__name__}")
            if seed < 0:
                raise ValueError(f"seed: must be >= 0, got {seed}")
        rng = np.random.default_rng(seed)

        self.config = dict(n_in=I, n_out=K, n_blocks=B, block_size=S,
                           output_gate=output_gate, recurrent=recurrent,
                           input_to_output=input_to_output, bias=list(bias), g=g, h=h,
                           out=out, init_range=init_range, in_gate_bias=in_gate_bias,
                           out_gate_bias=out_gate_bias, **family, dtype=dt.name)
        self.I, self.K, self.B, self.S = I, K, B, S
        self.C, self.nz, self.nu = lay["C"], lay["nz"], lay["nu"]
        self.dtype = dt
        self._layout = lay
        self._theta = np.zeros(lay["n_params"], dtype=dt)      # the parameter block
        self._mask = np.zeros(lay["n_params"], dtype=dt)       # its 0/1 mask
        self._backup = np.empty_like(self._theta)              # for transactional calls
        self._dW = np.zeros_like(self._theta)                  # "sequence" accumulator
        self._lock = threading.Lock()
        self._busy = np.zeros(1, np.uint8)   # 1 while a transaction may change _theta
        self._params_w = {n: self._view(self._theta, n) for n in lay["shapes"]}
        self._masks_w = {n: self._view(self._mask, n) for n in lay["shapes"]}
        masks = {}
        for n, m in self._masks_w.items():
            ro = m.view()
            ro.flags.writeable = False
            masks[n] = ro
        self._config = json.loads(json.dumps(self.config))   # what save writes
        self._params_ro = _Views(self._params_w, "params", "write into the view: "
                                 "net.params[{name!r}][...] = values")
        self._masks_ro = _Views(masks, "masks", "use net.set_mask({name!r}, mask)")
        _NETS.add(self)
        self._init_masks(bias, recurrent, input_to_output, output_gate)
        self._init_weights(rng, init_range, in_gate_bias, out_gate_bias, forget_gate_bias)
        self._init_backend()

    # ------------------------------------------------------------------- structure

    @property
    def params(self):
        """Read-only mapping name -> writable view into the parameter block.

        ``net.params["W_c"][...] = w`` writes the weights; ``net.params["W_c"] = w``
        raises TypeError.  Entries under a 0 mask must stay 0: a call that finds one
        nonzero raises ValueError (and changes nothing).
        """
        return self._params_ro

    @property
    def masks(self):
        """Read-only mapping name -> read-only 0/1 array (change with :meth:`set_mask`)."""
        return self._masks_ro

    def _view(self, flat, name):
        off = self._layout["offsets"][name]
        shape = self._layout["shapes"][name]
        return flat[off:off + math.prod(shape)].reshape(shape)

    #: options of the LSTM family this backend computes (a subset of
    #: ``("forget_gate", "peepholes", "sources", "softmax")``); the others are refused
    _family_options: tuple = ()

    def _check_backend_supports(self, family, out):
        """NotImplementedError if the net asks for a family option this backend lacks."""
        asked = []
        if family["forget_gate"]:
            asked.append(("forget_gate", "forget_gate=True"))
        if family["peepholes"]:
            asked.append(("peepholes", "peepholes=True"))
        if family["sources"] != "full":
            asked.append(("sources", f"sources={family['sources']!r}"))
        if out == "softmax":
            asked.append(("softmax", "out='softmax'"))
        missing = [text for key, text in asked if key not in self._family_options]
        if missing:
            raise NotImplementedError(
                f"{', '.join(missing)}: not implemented in the {self.backend!r} backend "
                f"({type(self).__module__}.{type(self).__name__}) yet; the numpy oracle "
                f"fastlstm.oracle.LSTM (same constructor and methods) computes it")

    def _init_masks(self, bias, recurrent, input_to_output, output_gate):
        I, C = self.I, self.C
        for m in self._masks_w.values():
            m[...] = 1
        gate_names = [n for n in ("W_in", "W_out", "W_phi") if n in self._masks_w]
        if "gates" not in bias:
            for n in gate_names:
                self._masks_w[n][:, 0] = 0
        if "cells" not in bias:
            self._masks_w["W_c"][:, 0] = 0
        if "outputs" not in bias:
            self._masks_w["W_k"][:, 0] = 0
        if not recurrent:                 # columns y_c, y_in, y_out, y_phi of z
            for n in gate_names + ["W_c"]:
                self._masks_w[n][:, 1 + I:] = 0
        if not input_to_output:           # x columns of W_k (topology F)
            self._masks_w["W_k"][:, 1:1 + I] = 0

    def _init_weights(self, rng, init_range, in_gate_bias, out_gate_bias,
                      forget_gate_bias=None):
        w = rng.uniform(-init_range, init_range, size=self._theta.size)
        self._theta[...] = np.where(self._mask != 0, w, 0.0)     # +0, never -0
        if in_gate_bias is not None:
            self.params["W_in"][:, 0] = in_gate_bias
        if out_gate_bias is not None:
            self.params["W_out"][:, 0] = out_gate_bias
        if forget_gate_bias is not None:
            self.params["W_phi"][:, 0] = forget_gate_bias

    def _init_backend(self):
        """Hook for a backend to allocate its buffers."""

    @property
    def n_weights(self) -> int:
        """Number of unmasked (trainable) weights."""
        return int(np.count_nonzero(self._mask))

    @property
    def n_params(self) -> int:
        """Length of the parameter block (masked weights included)."""
        return self._theta.size

    def set_mask(self, name: str, mask: ArrayLike) -> None:
        """Replace the 0/1 mask of parameter ``name``; masked weights are set to 0.

        Parameters
        ----------
        name : {"W_in", "W_out", "W_phi", "W_c", "W_k", "P_in", "P_phi", "P_out"}
            One of the net's parameters (``net.params``).
        mask : array-like of 0/1 (or bool) with the parameter's shape
        """
        if name not in self._masks_w:
            raise ValueError(f"name: unknown parameter {name!r}; choose from "
                             f"{tuple(self._masks_w)}")
        m = _numeric_array(mask, "mask")
        shp = self._masks_w[name].shape
        if m.shape != shp:
            raise ValueError(f"mask: expected shape {shp} for {name}, got {m.shape}")
        if not np.isin(m, (0, 1)).all():
            raise ValueError("mask: values must be 0 or 1")
        with self._lock:
            self._masks_w[name][...] = m
            self._params_w[name][self._masks_w[name] == 0] = 0.0

    def __repr__(self) -> str:
        c = self.config
        return (f"{type(self).__module__}.{type(self).__name__}(n_in={c['n_in']}, "
                f"n_out={c['n_out']}, n_blocks={c['n_blocks']}, "
                f"block_size={c['block_size']}, n_weights={self.n_weights}, "
                f"dtype={c['dtype']!r})")

    # ------------------------------------------------------------------- arguments

    def _as_input(self, a: Any, name: str, cols: int) -> FloatArray:
        ready = (type(a) is np.ndarray and a.dtype == self.dtype and a.ndim == 2
                 and a.flags.c_contiguous)          # fast path: nothing to convert
        arr = a if ready else _numeric_array(a, name)
        if arr.ndim != 2:
            raise ValueError(f"{name}: expected a 2-d array (T, {cols}), got shape "
                             f"{arr.shape}")
        if arr.shape[1] != cols:
            raise ValueError(f"{name}: expected {cols} columns (T, {cols}), got shape "
                             f"{arr.shape}")
        if arr.shape[0] < 1:
            raise ValueError(f"{name}: the sequence is empty (T = 0)")
        if not ready:
            with np.errstate(over="ignore", invalid="ignore"):
                arr = np.ascontiguousarray(arr, dtype=self.dtype)
        return arr

    def _as_x(self, x: Any) -> FloatArray:
        if self._ready_sequence(x, None, None):
            return x
        return self._convert_x(x)

    def _convert_x(self, x: Any) -> FloatArray:
        """The slow path of _as_x: convert x or explain what is wrong with it."""
        x = self._as_input(x, "x", self.I)
        if not self._all_finite(x):
            raise ValueError(f"x: contains NaN or infinite values (as {self.dtype})")
        return x

    def _as_mask(self, mask: Any, T: int) -> Optional[NDArray[np.uint8]]:
        """None (a target at every step) or a C-contiguous uint8 array (T,) of 0/1."""
        if mask is None:
            return None
        if (type(mask) is np.ndarray and mask.dtype == np.bool_ and mask.shape == (T,)
                and mask.flags.c_contiguous):
            return mask.view(np.uint8)               # fast path: no copy
        m = _numeric_array(mask, "mask")
        if m.shape != (T,):
            raise ValueError(f"mask: expected shape ({T},) to match x, got {m.shape}")
        if m.dtype == np.bool_:
            return np.ascontiguousarray(m).view(np.uint8)
        if m.dtype.kind == "f" or not ((m == 0) | (m == 1)).all():
            raise ValueError("mask: expected booleans (or 0/1 integers)")
        return np.ascontiguousarray(m, dtype=np.uint8)

    def _as_xy(self, x: Any, y: Any, mask: Any
               ) -> Tuple[FloatArray, FloatArray, Optional[NDArray[Any]]]:
        if self._ready_sequence(x, y, mask):     # fast path: nothing to convert or report
            return x, y, mask                    # (the kernels read a bool mask as uint8)
        x = self._convert_x(x)
        y = self._as_input(y, "y", self.K)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y: expected {x.shape[0]} rows to match x {x.shape}, "
                             f"got {y.shape}")
        tmask = self._as_mask(mask, x.shape[0])
        if not self._targets_finite(y, tmask):
            raise ValueError(f"y: contains NaN or infinite values at target steps "
                             f"(as {self.dtype})")
        return x, y, tmask

    # numpy versions; the compiled backend overrides them with C loops
    def _ready_sequence(self, x, y, mask):
        """True if x, y (or None) and mask need neither conversion nor an error."""
        return False

    @staticmethod
    def _all_finite(a):
        return bool(np.isfinite(a).all())

    @staticmethod
    def _targets_finite(y, tmask):
        rows = y if tmask is None else y[tmask.astype(bool)]
        return bool(np.isfinite(rows).all())

    @staticmethod
    def _copy_into(dst, src):
        np.copyto(dst, src)

    def _transaction(self, *extra):
        """Hold the net's lock, refuse nonzero masked weights (ValueError) and, if the
        body raises anything (FloatingPointError, KeyboardInterrupt ...), put the
        parameters and each ``live`` array of the ``(live, saved)`` pairs ``extra`` back
        as they were on entry (then re-raise)."""
        return _Transaction(self._lock, ((self._theta, self._backup),) + extra,
                            self._theta, self._mask, self._masked_error, self._busy)

    def _guard(self, *extra):
        """Like :meth:`_transaction` for calls that do not change the parameters."""
        return _Transaction(self._lock, extra, self._theta, self._mask, self._masked_error)

    def _masked_error(self, index):
        """Raise the ValueError for the nonzero masked weight at flat ``index``."""
        for name, off in self._layout["offsets"].items():
            r, c = self._layout["shapes"][name]
            if off <= index < off + r * c:
                i, j = divmod(index - off, c)
                raise ValueError(
                    f"params: {name}[{i}, {j}] = {float(self._theta[index])!r} is under a 0 mask; "
                    f"masked weights must stay 0 (nothing was computed)")
        raise ValueError("params: a weight under a 0 mask is nonzero")

    def _reset_after_fork(self):
        """In a fork()ed child: a fresh lock (see _after_fork_in_child)."""
        if self._lock.locked():
            # the fork caught a call in another thread; if it was a transaction the
            # backup holds the parameters from before it (a forward pass changes none)
            if self._busy[0]:
                self._copy_into(self._theta, self._backup)
        self._lock = threading.Lock()
        self._busy[0] = 0
        self._lock_changed()

    def _lock_changed(self):
        """Hook for a backend that keeps references to the lock."""

    @staticmethod
    def _as_schedule(schedule: Any) -> str:
        return _check_choice(schedule, "schedule", SCHEDULES)

    # ------------------------------------------------------------------- public API

    @overload
    def forward(self, x: ArrayLike, state: Optional[StateArg] = None,
                return_state: Literal[False] = False, *,
                lengths: Optional[ArrayLike] = None,
                n_threads: Optional[int] = None) -> FloatArray: ...

    @overload
    def forward(self, x: ArrayLike, state: Optional[StateArg],
                return_state: Literal[True], *, lengths: Optional[ArrayLike] = None,
                n_threads: Optional[int] = None) -> Tuple[FloatArray, Any]: ...

    @overload
    def forward(self, x: ArrayLike, state: Optional[StateArg] = None, *,
                return_state: Literal[True], lengths: Optional[ArrayLike] = None,
                n_threads: Optional[int] = None) -> Tuple[FloatArray, Any]: ...

    @overload
    def forward(self, x: ArrayLike, state: Optional[StateArg] = None,
                return_state: bool = False, *, lengths: Optional[ArrayLike] = None,
                n_threads: Optional[int] = None
                ) -> Union[FloatArray, Tuple[FloatArray, Any]]: ...

    def forward(self, x: ArrayLike, state: Optional[StateArg] = None,
                return_state: bool = False, *, lengths: Optional[ArrayLike] = None,
                n_threads: Optional[int] = None) -> Any:
        """Outputs of the net for one sequence, or for a batch of sequences.

        Nothing is learned and the weights are not changed.  Feeding a sequence in
        pieces, each call taking the state the previous one returned, gives exactly
        (bit for bit) the outputs of one call.

        Parameters
        ----------
        x : array-like, shape (T, n_in) or (N, T, n_in)
            Inputs of one sequence, or of N sequences (a batch); converted to the net's
            dtype (a C-contiguous copy if needed).  Must be finite everywhere, padding
            included.
        state : State, or sequence of N States for a batch, optional
            Where the sequence(s) start (see :meth:`initial_state`); default: a sequence
            start (all zero).  Not changed by the call.
        return_state : bool, default False
            Also return the state after the last step (of each sequence).
        lengths : array-like of N integers in [0, T], optional
            Batch only: sequence n has ``lengths[n]`` steps (ragged batches); its outputs
            at steps ``t >= lengths[n]`` are 0 and its state is the one after its last
            step.  Default: T each.
        n_threads : int in [1, 64], optional
            Batch only (ignored for one sequence): threads of the compiled kernel, each
            running a contiguous range of the sequences (the GIL is released).  Default:
            :func:`fastlstm.get_num_threads`.  The outputs are bitwise the same for every
            thread count, and equal to N calls on the single sequences.  The oracle runs
            the sequences one after the other.

        Returns
        -------
        y : ndarray, shape (T, n_out) or (N, T, n_out)
            The output-unit activations y_k(t).
        state : State, or list of N States for a batch
            Only with ``return_state=True``: the state after the last step.  A forward
            pass runs no traces: they are returned as they were given (zero from a
            sequence start).

        Raises
        ------
        FloatingPointError
            If an output or a cell state becomes NaN or infinite.
        """
        if state is None and not return_state and lengths is None and n_threads is None \
                and self._ready_sequence(x, None, None):
            with self._guard():              # fast path: one sequence, nothing to convert
                return self._forward_kernel(x)
        arr = _numeric_array(x, "x")
        return_state = _check_bool(return_state, "return_state")
        if arr.ndim == 3:
            return self._forward_batch(arr, state, return_state, lengths, n_threads)
        if arr.ndim != 2:
            raise ValueError(f"x: expected a 2-d array (T, {self.I}) or a batch "
                             f"(N, T, {self.I}), got shape {arr.shape}")
        if lengths is not None:
            raise ValueError("lengths: only for a batch x (N, T, n_in); x has shape "
                             f"{arr.shape}")
        if n_threads is not None:
            _threads.resolve(n_threads)
        x = self._as_x(arr)
        if state is None and not return_state:
            with self._guard():
                return self._forward_kernel(x)
        flat = self._state_data(state, "state")
        bstate = self._state_to_backend(flat)
        with self._guard():
            y = self._run_kernel(bstate, x, None, None, 0.0, MODE_FORWARD, self._dW)
        if not return_state:
            return y
        return y, State(self._state_shape(), self._state_from_backend(bstate))

    def _forward_batch(self, x: NDArray[Any], state: Optional[StateArg], return_state: bool,
                       lengths: Optional[ArrayLike], n_threads: Optional[int]) -> Any:
        """forward over x (N, T, I)."""
        x = self._as_batch(x, "x", self.I)
        if not self._all_finite(x):
            raise ValueError(f"x: contains NaN or infinite values (as {self.dtype})")
        N, T = x.shape[:2]
        lens = None
        if lengths is not None:
            m = _numeric_array(lengths, "lengths")
            if m.shape != (N,):
                raise ValueError(f"lengths: expected shape ({N},), one per sequence of x "
                                 f"{x.shape}, got {m.shape}")
            if m.dtype.kind == "f" or m.dtype.kind == "b":
                raise TypeError(f"lengths: expected integers, got dtype {m.dtype}")
            if N and (m.min() < 0 or m.max() > T):
                raise ValueError(f"lengths: every length must be in [0, {T}] (T of x "
                                 f"{x.shape}), got values in [{m.min()}, {m.max()}]")
            lens = np.ascontiguousarray(m, dtype=np.int64)
        threads = _threads.resolve(n_threads)
        nzs = self.nz + self.C                       # z and s: all a forward pass reads
        if state is None:
            flats = None
            zs = np.zeros((N, nzs), self.dtype)
        else:
            if isinstance(state, State) or not isinstance(state, Sequence):
                raise TypeError(f"state: expected a sequence of {N} States for a batch x "
                                f"{x.shape}, got {type(state).__name__}")
            if len(state) != N:
                raise ValueError(f"state: expected {N} States, one per sequence of x "
                                 f"{x.shape}, got {len(state)}")
            for n, st in enumerate(state):
                if not isinstance(st, State):
                    raise TypeError(f"state[{n}]: expected a fastlstm.State, got "
                                    f"{type(st).__name__}")
            flats = [self._state_data(st, f"state[{n}]") for n, st in enumerate(state)]
            zs = np.ascontiguousarray(np.stack([f[:nzs] for f in flats]))
        with self._guard():
            y = self._forward_batch_kernel(x, lens, zs, threads)
        if not return_state:
            return y
        shape = self._state_shape()
        out = []
        for n in range(N):
            flat = (np.zeros(self._layout["state_len"], self.dtype) if flats is None
                    else flats[n])
            flat[:nzs] = zs[n]
            out.append(State(shape, flat))
        return y, out

    @overload
    def train_sequence(self, x: ArrayLike, y: ArrayLike, mask: Optional[ArrayLike] = None,
                       lr: float = 0.1, schedule: str = "step", *,
                       state: Optional[State] = None,
                       return_state: Literal[False] = False) -> FloatArray: ...

    @overload
    def train_sequence(self, x: ArrayLike, y: ArrayLike, mask: Optional[ArrayLike] = None,
                       lr: float = 0.1, schedule: str = "step", *,
                       state: Optional[State] = None,
                       return_state: Literal[True]) -> Tuple[FloatArray, State]: ...

    @overload
    def train_sequence(self, x: ArrayLike, y: ArrayLike, mask: Optional[ArrayLike] = None,
                       lr: float = 0.1, schedule: str = "step", *,
                       state: Optional[State] = None, return_state: bool = False
                       ) -> Union[FloatArray, Tuple[FloatArray, State]]: ...

    def train_sequence(self, x: ArrayLike, y: ArrayLike, mask: Optional[ArrayLike] = None,
                       lr: float = 0.1, schedule: str = "step", *,
                       state: Optional[State] = None, return_state: bool = False) -> Any:
        """On-line truncated-gradient learning on one sequence (``docs/model.md``).

        The state and traces start from zero (a sequence start), or from ``state``.
        The call is transactional: if an activation, state or weight becomes NaN or
        infinite the parameters are restored to their values before the call and
        FloatingPointError is raised; Ctrl-C stops the call within milliseconds, with
        the same restore, and raises KeyboardInterrupt.

        With ``state`` a long sequence can be learned in pieces: with schedule "step",
        feeding the pieces, each call taking the state the previous one returned, gives
        exactly (bit for bit) the outputs, weights and state of one call.  With
        schedule "sequence" each call applies the update summed over its own steps at
        its end, so pieces give the weights of one call only up to when the updates
        are applied; :meth:`stream` (``Stream.feed``, then ``Stream.end``) applies one
        sum over all the pieces.

        Parameters
        ----------
        x : array-like, shape (T, n_in)
            Inputs.
        y : array-like, shape (T, n_out)
            Targets; only the rows where ``mask`` is true are read.
        mask : array-like of bool, shape (T,), optional
            Steps with a target (default: every step).
        lr : float
            Learning rate alpha (finite, >= 0).
        schedule : {"step", "sequence"}
            "step" applies each step's update right after that step (the paper's
            on-line rule); "sequence" sums them and applies the sum at the end.

        state : State, optional
            Where the sequence starts (default: a sequence start, all zero); not changed
            by the call.  Its traces take part in learning: a state returned by
            :meth:`forward` carries the traces it was given (a forward pass runs none).
        return_state : bool, default False
            Also return the state (traces included) after the last step.

        Returns
        -------
        ndarray, shape (T, n_out)
            The outputs as computed during training.
        State
            Only with ``return_state=True``: the state after the last step.
        """
        if state is None and return_state is False:
            out = self._train_fast(x, y, mask, lr, schedule)
            if out is not None:
                return out
        x, y, tmask = self._as_xy(x, y, mask)
        lr = _check_real(lr, "lr", minimum=0.0)
        schedule = self._as_schedule(schedule)
        return_state = _check_bool(return_state, "return_state")
        if state is None and not return_state:
            with self._transaction():
                return self._train_kernel(x, y, tmask, lr, schedule)
        bstate = self._state_to_backend(self._state_data(state, "state"))
        mode = MODE_LEARN if schedule == "step" else MODE_ACCUMULATE
        with self._transaction():
            if mode == MODE_ACCUMULATE:
                self._dW[...] = 0
            out = self._run_kernel(bstate, x, y, tmask, lr, mode, self._dW)
            if mode == MODE_ACCUMULATE:
                self._apply_kernel(self._dW)
        if not return_state:
            return out
        return out, State(self._state_shape(), self._state_from_backend(bstate))

    def gradient(self, x: ArrayLike, y: ArrayLike, mask: Optional[ArrayLike] = None,
                 truncated: bool = False
                 ) -> Tuple[float, Dict[str, FloatArray], FloatArray]:
        """Loss and gradient of one sequence by back-propagation through time.

        Not the learning rule of the paper (:meth:`train_sequence` computes the truncated
        gradient forward in time, with memory independent of T): this stores the whole
        forward pass (memory O(T)) and runs back in time, for checks, for comparisons
        and for the "full-gradient" ablation of the experiments.  The weights are not
        changed; the state is reset at the start of the sequence.

        Parameters
        ----------
        x, y, mask
            As in :meth:`train_sequence`.
        truncated : bool, default False
            False: the exact gradient.  True: every recurrent entry of z(t) (the previous
            step's cell outputs and gate activations) and every peephole input is a
            constant, the truncation of the 1997 rule; then ``-lr * grads`` is the summed
            update that ``train_sequence(..., schedule="sequence")`` applies
            (``docs/model.md``, identities).

        Returns
        -------
        loss : float
            ``1/2 sum (y - y_k)^2`` over the target steps; with softmax outputs the
            cross-entropy ``sum (log sum_k e^net_k - sum_k y_k net_k)`` over the target
            steps (``-sum y log y_k`` when each target row sums to 1).
        grads : dict of ndarray
            d loss / dW for every parameter (``net.params``); entries where the mask is 0
            are 0.
        outputs : ndarray, shape (T, n_out)
        """
        x, y, tmask = self._as_xy(x, y, mask)
        if not isinstance(truncated, (bool, np.bool_)):
            raise TypeError(f"truncated: expected a bool, got {type(truncated).__name__}")
        with self._guard():
            loss, flat, out = self._gradient_kernel(x, y, tmask, bool(truncated))
        return float(loss), {n: self._view(flat, n) for n in self.params}, out

    def train_batch(self, x: ArrayLike, y: ArrayLike, mask: Optional[ArrayLike] = None,
                    lr: float = 0.1, schedule: str = "step",
                    n_threads: Optional[int] = None) -> FloatArray:
        """Mini-batch learning: N sequences in lockstep, the mean update applied.

        Each sequence has its own state and traces, which always start from zero (a
        sequence start: the call takes and returns no state); after every
        step ("step") or once at the end ("sequence") the weights move by
        ``(1/N) sum_n dW_n`` (``docs/model.md``, mini-batches).  With N = 1 this is
        :meth:`train_sequence` up to rounding (an input-gate row sums its S cells'
        changes before it is applied).  Transactional like :meth:`train_sequence`.

        Parameters
        ----------
        x : array-like, shape (N, T, n_in)
        y : array-like, shape (N, T, n_out)
        mask : array-like of bool, shape (N, T), optional
            Steps with a target (default: all).  Ragged lengths: pad the shorter
            sequences and leave their padding steps without targets (padding inputs
            still run through the net, after the sequence's own steps).
        lr : float
        schedule : {"step", "sequence"}
        n_threads : int in [1, 64], optional
            Threads of the compiled kernel (the GIL is released); the result is bitwise
            the same for every thread count.  Given, it is used as it is (at most one
            thread per block of 4 sequences).  Default: up to
            :func:`fastlstm.get_num_threads` (1 unless set with
            :func:`fastlstm.set_num_threads` or ``FASTLSTM_NUM_THREADS``), fewer where
            more threads would be slower than one: with schedule "step" every thread
            gets at least a whole vector-lane group of sequences (4 or 8 float64, 8 or
            16 float32, depending on the CPU), with "sequence" a block of 4, and enough
            work in the call and between two steps with a target (with schedule "step"
            the threads meet at each of them; with "sequence" once per call).
            The extra threads stay for the next call: each spins for about 0.2 ms after
            a call, then sleeps (see docs/performance.md).  The oracle ignores it.

        Returns
        -------
        ndarray, shape (N, T, n_out)
        """
        x = self._as_batch(x, "x", self.I)
        y = self._as_batch(y, "y", self.K)
        if y.shape[:2] != x.shape[:2]:
            raise ValueError(f"y: expected shape {x.shape[:2] + (self.K,)} to match x "
                             f"{x.shape}, got {y.shape}")
        if not self._all_finite(x):
            raise ValueError(f"x: contains NaN or infinite values (as {self.dtype})")
        N, T = x.shape[:2]
        tmask = None
        if mask is not None:
            m = _numeric_array(mask, "mask")
            if m.shape != (N, T):
                raise ValueError(f"mask: expected shape ({N}, {T}) to match x, got "
                                 f"{m.shape}")
            tmask = self._as_mask(m.reshape(-1), N * T)
        if not self._targets_finite(y.reshape(N * T, self.K), tmask):
            raise ValueError(f"y: contains NaN or infinite values at target steps "
                             f"(as {self.dtype})")
        lr = _check_real(lr, "lr", minimum=0.0)
        schedule = self._as_schedule(schedule)
        n_threads = self._batch_threads(N, T, tmask, schedule, n_threads)
        with self._transaction():
            return self._train_batch_kernel(x, y, tmask, lr, schedule, n_threads)

    def _batch_threads(self, N: int, T: int, tmask: Optional[NDArray[np.uint8]],
                       schedule: str, n_threads: Optional[int]) -> int:
        """The thread count of a :meth:`train_batch` call: ``n_threads`` checked (at most
        one per block of 4 sequences), or when None the default's choice."""
        if n_threads is not None:
            return min(_threads.resolve(n_threads), -(-N // 4))
        return self._default_batch_threads(N, T, tmask, schedule,
                                           _threads.get_num_threads())

    def _default_batch_threads(self, N: int, T: int, tmask: Optional[NDArray[np.uint8]],
                               schedule: str, n_max: int) -> int:
        """Threads of a train_batch call without ``n_threads`` (at most ``n_max``)."""
        return min(n_max, -(-N // 4))

    def _as_batch(self, a: Any, name: str, cols: int) -> FloatArray:
        arr = _numeric_array(a, name)
        if arr.ndim != 3 or arr.shape[2] != cols:
            raise ValueError(f"{name}: expected a 3-d array (N, T, {cols}), got shape "
                             f"{arr.shape}")
        if arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"{name}: N and T must be >= 1, got shape {arr.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray(arr, dtype=self.dtype)

    def stream(self, learn: bool = False, lr: float = 0.1, schedule: str = "step", *,
               state: Optional[State] = None) -> Stream:
        """A :class:`Stream` feeding one sequence one step at a time.

        ``net.stream().step(x_t)`` over the rows of ``x`` gives ``net.forward(x)``;
        ``s = net.stream(learn=True, lr=lr, schedule=sch)``, ``s.step(x[t], y[t])`` (or
        ``s.step(x[t])`` at steps without a target), then ``s.end()`` gives exactly the
        weights of ``net.train_sequence(x, y, mask, lr, sch)``.  ``state``: start from
        it instead of zero (see :meth:`initial_state`; :attr:`Stream.state` reads the
        stream's own).
        """
        return Stream(self, learn, lr, schedule, state=state)

    def initial_state(self) -> State:
        """The state at a sequence start: cell states, activations and traces all zero.

        Pass it (or a state returned by :meth:`forward`, :meth:`train_sequence` or
        :attr:`Stream.state`) as ``state=`` to continue a sequence where it stopped.

        Examples
        --------
        >>> import numpy as np, fastlstm
        >>> net = fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, seed=0)
        >>> x = np.ones((6, 2))
        >>> y1, st = net.forward(x[:4], net.initial_state(), return_state=True)
        >>> y2 = net.forward(x[4:], st)
        >>> bool((np.concatenate([y1, y2]) == net.forward(x)).all())
        True
        """
        return State(self._state_shape(), np.zeros(self._layout["state_len"], self.dtype))

    # ------------------------------------------------------------------- PyTorch

    @classmethod
    def from_torch(cls, lstm: Any, head: Any = None, dtype: str = "float64") -> Any:
        """A net with the weights of a one-layer ``torch.nn.LSTM`` (and an optional
        ``torch.nn.Linear`` head; without one the outputs are the hidden states h_t).

        The net has ``forget_gate=True, sources="cells", block_size=1, g="tanh",
        h="tanh", out="linear"``; its forward pass is PyTorch's.  Needs torch (the
        ``torch`` extra); see :mod:`fastlstm.torch_bridge` for the mapping.
        """
        from . import torch_bridge
        return torch_bridge.from_torch(cls, lstm, head, dtype)

    def to_torch(self) -> Tuple[Any, Any]:
        """``(torch.nn.LSTM, torch.nn.Linear)`` with this net's weights (a net of the form
        :meth:`from_torch` makes; ValueError otherwise).  Needs torch."""
        from . import torch_bridge
        return torch_bridge.to_torch(self)

    def to_torch_module(self) -> Any:
        """A ``torch.nn.Module`` computing this net's forward pass, for any net.

        Its parameters are ``torch.nn.Parameter`` named as in :attr:`params` (a copy);
        ``module(x)`` equals :meth:`forward` and ``module.loss(x, y, mask)`` the loss of
        :meth:`gradient`, so that autograd gives the same gradient.  Needs torch; see
        :func:`fastlstm.torch_bridge.to_torch_module`.
        """
        from . import torch_bridge
        return torch_bridge.to_torch_module(self)

    def load_torch_module(self, module: Any) -> None:
        """Copy the parameters of a module from :meth:`to_torch_module` (trained in
        PyTorch, say) into this net, which must have the module's architecture and
        masks.  See :func:`fastlstm.torch_bridge.load_torch_module`."""
        from . import torch_bridge
        torch_bridge.load_torch_module(self, module)

    # ------------------------------------------------------------------- ONNX

    def to_onnx(self, path: Optional[PathLike] = None, op: str = "auto") -> Any:
        """This net as an ONNX model (float32), written to ``path`` if given; returns the
        ``onnx.ModelProto``.  ``op``: "lstm" (the standard ``LSTM`` operator and the
        output layer; ValueError for what it cannot express), "scan" (a ``Scan`` over
        one step of the net, any net) or "auto" (the first where it fits).  Needs onnx
        (the ``onnx`` extra); see :func:`fastlstm.onnx_export.to_onnx`."""
        from . import onnx_export
        return onnx_export.to_onnx(self, path, op)

    # ------------------------------------------------------------------- files

    def save(self, path: PathLike) -> None:
        """Write architecture, masks, parameters and format version to ``path``.

        The file is a numpy ``.npz`` archive without pickled objects.  It is written to
        a temporary file in the same directory (``.fastlstm-*.tmp``), then renamed over
        ``path``, so an interrupted or failed save leaves any previous file intact and
        no temporary file behind.  ``path`` must be a new name or a regular file (whose
        permissions are kept); the net must pass the checks of :meth:`load`
        (ValueError otherwise: finite weights, masked weights 0, an unchanged
        ``net.config``).
        """
        path = _as_path(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if path == "":
            raise ValueError("path: empty file name")
        try:
            st = os.stat(path)
        except FileNotFoundError:
            mode = -1                                    # a new file: 0o666 less umask
        else:
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"path: {path!r} exists and is not a regular file; save "
                                 f"writes regular files only")
            mode = stat.S_IMODE(st.st_mode)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise FileNotFoundError(2, "No such directory", path)
        if self.config != self._config:
            raise ValueError("config: net.config was changed; it describes the net and "
                             "must not be edited")
        with self._lock:
            meta, theta, mask = self._parts()
        _check_parts(meta, theta, mask)
        tmp = os.path.join(directory, f".fastlstm-{os.getpid()}-{secrets.token_hex(8)}.tmp")

        members = (("meta", np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)),
                   ("params", theta), ("masks", mask))

        def write(f):
            # what np.savez writes, with the archive dropped on any error: zipfile cannot
            # close an archive whose member was being opened when an error came (a full
            # disk, Ctrl-C) and would raise that instead, now and again when collected
            zf = zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED,
                                 allowZip64=True)
            try:
                for name, arr in members:
                    with zf.open(name + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, arr, allow_pickle=False)
                zf.close()
            except BaseException:
                zf.fp = None                 # write_file removes the temporary file
                raise

        _core.write_file(path, tmp, mode, write)

    def _parts(self):
        """(meta JSON, params copy, masks copy): what save writes (call under the lock)."""
        return _file_meta(self._config), self._theta.copy(), self._mask.copy()

    @classmethod
    def _from_parts(cls, meta, theta, mask):
        """A net from save's parts, after every check of :meth:`load` (ValueError)."""
        config = _check_parts(meta, theta, mask)
        net = cls(**config)
        net._theta[...] = theta
        net._mask[...] = mask
        return net

    def __reduce__(self):
        """Pickling, ``copy.copy`` and ``copy.deepcopy``: through the public state that
        :meth:`save` writes (architecture, masks, parameters, format version), checked
        again like :meth:`load` when rebuilt; the copy shares no buffer with this net."""
        with self._lock:
            meta, theta, mask = self._parts()
        return _rebuild, (type(self), meta, theta, mask)

    @classmethod
    def load(cls: Type[_Net], path: PathLike) -> _Net:
        """Read a net written by :meth:`save`; ValueError for any invalid file.

        Nothing in the file is executed (no pickle); each member's shape and dtype are
        read from its header and checked against the architecture before any of its
        data is read.  ValueError for a file that is not a valid fastlstm file (or not a
        regular file); an OSError (permissions ...) as it is, naming ``path``.
        """
        path = _as_path(path)
        bad = f"path: {path!r} is not a valid fastlstm file"
        st = os.stat(path)                                   # OSError as it is
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"path: {path!r} is not a regular file")
        # O_NONBLOCK: a FIFO put there after the check must not block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ValueError(f"path: {path!r} is not a regular file")
            try:
                meta, theta, mask = _read_members(fh)
            except ValueError as exc:
                raise ValueError(f"{bad} ({exc})") from None
            except (OSError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError,
                    MemoryError, TypeError, UnicodeDecodeError, RecursionError,
                    NotImplementedError) as exc:
                raise ValueError(f"{bad} ({type(exc).__name__}: {exc})") from None
        try:
            return cls._from_parts(meta, theta, mask)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{bad} ({exc})") from None

    # ------------------------------------------------------------------- backend hooks

    def _new_state(self):
        raise NotImplementedError

    def _forward_kernel(self, x):
        raise NotImplementedError

    def _train_fast(self, x, y, mask, lr, schedule):
        """train_sequence's shortcut for arguments that need no conversion (None: take
        the general path)."""
        return None

    def _train_kernel(self, x, y, tmask, lr, schedule):
        raise NotImplementedError

    def _step_kernel(self, state, x_t, t_t, lr, mode, dW):
        raise NotImplementedError

    def _apply_kernel(self, dW):
        raise NotImplementedError

    def _train_batch_kernel(self, x, y, tmask, lr, schedule, n_threads):
        raise NotImplementedError

    def _run_kernel(self, state, x, y, tmask, lr, mode, dW):
        """Steps over x from ``state`` (default: one step at a time)."""
        out = np.empty((x.shape[0], self.K), self.dtype)
        for t in range(x.shape[0]):
            has_t = y is not None and (tmask is None or tmask[t])
            out[t] = self._step_kernel(state, x[t], y[t] if has_t else None, lr, mode, dW)
        return out

    # ------------------------------------------------------------------- explicit states

    def _state_shape(self) -> StateShape:
        c = self.config
        shape: StateShape = (self.I, self.B, self.S, bool(c["output_gate"]))
        if c["forget_gate"] or c["peepholes"] or c["sources"] != "full":
            shape += (c["forget_gate"], c["peepholes"], c["sources"])
        return shape

    def _state_data(self, state: object, name: str) -> FloatArray:
        """A fresh flat copy of ``state`` checked against this net (zeros for None)."""
        if state is None:
            return np.zeros(self._layout["state_len"], self.dtype)
        if not isinstance(state, State):
            raise TypeError(f"{name}: expected a fastlstm.State (see initial_state()), "
                            f"got {type(state).__name__}")
        if state.shape != self._state_shape():
            def described(shape: StateShape) -> str:
                text = (f"n_in={shape[0]}, n_blocks={shape[1]}, block_size={shape[2]}, "
                        f"output_gate={shape[3]}")
                if len(shape) == 7:
                    text += (f", forget_gate={shape[4]}, peepholes={shape[5]}, "
                             f"sources={shape[6]!r}")
                return text
            raise ValueError(f"{name}: made for a net with {described(state.shape)}; this "
                             f"net has {described(self._state_shape())} (state shape)")
        if state.dtype != self.dtype:
            raise ValueError(f"{name}: dtype {state.dtype}, the net's is {self.dtype}")
        return state.data.copy()

    def _gradient_kernel(self, x: FloatArray, y: FloatArray, tmask: Optional[NDArray[Any]],
                         truncated: bool) -> Tuple[float, FloatArray, FloatArray]:
        raise NotImplementedError

    def _state_to_backend(self, flat: FloatArray) -> Any:
        """The backend's state from a flat state (may be ``flat`` itself)."""
        return flat

    def _state_from_backend(self, bstate: Any) -> FloatArray:
        """The flat state (kernels' order) of a backend state."""
        return np.asarray(bstate)

    def _forward_batch_kernel(self, x, lengths, zs, n_threads):
        """y (N, T, K) for x (N, T, I), each sequence from its z and s (rows of
        ``zs``, updated); default: one sequence after the other."""
        N, T = x.shape[:2]
        nzs = zs.shape[1]
        y = np.zeros((N, T, self.K), self.dtype)
        for n in range(N):
            steps = T if lengths is None else int(lengths[n])
            if steps == 0:
                continue
            flat = np.zeros(self._layout["state_len"], self.dtype)
            flat[:nzs] = zs[n]
            bstate = self._state_to_backend(flat)
            y[n, :steps] = self._run_kernel(bstate, x[n, :steps], None, None, 0.0,
                                            MODE_FORWARD, self._dW)
            zs[n] = self._state_from_backend(bstate)[:nzs]
        return y


_META_MAX = 1 << 20          # bytes of the JSON record


def _rebuild(cls, meta, theta, mask):
    """Unpickling (see NetBase.__reduce__)."""
    return cls._from_parts(meta, np.array(theta), np.array(mask))


def _parse_meta(meta):
    """The config dict of save's JSON record (ValueError if it is not one)."""
    if not isinstance(meta, str) or len(meta) > _META_MAX:
        raise ValueError("bad meta record")
    meta = json.loads(meta)
    if not isinstance(meta, dict) or meta.get("format") != "fastlstm":
        raise ValueError("not a fastlstm file")
    version = meta.get("version")
    if type(version) is not int or version not in READ_VERSIONS:
        raise ValueError(f"format version {version!r}; this fastlstm reads "
                         f"versions {', '.join(map(str, READ_VERSIONS))}")
    config = meta.get("config")
    if not isinstance(config, dict):
        raise ValueError("bad config record")
    if version == 1 and _uses_family(config):
        raise ValueError("a version 1 file cannot hold the options "
                         f"{sorted(set(config) & set(FAMILY_DEFAULTS))} or "
                         f"out={config.get('out')!r}")
    return config


def _expected(config):
    """(n_params, dtype) for a config, or None if its sizes are not valid integers (the
    constructor then explains what is wrong)."""
    dims = [config.get(k) for k in ("n_in", "n_out", "n_blocks", "block_size")]
    if not all(type(v) is int and 1 <= v <= MAX_DIM for v in dims):
        return None
    if config.get("sources", "full") not in SOURCES:
        return None
    lay = layout(*dims, config.get("output_gate", True) is not False,
                 config.get("forget_gate", False) is True,
                 config.get("peepholes", False) is True, config.get("sources", "full"))
    if lay["n_params"] + lay["state_len"] > MAX_ELEMENTS:
        raise ValueError("the net in the file is too large")
    try:
        dt = _check_dtype(config.get("dtype", "float64"))    # as the constructor reads it
    except (TypeError, ValueError):
        return None
    return lay["n_params"], dt


def _build_check(config):
    """Raise the error that explains why ``config`` has no valid sizes or dtype."""
    for k in ("n_in", "n_out", "n_blocks", "block_size"):
        _check_int(config.get(k), k)
    _check_dtype(config.get("dtype", "float64"))
    raise ValueError(f"bad sizes in config {config}")


def _check_parts(meta, theta, mask):
    """Every check of a saved net (save and load run this same function): the record,
    the architecture (the constructor's checks run in load), shapes and dtypes, 0/1
    masks, finite weights, masked weights 0.  Returns the config; ValueError otherwise."""
    config = _parse_meta(meta)
    exp = _expected(config)
    if exp is not None:
        n, dt = exp
        for name, arr in (("params", theta), ("masks", mask)):
            if arr.shape != (n,) or arr.dtype != dt:
                raise ValueError(f"{name}: expected ({n},) {dt}, got {arr.shape} "
                                 f"{arr.dtype}")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("masks: values must be 0 or 1")
    if not np.isfinite(theta).all():
        raise ValueError("params: contain NaN or infinite values")
    if np.any(theta[mask == 0] != 0):
        raise ValueError("params: masked weights must be 0")
    return config


def _read_members(fh):
    """(meta str, params, masks) of an open .npz archive, reading each member's .npy
    header first: the data of params and masks is read only once its shape and dtype
    match the architecture in meta (a small compressed file cannot make this allocate
    more than the net it describes)."""
    with zipfile.ZipFile(fh) as zf:
        names = sorted(zf.namelist())
        if names != ["masks.npy", "meta.npy", "params.npy"]:
            raise ValueError(f"unexpected members {names}")

        def header(f):
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                return np.lib.format.read_array_header_1_0(f)
            if version == (2, 0):
                return np.lib.format.read_array_header_2_0(f)
            raise ValueError(f"unsupported .npy version {version}")

        def read(name, shape, dtype):
            with zf.open(name) as f:
                shp, fortran, dt = header(f)
                if shp != shape or dt != dtype or fortran:
                    raise ValueError(f"{name[:-4]}: expected {shape} {dtype}, got {shp} {dt}")
                data = f.read(int(np.prod(shape)) * dtype.itemsize + 1)
                if len(data) != int(np.prod(shape)) * dtype.itemsize:
                    raise ValueError(f"{name[:-4]}: the data does not match its header")
                return np.frombuffer(data, dtype=dtype).reshape(shape).copy()

        with zf.open("meta.npy") as f:
            shp, _, dt = header(f)
        if dt != np.uint8 or len(shp) != 1 or shp[0] > _META_MAX:
            raise ValueError("bad meta record")
        meta = read("meta.npy", shp, np.dtype(np.uint8)).tobytes().decode("utf-8")
        config = _parse_meta(meta)
        exp = _expected(config)
        if exp is None:                  # the constructor explains what is wrong
            _build_check(config)
        n, dt = exp
        return meta, read("params.npy", (n,), dt), read("masks.npy", (n,), dt)


class Stream:
    """One sequence fed a step at a time (see :meth:`NetBase.stream`).

    The stream owns its state and traces; the net's parameters are shared.  With
    ``learn=True`` each :meth:`step` with a target is transactional: on a non-finite
    value the parameters are restored to their values before that step and
    FloatingPointError is raised.

    The stream starts from ``state`` (a :class:`State`; default: zero, a sequence
    start) and :attr:`state` reads or replaces its own, e.g. to continue training
    where a forecast left off, or to swap two streams.  With schedule "sequence" the
    pending update (applied by :meth:`end`) is not part of the state.

    With ``schedule="sequence"`` the update is applied by :meth:`end` only: use the
    stream as a context manager (``with net.stream(learn=True, schedule="sequence") as
    s:``, which ends it on leaving the block, or resets it without applying the update
    if the block raised); a stream garbage-collected with an update not applied warns
    (RuntimeWarning).
    """

    net: NetBase
    learn: bool
    lr: float
    schedule: str
    #: steps fed since the stream started or was reset
    t: int

    def __init__(self, net: NetBase, learn: bool = False, lr: float = 0.1,
                 schedule: str = "step", *, state: Optional[State] = None) -> None:
        self.net = net
        self.learn = _check_bool(learn, "learn")
        self.lr = _check_real(lr, "lr", minimum=0.0)
        self.schedule = net._as_schedule(schedule)
        if not self.learn:
            self._mode = MODE_FORWARD
        elif self.schedule == "step":
            self._mode = MODE_LEARN
        else:
            self._mode = MODE_ACCUMULATE
        self._dW = np.zeros_like(net._theta) if self._mode == MODE_ACCUMULATE else net._dW
        self.t = 0
        self.reset()
        if state is not None:
            self.state = state

    @property
    def state(self) -> State:
        """The stream's state now (a copy: :class:`State`); assign a State to continue
        from it (the pending update of schedule "sequence" stays as it is)."""
        net = self.net
        with net._lock:
            flat = net._state_from_backend(self._state).copy()
        return State(net._state_shape(), flat)

    @state.setter
    def state(self, state: State) -> None:
        net = self.net
        self._state = net._state_to_backend(net._state_data(state, "state"))
        self._track_state()

    def reset(self) -> None:
        """Start a new sequence: state, traces (and any pending update) set to 0."""
        self._state = self.net._new_state()
        if self._mode == MODE_ACCUMULATE:
            self._dW[...] = 0
        self.t = 0
        self._pending = False      # an accumulated update that end() has not applied
        self._track_state()

    def _track_state(self) -> None:
        """The (live, copy) pairs of the transactions for the current state."""
        # (live, copy) pairs for the transactions: an interrupted or failed call leaves
        # the state (and the pending update) as before it
        # (the oracle's state is a dict whose "z" and "s" each step replaces, put back by
        # _call; its traces are changed in place)
        live = (list(self._state.values()) if isinstance(self._state, dict)
                else [self._state])
        if self._mode == MODE_ACCUMULATE:
            live.append(self._dW)
        self._saved = tuple((a, np.empty_like(a)) for a in live)

    def _call(self, learn, kernel, *args):
        """``kernel(*args)`` in a transaction (``learn``: it may change the parameters)
        that restores the stream's state if it raises."""
        net = self.net
        old = dict(self._state) if isinstance(self._state, dict) else None
        try:
            with net._transaction(*self._saved) if learn else net._guard(*self._saved):
                return kernel(*args)
        except BaseException:
            if old is not None:
                self._state.update(old)
            raise

    def step(self, x_t: ArrayLike, y_t: Optional[ArrayLike] = None) -> FloatArray:
        """Advance one step; return the outputs ``(n_out,)`` of this step.

        ``y_t`` (shape ``(n_out,)``) is the target of this step, or None for none; it
        is only used when the stream learns.
        """
        net = self.net
        x_t = _as_vector(x_t, "x_t", net.I, net.dtype)
        if y_t is not None:
            y_t = _as_vector(y_t, "y_t", net.K, net.dtype) if self.learn else None
        out = self._call(self._mode == MODE_LEARN and y_t is not None, net._step_kernel,
                         self._state, x_t, y_t, self.lr, self._mode, self._dW)
        self.t += 1
        if self._mode == MODE_ACCUMULATE and y_t is not None:
            self._pending = True
        return out

    def peek(self, x_t: ArrayLike) -> FloatArray:
        """The outputs ``(n_out,)`` of the step that :meth:`step` would take now with
        input ``x_t``, without taking it.

        A forward step from a copy of the stream's state: the state, the traces, the
        pending update and the weights stay as they are, and the outputs are bitwise
        those of the next ``step(x_t, ...)`` (which computes its outputs before it
        learns).  For a forecast-then-learn loop: ``peek(x_t)``, score, then
        ``step(x_t, y_t)``.
        """
        net = self.net
        x_t = _as_vector(x_t, "x_t", net.I, net.dtype)
        with net._guard():
            copy = net._state_to_backend(net._state_from_backend(self._state).copy())
            out: FloatArray = net._step_kernel(copy, x_t, None, 0.0, MODE_FORWARD,
                                               net._dW)
        return out

    def feed(self, x: ArrayLike, y: Optional[ArrayLike] = None,
             mask: Optional[ArrayLike] = None) -> FloatArray:
        """Advance over a piece ``x (t, n_in)`` of the sequence in one kernel call.

        ``y (t, n_out)`` and ``mask (t,)`` as in :meth:`NetBase.train_sequence` (only
        read when the stream learns; ``y`` None: no targets in this piece).  Feeding a
        sequence piece by piece, then :meth:`end`, gives exactly the outputs and weights
        of one ``train_sequence`` (or ``forward``) call, with memory independent of the
        sequence length.  Returns the outputs ``(t, n_out)``.
        """
        net = self.net
        if self.learn and y is not None:
            x, y, tmask = net._as_xy(x, y, mask)
        else:
            x = net._as_x(x)
            y, tmask = None, None
        mode = self._mode
        if mode == MODE_ACCUMULATE and y is not None and (tmask is None or tmask.any()):
            self._pending = True
        if self.learn and y is None:       # traces still run: a piece without targets
            y = np.zeros((x.shape[0], net.K), net.dtype)
            tmask = np.zeros(x.shape[0], np.uint8)
        out = self._call(mode == MODE_LEARN, net._run_kernel, self._state, x, y, tmask,
                         self.lr, mode, self._dW)
        self.t += x.shape[0]
        return out

    def end(self) -> None:
        """End the sequence: apply the summed update (schedule "sequence"), reset."""
        if self._mode == MODE_ACCUMULATE:
            net = self.net
            self._pending = False      # applied, or FloatingPointError tells the caller
            with net._transaction(*self._saved):
                np.multiply(self._dW, net._mask, out=self._dW)   # masks set meanwhile
                net._apply_kernel(self._dW)
        self.reset()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """:meth:`end` the stream; after an exception only :meth:`reset` it (the summed
        update of an unfinished sequence is not applied)."""
        if exc_type is None:
            self.end()
        else:
            self.reset()

    def __del__(self) -> None:
        if getattr(self, "_pending", False):
            warnings.warn(
                f"a Stream with schedule 'sequence' was discarded after {self.t} steps "
                "without end(): its update was never applied to the net (call s.end(), "
                "or use 'with net.stream(...) as s:')", RuntimeWarning, stacklevel=2)


def _as_vector(v: Any, name: str, n: int, dtype: Any) -> FloatArray:
    arr = _numeric_array(v, name)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), got {arr.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values (as {np.dtype(dtype)})")
    return arr

