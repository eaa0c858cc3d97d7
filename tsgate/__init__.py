"""tsgate: recurrent cells for time-series forecasting with Keras 3."""

from tsgate.cells import GRU, LSTM, GRUCell, LSTMCell, MemoryGRU, MemoryGRUCell
from tsgate.interchange import from_keras, to_keras

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "MemoryGRU",
    "MemoryGRUCell",
    "from_keras",
    "to_keras",
    "__version__",
]
