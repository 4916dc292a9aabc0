"""fastlstm: the 1997 LSTM of Hochreiter & Schmidhuber and its truncated on-line
gradient, as a C kernel under a small numpy API.

>>> import fastlstm
>>> net = fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2, seed=0)

``fastlstm.oracle`` has the same API in pure numpy; ``fastlstm.tasks`` generates the
paper's experiments and ``fastlstm.experiments`` runs them (both imported on first use,
so that ``import fastlstm`` needs numpy only).
"""
from typing import TYPE_CHECKING, Any, List

from ._base import FORMAT_VERSION, Stream
from ._state import State
from ._threads import get_num_threads, set_num_threads
from .network import LSTM, load

if TYPE_CHECKING:
    from . import experiments, tasks

__version__ = "0.1.0"
__all__ = ["LSTM", "load", "Stream", "State", "FORMAT_VERSION", "__version__",
           "set_num_threads", "get_num_threads"]

_LAZY = ("tasks", "experiments")


def __getattr__(name: str) -> Any:
    """Import the submodules of :data:`_LAZY` on first attribute access."""
    if name in _LAZY:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))
