"""fastlstm: the 1997 LSTM of Hochreiter & Schmidhuber and its truncated on-line
gradient, as a C kernel under a small numpy API.

>>> import fastlstm
>>> net = fastlstm.LSTM(n_in=2, n_out=1, n_blocks=2, block_size=2, seed=0)

``fastlstm.oracle`` has the same API in pure numpy; ``fastlstm.tasks`` generates the
paper's experiments.
"""
from ._base import FORMAT_VERSION, Stream
from ._state import State
from ._threads import get_num_threads, set_num_threads
from .network import LSTM, load

__version__ = "0.1.0"
__all__ = ["LSTM", "load", "Stream", "State", "FORMAT_VERSION", "__version__",
           "set_num_threads", "get_num_threads"]
