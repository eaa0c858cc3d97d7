"""tsgate's recurrent cells and their sequence layers."""

from tsgate.cells.conv_gru import ConvGRU1D, ConvGRU1DCell, ConvGRU2D, ConvGRU2DCell, ConvGRU3D, ConvGRU3DCell
from tsgate.cells.gru import GRU, GRUCell
from tsgate.cells.lstm import LSTM, LSTMCell
from tsgate.cells.memory_gru import MemoryGRU, MemoryGRUCell
from tsgate.cells.sru import SRU, SRUCell

__all__ = [
    "ConvGRU1D",
    "ConvGRU1DCell",
    "ConvGRU2D",
    "ConvGRU2DCell",
    "ConvGRU3D",
    "ConvGRU3DCell",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "MemoryGRU",
    "MemoryGRUCell",
    "SRU",
    "SRUCell",
]
