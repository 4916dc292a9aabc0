"""On-line LSTM estimators for `river <https://riverml.xyz>`_ (the ``river`` extra).

:class:`LSTMRegressor` and :class:`LSTMClassifier` learn one sample at a time with the
truncated on-line gradient: one compiled step per ``learn_one``, with the cell states and
the traces carried from sample to sample (a :class:`fastlstm.Stream` that never ends), so
that the work per sample is constant however long the stream has run; nothing is replayed.
The stream is one endless sequence: the samples are the time steps, in the order they are
learnt.

>>> from fastlstm.river import LSTMRegressor
>>> model = LSTMRegressor(n_blocks=2, seed=0)
>>> for t in range(50):
...     y_hat = model.predict_one({"x": t % 5})    # the forecast of this step ...
...     model.learn_one({"x": t % 5}, float(t % 5 == 4))   # ... then the step itself

Semantics (``docs/river.md`` has the details):

* **Predict, then learn.** ``predict_one(x)`` returns the output of the step that
  ``learn_one(x, y)`` would take next, from the current state and weights, and changes
  nothing (a forward step from a copy of the state: :meth:`fastlstm.Stream.peek`).
  ``learn_one(x, y)`` takes that step (same input, same output) and learns from ``y``:
  it advances the state by one step.
  A forecast-then-learn loop therefore runs one learning step and one forward step per
  sample.  ``predict_one`` called twice, or never, changes nothing.
* **Features.** Numbers under any sortable keys, in sorted key order.  A key not seen
  before, in ``learn_one``, adds an input at its sorted place with zero weights (the net's
  function is unchanged until it learns); in ``predict_one`` it is ignored.  A missing
  key, or a value ``None``, enters as 0 (after scaling: the running mean) and is left out
  of the running statistics.
* **Scaling.** ``scale_inputs=True`` standardises each input with its running mean and
  standard deviation over the samples learnt and this one (as river's
  ``StandardScaler`` does when it learns, then transforms; ``predict_one`` computes the
  same without storing it, so that ``learn_one`` sees the input ``predict_one`` saw; 0
  while the deviation is 0; a scaled value is at most sqrt(n - 1) in size after n
  samples, however far out the sample is); ``scale_target=True`` (regressor)
  learns ``(y - mean) / std`` with the target's running statistics (including ``y``) and
  predicts ``mean + std * output``.
* **Classes.** Softmax outputs, one unit per class in the order of first appearance.  A
  new class in ``learn_one`` adds an output unit (fresh random weights; the state is
  kept); until two classes have been seen the net runs its traces but has nothing to
  learn, and ``predict_proba_one`` gives the one class probability 1.

Requires river (``pip install "fastlstm[river]"``); ``import fastlstm`` does not import
this module.
"""
from __future__ import annotations

import bisect
import math
import numbers
from typing import Any, Dict, Hashable, Iterator, List, Mapping, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

try:
    from river import base
except ImportError as exc:  # pragma: no cover - the module is useless without river
    raise ImportError("fastlstm.river needs the river package: pip install "
                      "'fastlstm[river]' (or pip install river)") from exc

from ._base import _check_bool, _check_choice, _check_int, _check_real
from ._state import State, _family, _sizes
from .network import LSTM

__all__ = ["LSTMRegressor", "LSTMClassifier"]

_SOURCES = ("full", "cells")
_DTYPES = ("float64", "float32")


def _feature_order(key: Hashable) -> Tuple[str, Any]:
    """Sort key of a feature name: by type name, then by value (so that str and int
    keys can be mixed, and the order of a key never depends on which others exist)."""
    return (type(key).__name__, key)


def _as_number(key: Hashable, value: Any) -> Optional[float]:
    """The float of a feature value; None for a missing value (None)."""
    if type(value) is float:                   # the common case, first
        if math.isfinite(value):
            return value
        raise ValueError(f"x[{key!r}]: must be finite, got {value}")
    if value is None:
        return None
    if isinstance(value, (numbers.Real, np.bool_)) and not isinstance(value, (str, bytes)):
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"x[{key!r}]: cannot be read as a float, "
                             f"got {value!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"x[{key!r}]: must be finite, got {v}")
        return v
    hint = (" (encode it as numbers first, e.g. with river.preprocessing.OneHotEncoder)"
            if isinstance(value, str) else "")
    raise TypeError(f"x[{key!r}]: expected a real number or None, got "
                    f"{type(value).__name__}{hint}")


class _LSTMEstimator(base.Estimator):
    """What the regressor and the classifier share: the net, its endless stream, the
    feature order and the running input statistics."""

    def __init__(self, n_blocks: int = 4, block_size: int = 1, lr: float = 0.03, *,
                 forget_gate: bool = True, forget_gate_bias: Optional[float] = None,
                 sources: str = "cells", input_to_output: bool = True,
                 init_range: float = 0.1, scale_inputs: bool = True,
                 dtype: str = "float64", seed: Optional[int] = None) -> None:
        self.n_blocks = n_blocks
        self.block_size = block_size
        self.lr = lr
        self.forget_gate = forget_gate
        self.forget_gate_bias = forget_gate_bias
        self.sources = sources
        self.input_to_output = input_to_output
        self.init_range = init_range
        self.scale_inputs = scale_inputs
        self.dtype = dtype
        self.seed = seed
        # every argument checked now, not at the first sample
        _check_int(n_blocks, "n_blocks")
        _check_int(block_size, "block_size")
        self._lr = _check_real(lr, "lr", minimum=0.0)
        _check_bool(forget_gate, "forget_gate")
        if forget_gate_bias is not None:
            _check_real(forget_gate_bias, "forget_gate_bias")
            if not forget_gate:
                raise ValueError("forget_gate_bias: the 1997 cell (forget_gate=False) has "
                                 "no forget gate; leave forget_gate_bias at None")
        _check_choice(sources, "sources", _SOURCES)
        _check_bool(input_to_output, "input_to_output")
        _check_real(init_range, "init_range", minimum=0.0)
        _check_bool(scale_inputs, "scale_inputs")
        _check_choice(dtype, "dtype", _DTYPES)
        if seed is not None:
            _check_int(seed, "seed", minimum=0, maximum=2**63 - 1)
        self._rng = np.random.default_rng(seed)
        self._features: List[Hashable] = []        # sorted by _feature_order
        self._index: Dict[Hashable, int] = {}
        self._net: Optional[LSTM] = None
        self._stream: Any = None                   # the net's endless Stream
        # running input statistics (Welford), by input
        self._n: List[int] = []
        self._mean: List[float] = []
        self._m2: List[float] = []
        self._n_out = self._initial_outputs()
        #: samples learnt so far
        self.n_samples = 0

    # ----------------------------------------------------------------- hooks

    def _initial_outputs(self) -> int:
        raise NotImplementedError

    def _out(self) -> str:
        raise NotImplementedError

    # ----------------------------------------------------------------- the net

    def _new_net(self, n_in: int, n_out: int) -> LSTM:
        fgb = None
        if self.forget_gate:
            fgb = 1.0 if self.forget_gate_bias is None else self.forget_gate_bias
        return LSTM(n_in=n_in, n_out=n_out, n_blocks=self.n_blocks,
                    block_size=self.block_size, out=self._out(),
                    forget_gate=self.forget_gate, forget_gate_bias=fgb,
                    sources=self.sources, input_to_output=self.input_to_output,
                    init_range=self.init_range, dtype=self.dtype, seed=self._rng)

    def _resize(self, features: List[Hashable], n_out: int) -> None:
        """Rebuild the net for ``features`` (a sorted superset of the current ones) and
        ``n_out`` (>= the current count): old weights, state and traces are kept at
        their new places; a new input's weights and traces are 0, a new output unit's
        weights are freshly drawn."""
        old, old_features = self._net, self._features
        new = self._new_net(max(len(features), 1), n_out)
        index = {f: i for i, f in enumerate(features)}
        if old is not None:
            I_new, I_old = new.I, old.I     # a net with no feature has one 0 input
            pos = [index[f] for f in old_features]
            # z(t) = [1, x(t), the rest]: the old columns kept (not the placeholder input
            # of a net built before any feature), and where each one goes
            x_cols = list(range(1, 1 + I_old)) if old_features else []
            cols = np.array([0] + x_cols + list(range(1 + I_old, old.nz)), dtype=np.intp)
            zmap = np.array([0] + [1 + p for p in pos]
                            + list(range(1 + I_new, 1 + I_new + old.nz - 1 - I_old)),
                            dtype=np.intp)
            n_u = int(np.count_nonzero(cols < old.nu))      # u(t) = z(t)[:nu]
            fresh = [1 + i for i in range(I_new) if i not in set(pos)]
            for name, w_old in old.params.items():
                w = new.params[name]
                if w.ndim == 2:
                    w[:, fresh] = 0.0
                    if name == "W_k":
                        w[:old.K][:, zmap[:n_u]] = w_old[:, cols[:n_u]]
                    else:
                        w[:, zmap] = w_old[:, cols]
                else:
                    w[...] = w_old
            st = self._stream.state
            data = self._remap_state(st, new, cols, zmap)
            self._net = new
            self._stream = new.stream(learn=True, lr=self._lr,
                                      state=State(new.initial_state().shape, data))
        else:
            self._net = new
            self._stream = new.stream(learn=True, lr=self._lr)
        keep = [index[f] for f in old_features]
        for attr, zero in (("_n", 0), ("_mean", 0.0), ("_m2", 0.0)):
            a = [zero] * len(features)
            for i, v in zip(keep, getattr(self, attr)):
                a[i] = v
            setattr(self, attr, a)
        self._features = list(features)
        self._index = index
        self._n_out = n_out

    @staticmethod
    def _remap_state(st: State, new: LSTM, cols: NDArray[np.intp],
                     zmap: NDArray[np.intp]) -> NDArray[Any]:
        """The flat data of ``st`` for ``new``: z-indexed columns ``cols`` moved to
        ``zmap``, the others 0."""
        C, nz_old, _, n_old = _sizes(st.shape)
        shape_new = new.initial_state().shape
        _, nz_new, _, n_new = _sizes(shape_new)
        n_traces = 3 if _family(shape_new)[0] else 2
        old_data = st.data
        data = np.zeros(n_new, dtype=old_data.dtype)
        data[zmap] = old_data[:nz_old][cols]                                  # z
        data[nz_new:nz_new + C] = old_data[nz_old:nz_old + C]           # s
        for k in range(n_traces):                                       # dS_* (C, nz)
            src = old_data[nz_old + C + k * C * nz_old:
                           nz_old + C + (k + 1) * C * nz_old].reshape(C, nz_old)
            dst = data[nz_new + C + k * C * nz_new:
                       nz_new + C + (k + 1) * C * nz_new].reshape(C, nz_new)
            dst[:, zmap] = src[:, cols]
        rest_old = nz_old + C + n_traces * C * nz_old                   # peephole traces
        rest_new = nz_new + C + n_traces * C * nz_new
        data[rest_new:] = old_data[rest_old:]
        return data

    # ----------------------------------------------------------------- features

    def _read(self, x: Any) -> Tuple[List[Tuple[Hashable, float]], List[Hashable]]:
        """The (key, value) pairs of ``x`` that are present, and the keys not known
        yet; raises before anything changes."""
        if not isinstance(x, Mapping):
            raise TypeError(f"x: expected a dict of feature name -> number, got "
                            f"{type(x).__name__}")
        pairs, new = [], []
        for key, value in x.items():
            try:
                known = key in self._index
            except TypeError:
                raise TypeError(f"x: feature names must be hashable, got "
                                f"{type(key).__name__}") from None
            v = _as_number(key, value)
            if v is None:
                continue
            if not known:
                new.append(key)
            pairs.append((key, v))
        return pairs, new

    def _input(self, pairs: List[Tuple[Hashable, float]]
               ) -> Tuple[NDArray[Any], List[Tuple[int, float, float]]]:
        """The net's input for ``pairs`` (known keys only), scaled by running statistics
        that include this sample (as a river StandardScaler that learns, then
        transforms; computed, not stored); also the updated statistics (index, mean,
        m2) of the present features, for :meth:`_learn` to store.  (Plain Python: for
        the few features of a stream it is faster than numpy.)"""
        net = self._net
        assert net is not None
        index, scale = self._index, self.scale_inputs
        n, mean, m2 = self._n, self._mean, self._m2
        u = [0.0] * net.I
        stats: List[Tuple[int, float, float]] = []
        for key, v in pairs:
            i = index.get(key)
            if i is None:
                continue
            if not scale:
                u[i] = v
                continue
            n1 = n[i] + 1
            delta = v - mean[i]
            mean1 = mean[i] + delta / n1
            m2_1 = m2[i] + delta * (v - mean1)
            if not math.isfinite(m2_1):
                raise ValueError(f"x[{key!r}]: {v} is too large for the running "
                                 f"statistics of the input scaling")
            stats.append((i, mean1, m2_1))
            if m2_1 > 0:
                # |u| <= sqrt(n1 - 1): the sample is in its own statistics
                u[i] = (v - mean1) / math.sqrt(m2_1 / n1)
        with np.errstate(over="ignore"):
            arr = np.array(u, dtype=net.dtype)
        if not np.isfinite(arr).all():
            raise ValueError(f"x: a value too large for the net's {net.dtype}")
        return arr, stats

    def _update_stats(self, stats: List[Tuple[int, float, float]]) -> None:
        n, mean, m2 = self._n, self._mean, self._m2
        for i, mean1, m2_1 in stats:
            n[i] += 1
            mean[i] = mean1
            m2[i] = m2_1

    # ----------------------------------------------------------------- steps

    def _forecast(self, x: Any) -> Optional[NDArray[Any]]:
        """The net's output for the next step with input ``x``; None before any sample.
        Changes nothing."""
        pairs, _ = self._read(x)
        if self._net is None:
            return None
        u, _ = self._input(pairs)
        out: NDArray[Any] = self._stream.peek(u)
        return out

    def _learn(self, x: Any, target: Optional[NDArray[Any]], n_out: int) -> None:
        """One learning step on ``x`` towards ``target`` (None: traces only), after
        growing the net for new features and ``n_out`` outputs."""
        pairs, new = self._read(x)
        if new or self._net is None or n_out != self._n_out:
            try:
                features = sorted(set(self._features) | set(new), key=_feature_order)
            except TypeError:
                raise TypeError(f"x: feature names {new!r} cannot be ordered with the "
                                f"others (the inputs are in sorted order)") from None
            self._resize(features, n_out)
        u, stats = self._input(pairs)
        self._stream.step(u, target)
        self._update_stats(stats)
        self.n_samples += 1

    # ----------------------------------------------------------------- river

    @property
    def net(self) -> Optional[LSTM]:
        """The net (None before the first ``learn_one``); its inputs are
        :attr:`features` in this order.  Changing it changes the estimator."""
        return self._net

    @property
    def features(self) -> List[Hashable]:
        """The feature names, in the order of the net's inputs (sorted)."""
        return list(self._features)

    @property
    def state(self) -> Optional[State]:
        """The net's state now (a copy; None before the first ``learn_one``)."""
        return None if self._stream is None else self._stream.state

    def __getstate__(self) -> Dict[str, Any]:
        d = dict(self.__dict__)
        d["_stream"] = None if self._stream is None else self._stream.state
        return d

    def __setstate__(self, d: Dict[str, Any]) -> None:
        st = d.get("_stream")
        self.__dict__.update(d)
        if self._net is not None:
            self._stream = self._net.stream(learn=True, lr=self._lr, state=st)

    @classmethod
    def _unit_test_params(cls) -> Iterator[Dict[str, Any]]:
        yield {"n_blocks": 2, "block_size": 2, "seed": 0}
        yield {"n_blocks": 2, "forget_gate": False, "seed": 0}


class LSTMRegressor(_LSTMEstimator, base.Regressor):
    """An LSTM that learns a stream of (dict, number) pairs on-line, for river.

    One truncated-gradient step per :meth:`learn_one`, the state and traces carried from
    sample to sample (constant work per sample, no window replay); a linear output unit.
    See the module documentation for the predict-then-learn semantics, features and
    scaling.

    Parameters
    ----------
    n_blocks : int, default 4
        Memory blocks.
    block_size : int, default 1
        Cells per block.
    lr : float, default 0.03
        Learning rate of the on-line rule.
    forget_gate : bool, default True
        A forget gate per block (Gers et al. 2000); False gives the 1997 cell, whose
        state is never reset on an endless stream and may drift.
    forget_gate_bias : float or None, default None
        Initial forget-gate bias; None: 1.0 (positive: the cell starts by remembering).
        Must be None with ``forget_gate=False``.
    sources : {"full", "cells"}, default "cells"
        What gates and cell inputs read: inputs, cell outputs and gate activations
        ("full", 1997), or inputs and cell outputs ("cells").
    input_to_output : bool, default True
        Direct connections from the inputs to the output unit (a linear part beside the
        memory).
    init_range : float, default 0.1
        Initial weights uniform in ``[-init_range, init_range]``.
    scale_inputs : bool, default True
        Standardise each input with its running mean and standard deviation.
    scale_target : bool, default True
        Learn the standardised target; predictions are mapped back.
    dtype : {"float64", "float32"}, default "float64"
    seed : int or None, default None
        Seed of the initial weights (None: fresh randomness).

    Examples
    --------
    >>> from fastlstm.river import LSTMRegressor
    >>> model = LSTMRegressor(seed=0)
    >>> model.predict_one({"a": 1.0})          # nothing learnt yet
    0.0
    >>> model.learn_one({"a": 1.0}, 3.0)
    >>> model.features
    ['a']
    """

    def __init__(self, n_blocks: int = 4, block_size: int = 1, lr: float = 0.03, *,
                 forget_gate: bool = True, forget_gate_bias: Optional[float] = None,
                 sources: str = "cells", input_to_output: bool = True,
                 init_range: float = 0.1, scale_inputs: bool = True,
                 scale_target: bool = True, dtype: str = "float64",
                 seed: Optional[int] = None) -> None:
        super().__init__(n_blocks, block_size, lr, forget_gate=forget_gate,
                         forget_gate_bias=forget_gate_bias, sources=sources,
                         input_to_output=input_to_output, init_range=init_range,
                         scale_inputs=scale_inputs, dtype=dtype, seed=seed)
        self.scale_target = _check_bool(scale_target, "scale_target")
        self._y_n = 0
        self._y_mean = 0.0
        self._y_m2 = 0.0

    def _initial_outputs(self) -> int:
        return 1

    def _out(self) -> str:
        return "linear"

    def _y_std(self) -> float:
        return math.sqrt(self._y_m2 / self._y_n) if self._y_n > 0 else 0.0

    def learn_one(self, x: Dict[Hashable, Any], y: float) -> None:
        """Take one step on ``x`` (the step :meth:`predict_one` forecast) and learn ``y``.

        Parameters
        ----------
        x : dict
            Feature name -> number (None: missing).
        y : float
            The target of this step.
        """
        if isinstance(y, (bool, np.bool_)) or not isinstance(y, numbers.Real):
            raise TypeError(f"y: expected a real number, got {type(y).__name__}")
        yv = float(y)
        if not math.isfinite(yv):
            raise ValueError(f"y: must be finite, got {yv}")
        n, mean, m2 = self._y_n, self._y_mean, self._y_m2
        if self.scale_target:
            n += 1
            delta = yv - mean
            mean += delta / n
            m2 += delta * (yv - mean)
            std = math.sqrt(m2 / n)
            t = (yv - mean) / std if std > 0 else 0.0
        else:
            t = yv
        self._learn(x, np.array([t]), 1)
        self._y_n, self._y_mean, self._y_m2 = n, mean, m2

    def predict_one(self, x: Dict[Hashable, Any]) -> float:
        """The output of the step the next :meth:`learn_one` takes with input ``x``.

        Changes nothing (the state is not advanced).  Before the first
        :meth:`learn_one`: 0.0.
        """
        out = self._forecast(x)
        if out is None:
            return 0.0
        v = float(out[0])
        if self.scale_target:
            v = self._y_mean + self._y_std() * v
        return v


class LSTMClassifier(_LSTMEstimator, base.Classifier):
    """An LSTM classifier of a stream of (dict, label) pairs, learnt on-line, for river.

    Softmax outputs with cross-entropy, one unit per class seen so far (in the order of
    first appearance; a new class adds a unit with fresh weights and keeps the state);
    one truncated-gradient step per :meth:`learn_one`, the state and traces carried from
    sample to sample.  Parameters as :class:`LSTMRegressor` (without ``scale_target``).

    Examples
    --------
    >>> from fastlstm.river import LSTMClassifier
    >>> model = LSTMClassifier(seed=0)
    >>> model.learn_one({"a": 1.0}, "yes")
    >>> model.predict_proba_one({"a": 1.0})   # one class seen
    {'yes': 1.0}
    """

    def __init__(self, n_blocks: int = 4, block_size: int = 1, lr: float = 0.03, *,
                 forget_gate: bool = True, forget_gate_bias: Optional[float] = None,
                 sources: str = "cells", input_to_output: bool = True,
                 init_range: float = 0.1, scale_inputs: bool = True,
                 dtype: str = "float64", seed: Optional[int] = None) -> None:
        super().__init__(n_blocks, block_size, lr, forget_gate=forget_gate,
                         forget_gate_bias=forget_gate_bias, sources=sources,
                         input_to_output=input_to_output, init_range=init_range,
                         scale_inputs=scale_inputs, dtype=dtype, seed=seed)
        self._classes: List[base.typing.ClfTarget] = []
        self._class_index: Dict[base.typing.ClfTarget, int] = {}

    def _initial_outputs(self) -> int:
        return 2

    @property
    def _multiclass(self) -> bool:
        return True

    def _out(self) -> str:
        return "softmax"

    @property
    def classes(self) -> List[base.typing.ClfTarget]:
        """The classes seen so far, in the order of the output units."""
        return list(self._classes)

    def learn_one(self, x: Dict[Hashable, Any], y: base.typing.ClfTarget) -> None:
        """Take one step on ``x`` (the step :meth:`predict_proba_one` forecast) and learn
        the class ``y``.

        Parameters
        ----------
        x : dict
            Feature name -> number (None: missing).
        y : hashable
            The class of this step; a class not seen before adds an output unit.
        """
        if y is None:
            raise ValueError("y: expected a class label, got None")
        try:
            k = self._class_index.get(y)
        except TypeError:
            raise TypeError(f"y: class labels must be hashable, got "
                            f"{type(y).__name__}") from None
        n_classes = len(self._classes) + (k is None)
        n_out = max(2, n_classes)
        target = None
        if n_classes >= 2:
            target = np.zeros(n_out)
            target[len(self._classes) if k is None else k] = 1.0
        self._learn(x, target, n_out)
        if k is None:
            self._class_index[y] = len(self._classes)
            self._classes.append(y)

    def predict_proba_one(self, x: Dict[Hashable, Any],
                          **kwargs: Any) -> Dict[base.typing.ClfTarget, float]:
        """The class probabilities of the step the next :meth:`learn_one` takes with
        input ``x`` (the softmax outputs); changes nothing (``kwargs``: accepted for
        river's signature, unused).  ``{}`` before the first
        :meth:`learn_one`, ``{class: 1.0}`` while one class has been seen."""
        out = self._forecast(x)
        if out is None or not self._classes:
            return {}
        if len(self._classes) == 1:
            return {self._classes[0]: 1.0}
        p = np.asarray(out, dtype=np.float64)[:len(self._classes)]
        p = p / p.sum()
        return {c: float(v) for c, v in zip(self._classes, p)}
