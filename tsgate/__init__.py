"""tsgate: recurrent cells for time-series forecasting with Keras 3."""

__version__ = "0.1.0"

from tsgate.cells import *  # noqa: E402,F403
from tsgate.cells import __all__ as _cells  # noqa: E402
from tsgate.forecaster import Forecaster  # noqa: E402
from tsgate.interchange import from_keras, to_keras  # noqa: E402

__all__ = [*_cells, "Forecaster", "from_keras", "to_keras", "__version__"]
