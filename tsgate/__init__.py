"""tsgate: recurrent cells for time-series forecasting with Keras 3."""

from tsgate.cells import *  # noqa: F403
from tsgate.cells import __all__ as _cells
from tsgate.interchange import from_keras, to_keras

__version__ = "0.1.0"

__all__ = [
    *_cells,
    "from_keras",
    "to_keras",
    "__version__",
]
