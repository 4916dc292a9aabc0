"""Trials of the two experiments beyond the 1997 paper: continual prediction and timing.

* :func:`cerg_trial`: the continual embedded Reber grammar (Gers, Schmidhuber & Cummins
  2000, their Table 2): the 1997 net with a reset at each string, without reset, and the
  forget-gate net with and without learning-rate decay.
* :func:`spike_trial`: measuring spike delays (after Gers, Schraudolph & Schmidhuber
  2002) with and without peephole connections.

Same conventions as :mod:`.protocols`: ``f(**row_params, seed, max_sequences=None,
ablation=None, progress=False)`` returns a JSON-ready dict with ``success``,
``stop_reason``, ``sequences`` (here: training streams, resp. training chunks),
``wall_time`` and the list ``decided`` of the choices where the sources are silent.
The protocols are described in ``docs/experiments.md``.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

import fastlstm
from fastlstm.tasks.cerg import ContinualReberStream, first_error
from fastlstm.tasks.spikes import SPIKE_TOLERANCE, SpikeDelayStream

from .protocols import _Bar, _net_info, _rngs

__all__ = ["CERG_VARIANTS", "cerg_trial", "spike_trial", "cerg_class"]

#: variant -> (forget gate, reset at each string, learning-rate decay)
CERG_VARIANTS: Dict[str, Tuple[bool, bool, bool]] = {
    "reset": (False, True, False),
    "noreset": (False, False, False),
    "forget": (True, False, False),
    "forget-decay": (True, False, True),
}

#: error-free test length above which a net that is not perfect counts as "good"
GOOD_LENGTH = 1000


def _no_ablation(ablation: Optional[str], what: str) -> None:
    if ablation is not None:
        raise ValueError(f"ablation: the {what} rows have no ablations (got {ablation!r}); "
                         "run them without --ablation")


def cerg_class(test_lengths: List[int], test_length: int) -> str:
    """'perfect', 'good' or 'rest' from the error-free lengths of one test.

    Parameters
    ----------
    test_lengths : list of int
        Error-free length of each test stream.
    test_length : int
        Length of a test stream (an error-free stream has this length).

    Returns
    -------
    str
        "perfect" if every stream was error-free, "good" if the mean error-free length is
        above 1000, else "rest".
    """
    if test_lengths and min(test_lengths) >= test_length:
        return "perfect"
    return "good" if float(np.mean(test_lengths)) > GOOD_LENGTH else "rest"


class _CergNet:
    """The trial's net with the stream protocol: train until the first error, test."""

    def __init__(self, net: fastlstm.LSTM, reset: bool) -> None:
        self.net, self.reset = net, reset
        self.symbols = 0                # symbols processed (training and test)

    def train_stream(self, stream: ContinualReberStream, lr: float, limit: int) -> int:
        """Learn on-line from `stream` until the first wrong step (its update included) or
        `limit` symbols; return the symbols learned."""
        net = self.net
        n, chunk = 0, 16
        state = None if self.reset else net.initial_state()
        while n < limit:
            if self.reset:
                _, x, y = stream.take_string()
                if n + x.shape[0] > limit:
                    x, y = x[:limit - n], y[:limit - n]
            else:
                x, y = stream.take(min(chunk, limit - n))
                chunk = min(2 * chunk, 4096)
            theta = net._theta.copy()
            if self.reset:
                out = net.train_sequence(x, y, lr=lr)
                new_state = None
            else:
                out, new_state = net.train_sequence(x, y, lr=lr, state=state,
                                                    return_state=True)
            e = first_error(out, y)
            if e >= 0:
                # the stream ends at its first error: undo the steps after it (the kernel
                # is deterministic, so the replay gives the same outputs up to it)
                net._theta[...] = theta
                net.train_sequence(x[:e + 1], y[:e + 1], lr=lr, state=state)
                n += e + 1
                self.symbols += e + 1
                return n
            n += x.shape[0]
            self.symbols += x.shape[0]
            state = new_state
        return n

    def test_stream(self, stream: ContinualReberStream, limit: int,
                    cache: Dict[str, int]) -> int:
        """Error-free length of one test stream (forward only), at most `limit`."""
        net = self.net
        n = 0
        if self.reset:                 # each string from a zero state: cache per string
            while n < limit:
                s, x, y = stream.take_string()
                e = cache.get(s)
                if e is None:
                    e = cache[s] = first_error(net.forward(x), y)
                    self.symbols += len(s)
                if e >= 0:
                    return min(n + e, limit)
                n += len(s)
            return limit
        state, chunk = net.initial_state(), 32
        while n < limit:
            k = min(chunk, limit - n)
            x, y = stream.take(k)
            out, state = net.forward(x, state, return_state=True)
            chunk = min(2 * chunk, 16384)
            e = first_error(out, y)
            if e >= 0:
                self.symbols += e + 1
                return n + e
            n += k
            self.symbols += k
        return limit


def cerg_trial(variant: str, *, seed: int, max_sequences: Optional[int] = None,
               ablation: Optional[str] = None, progress: bool = False,
               max_symbols: int = 30_000_000, train_length: int = 1_000_000,
               test_streams: int = 10, test_length: int = 100_000,
               lr: float = 0.5, decay: float = 0.99, decay_every: int = 100
               ) -> Dict[str, Any]:
    """The continual embedded Reber grammar (Gers et al. 2000, Table 2): one trial.

    Parameters
    ----------
    variant : {"reset", "noreset", "forget", "forget-decay"}
        The 1997 net with its state reset at the start of every string, the 1997 net
        without reset, the forget-gate net, the forget-gate net with learning-rate decay.
    seed : int
        Weights, training streams and test streams.
    max_sequences : int, optional
        Cap on training streams (default and the published protocol: 30,000).
    max_symbols : int
        Budget of symbols processed per trial, training and test together (the
        project's cap on run time); a trial that uses it up stops like one at the cap.
    train_length, test_streams, test_length : int
        A training stream ends at its first error or after `train_length` symbols; after
        each the net is tested on `test_streams` fresh streams of up to `test_length`.
    lr, decay, decay_every : float, float, int
        Learning rate; with "forget-decay" it is multiplied by `decay` after every
        `decay_every` training streams.
    """
    if variant not in CERG_VARIANTS:
        raise ValueError(f"variant: unknown {variant!r}; choose from {sorted(CERG_VARIANTS)}")
    _no_ablation(ablation, "cerg")
    if max_sequences is None:
        max_sequences = 30_000
    forget, reset, use_decay = CERG_VARIANTS[variant]
    rng_w, rng_train, rng_test = _rngs(seed, 3)
    net = fastlstm.LSTM(7, 7, 4, 2, sources="cells", input_to_output=True,
                        bias=("gates", "outputs"), init_range=0.2,
                        in_gate_bias=[-0.5, -1.0, -1.5, -2.0],
                        out_gate_bias=[-0.5, -1.0, -1.5, -2.0], forget_gate=forget,
                        forget_gate_bias=[0.5, 1.0, 1.5, 2.0] if forget else None,
                        seed=rng_w)
    runner = _CergNet(net, reset)
    bar = _Bar(progress, max_sequences, f"cerg {variant} s{seed}", every=100)
    t0 = time.perf_counter()
    reason, n, rate = "cap", 0, lr
    lengths: List[int] = [0] * test_streams
    curve: Dict[str, List[Any]] = {"sequences": [], "train_length": [],
                                   "test_mean_length": []}
    every, train_sum, train_cnt = 1, 0, 0
    best = 0.0
    def full_test() -> List[int]:
        cache: Dict[str, int] = {}
        return [runner.test_stream(ContinualReberStream(rng_test), test_length, cache)
                for _ in range(test_streams)]

    try:
        for n in range(1, max_sequences + 1):
            ln = runner.train_stream(ContinualReberStream(rng_train), rate, train_length)
            train_sum += ln
            train_cnt += 1
            # the success test: stop at the first test stream with an error (the others
            # cannot change the verdict)
            cache: Dict[str, int] = {}
            perfect = True
            for _ in range(test_streams):
                if runner.test_stream(ContinualReberStream(rng_test), test_length,
                                      cache) < test_length:
                    perfect = False
                    break
            if perfect:
                lengths = [test_length] * test_streams
            if n % every == 0 or perfect:
                if not perfect:
                    lengths = full_test()
                mean_len = float(np.mean(lengths))
                best = max(best, mean_len)
                curve["sequences"].append(n)
                curve["train_length"].append(round(train_sum / train_cnt, 2))
                curve["test_mean_length"].append(mean_len)
                train_sum = train_cnt = 0
                if len(curve["sequences"]) >= 100 * len(str(every)):
                    every *= 10
                bar.tick(n, test=f"{mean_len:.0f}")
            if use_decay and n % decay_every == 0:
                rate *= decay
            if perfect:
                reason = "success"
                break
            if runner.symbols >= max_symbols:
                reason = "budget"
                break
        if reason != "success":
            lengths = full_test()
            best = max(best, float(np.mean(lengths)))
            if not curve["sequences"] or curve["sequences"][-1] != n:
                curve["sequences"].append(n)
                curve["train_length"].append(round(train_sum / max(train_cnt, 1), 2))
                curve["test_mean_length"].append(float(np.mean(lengths)))
    except FloatingPointError:
        reason = "diverged"
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    cls = "rest" if reason == "diverged" else cerg_class(lengths, test_length)
    decided = [
        "targets: 1 for every legal next symbol, 0 for the others (after E: the next "
        "string's B); a step is wrong when some output is 0.49 or farther from its target",
        "net: 4 blocks of 2 cells, sources 'cells' (gates and cell inputs fed by the "
        "inputs and the previous cell outputs), bias on the gates and the output units, "
        "output units fed by the inputs and the cells, logistic outputs, g = g2, h = h1 "
        f"({net.n_weights} weights)",
        "input- and output-gate biases -0.5, -1.0, -1.5, -2.0 for blocks 1-4"
        + (", forget-gate biases +0.5, +1.0, +1.5, +2.0" if forget else "")
        + "; every other weight uniform in [-0.2, 0.2]",
        f"learning rate {lr}, truncated gradient, schedule 'step'",
        "each training and test stream starts from a zero state (cell states, "
        "activations, traces)" + ("; the state is also reset at the start of every "
                                  "string" if reset else "; no reset inside a stream"),
        f"a training stream ends at its first error (its update included) or after "
        f"{train_length} symbols; after each, {test_streams} fresh test streams of up to "
        f"{test_length} symbols, forward only, each ending at its first error; the test "
        "stops at its first stream with an error (the verdict 'not perfect' is known "
        "then); the mean error-free length is measured on all the streams of a full "
        "test at the curve points and at the end",
        "perfect: all test streams error-free; good: mean error-free test length "
        f"> {GOOD_LENGTH}; otherwise rest; nets not perfect are classified by their last "
        "test",
        f"cap {max_sequences} training streams and {max_symbols} symbols (training and "
        "test) per trial",
    ]
    if use_decay:
        decided.append(f"learning-rate decay: lr multiplied by {decay} after every "
                       f"{decay_every} training streams")
    return {
        "success": reason == "success", "stop_reason": reason, "sequences": n,
        "class": cls, "test": {"lengths": lengths, "mean_length": float(np.mean(lengths)),
                               "best_mean_length": best},
        "symbols": runner.symbols, "final_lr": rate, "curve": curve, "wall_time": wall,
        "rule": "truncated gradient, schedule 'step' (on-line)", **_net_info(net),
        "decided": decided}


def spike_trial(F: int, intervals: Tuple[int, ...], peepholes: bool, *, seed: int,
                max_sequences: Optional[int] = None, ablation: Optional[str] = None,
                progress: bool = False, lr: float = 1.0, chunk_spikes: int = 100,
                test_spikes: int = 1000) -> Dict[str, Any]:
    """Measuring spike delays with one cell, with or without peepholes: one trial.

    The net learns on-line from one endless spike train (never reset), in chunks of
    `chunk_spikes` spikes; after each chunk it is tested on a fresh train of `test_spikes`
    spikes from a zero state. Success: no wrong step in a test.

    Parameters
    ----------
    F : int
        Fixed part of the inter-spike interval.
    intervals : tuple of int
        Values of the variable part (the target at each spike).
    peepholes : bool
        Peephole connections from the cell state to its gates.
    max_sequences : int, optional
        Cap on training chunks (default 2,000).
    lr : float
        Learning rate (1.0: the only value of 1.0, 0.1, 0.01 under which a net of a
        two-seed pilot of 1,000 chunks solved the task).
    """
    _no_ablation(ablation, "spikes")
    if max_sequences is None:
        max_sequences = 2_000
    rng_w, rng_train, rng_test = _rngs(seed, 3)
    net = fastlstm.LSTM(1, 1, 1, 1, sources="cells", forget_gate=True, peepholes=peepholes,
                        bias=True, out="linear", h="id", init_range=0.1,
                        in_gate_bias=[0.0], out_gate_bias=[2.0], forget_gate_bias=[-2.0],
                        seed=rng_w)
    train = SpikeDelayStream(rng_train, F, intervals)
    per_chunk = int(round(chunk_spikes * (F + float(np.mean(intervals)))))
    bar = _Bar(progress, max_sequences, f"spikes F{F} peep{int(peepholes)} s{seed}", every=10)
    t0 = time.perf_counter()
    reason, n = "cap", 0
    state = net.initial_state()
    wrong = test_steps = 0
    curve: Dict[str, List[Any]] = {"sequences": [], "test_wrong_fraction": []}
    every = 1
    try:
        for n in range(1, max_sequences + 1):
            x, y, mask = train.take(per_chunk)
            _, state = net.train_sequence(x, y, mask, lr=lr, state=state, return_state=True)
            test = SpikeDelayStream(rng_test, F, intervals)
            tx, ty, tm = test.take(int(round(test_spikes * (F + float(np.mean(intervals))))))
            out = net.forward(tx)
            d = np.abs(out[tm, 0] - ty[tm, 0])
            bad = ~(d < SPIKE_TOLERANCE)
            wrong, test_steps = int(np.count_nonzero(bad)), int(tm.sum())
            if n % every == 0 or wrong == 0 or n == max_sequences:
                curve["sequences"].append(n)
                curve["test_wrong_fraction"].append(wrong / test_steps)
                if len(curve["sequences"]) >= 100 * len(str(every)):
                    every *= 10
            bar.tick(n, wrong=wrong)
            if wrong == 0:
                reason = "success"
                break
    except FloatingPointError:
        reason = "diverged"
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    return {
        "success": reason == "success", "stop_reason": reason, "sequences": n,
        "spikes": n * chunk_spikes if reason != "diverged" else None,
        "test": {"wrong_steps": wrong, "steps": test_steps,
                 "fraction_wrong": wrong / test_steps if test_steps else None},
        "curve": curve, "wall_time": wall,
        "rule": "truncated gradient, schedule 'step' (on-line)", **_net_info(net),
        "decided": [
            f"spike n at T(n) = T(n-1) + {F} + I(n), I(n) uniform in {list(intervals)}; "
            "target I(n) at the spike, 0 elsewhere; the first spike has no target",
            "net: 1 input, 1 block of 1 cell with input, forget and output gates, sources "
            "'cells', bias on gates, cell and output unit, linear output fed by the cell, "
            "h = identity, g = g2" + (", peepholes" if peepholes else ", no peepholes")
            + f" ({net.n_weights} weights)",
            "initial biases: forget gate -2, input gate 0, output gate +2; every other "
            "weight uniform in [-0.1, 0.1]",
            f"learning rate {lr} (a pilot of 2 seeds x 1,000 chunks with 1.0, 0.1 and "
            "0.01: only 1.0 gave a solution), truncated gradient, schedule 'step'; one endless "
            f"training stream, never reset, fed in chunks of {per_chunk} steps "
            f"({chunk_spikes} spikes on average)",
            f"after each chunk: a fresh test stream of {test_spikes} spikes from a zero "
            "state, forward only; success: no step with |output - target| >= 0.49",
            f"cap {max_sequences} chunks"]}
