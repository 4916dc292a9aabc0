"""Type stub of the compiled boundary fastlstm._core (see _core.pyx, csrc/fastlstm.h)."""
from typing import Optional

import numpy as np

Dims = tuple  # (I, K, B, S, output_gate, g, h, out[, kernel[, sources[, forget_gate[, peepholes]]]])

G_IDS: dict[str, int]
H_IDS: dict[str, int]
OUT_IDS: dict[str, int]
SOURCES_IDS: dict[str, int]
SCHEDULES: dict[str, int]
KERNEL_FAST: int
KERNEL_NAIVE: int
MODE_FORWARD: int
MODE_LEARN: int
MODE_ACCUMULATE: int
MAX_THREADS: int

def layout(dims: Dims) -> dict[str, Optional[int]]: ...
def all_finite(a: np.ndarray) -> bool: ...
def targets_finite(t: np.ndarray, tmask: Optional[np.ndarray]) -> bool: ...
def ready_sequence(x: object, y: object, mask: object, I: int, K: int, typ: int) -> bool: ...
def copy_into(dst: np.ndarray, src: np.ndarray) -> None: ...
def forward(dims: Dims, params: np.ndarray, x: np.ndarray, y: np.ndarray,
            state: np.ndarray, work: np.ndarray) -> None: ...
def train(dims: Dims, params: np.ndarray, masks: np.ndarray, x: np.ndarray, t: np.ndarray,
          tmask: Optional[np.ndarray], alpha: float, schedule: int, y: np.ndarray,
          state: np.ndarray, work: np.ndarray, dW: np.ndarray) -> None: ...
def run(dims: Dims, params: np.ndarray, masks: np.ndarray, x: np.ndarray,
        t: Optional[np.ndarray], tmask: Optional[np.ndarray], alpha: float, mode: int,
        y: np.ndarray, state: np.ndarray, work: np.ndarray, dW: np.ndarray) -> None: ...
def step(dims: Dims, params: np.ndarray, masks: np.ndarray, x_t: np.ndarray,
         t_t: Optional[np.ndarray], alpha: float, mode: int, y_t: np.ndarray,
         state: np.ndarray, work: np.ndarray, dW: np.ndarray) -> None: ...
def apply(dims: Dims, params: np.ndarray, dW: np.ndarray) -> None: ...
def train_batch(dims: Dims, params: np.ndarray, masks: np.ndarray, x: np.ndarray,
                t: np.ndarray, tmask: Optional[np.ndarray], alpha: float, schedule: int,
                n_threads: int, y: np.ndarray, state: np.ndarray, work: np.ndarray,
                dW: np.ndarray) -> None: ...
def tape_len(dims: Dims, T: int) -> int: ...
def gradient(dims: Dims, params: np.ndarray, masks: Optional[np.ndarray], x: np.ndarray,
             t: np.ndarray, tmask: Optional[np.ndarray], truncated: bool, y: np.ndarray,
             grad: np.ndarray, tape: np.ndarray) -> float: ...
def forward_batch(dims: Dims, params: np.ndarray, x: np.ndarray,
                  lengths: Optional[np.ndarray], n_threads: int, y: np.ndarray,
                  zs: np.ndarray, scratch: np.ndarray) -> None: ...
