"""tsgate's recurrent cells and their sequence layers."""

from tsgate.cells.gru import GRU, GRUCell
from tsgate.cells.lstm import LSTM, LSTMCell
from tsgate.cells.memory_gru import MemoryGRU, MemoryGRUCell

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "MemoryGRU", "MemoryGRUCell"]
