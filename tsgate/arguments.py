"""The checks of `Forecaster`'s constructor arguments, run once per `fit`
(and at `load`), before any data is read: each failure is a ValueError
naming the argument, the value received and what was expected.

`check_arguments(params)` takes `Forecaster.get_params()` and returns the
validated `Layout` (which column goes where); `plain_arguments` writes the
arguments as plain values for the checkpoint fingerprint.
"""

import inspect
import numbers

import keras

from tsgate.calibration import check_calibration
from tsgate.choices import DTYPE_POLICIES, DUPLICATES, SCHEDULES
from tsgate.lookback import is_auto
from tsgate.data import FILLS, check_freq, check_na_values
from tsgate.data.exchanges import looks_like_exchange
from tsgate.layout import Layout, column_names
from tsgate.models import BUILDERS, CELLS, POINT_LOSSES
from tsgate.scaling import AffineScaler
from tsgate.transforms import TRANSFORMS
from tsgate.validation import (
    LARGEST,
    check_bool,
    check_choice,
    check_optional_name,
    check_positive_float,
    check_positive_int,
    invalid,
)

BUILDER_ARGUMENTS = ("cell", "units", "layers")  # Forecaster arguments every builder takes


def check_arguments(params):
    """Every constructor argument of a Forecaster (`params`, its
    `get_params(deep=False)`) checked; the validated layout."""
    lookback = params["lookback"]
    if not is_auto(lookback) and (not isinstance(lookback, numbers.Integral) or isinstance(lookback, bool)
                                  or not 0 < lookback <= LARGEST):
        raise invalid("lookback", f"a positive integer up to {LARGEST}, or 'auto' (planned at fit)", lookback)
    for name in ("horizon", "stride", "units", "layers", "n_members"):
        check_positive_int(name, params[name], LARGEST)
    cell = params["cell"]
    if not isinstance(cell, (str, keras.layers.Layer)) or isinstance(cell, str) and cell not in CELLS:
        raise invalid("cell", f"one of {sorted(CELLS)} or a Keras layer", cell)
    check_bool("scale_per_series", params["scale_per_series"])
    check_choice("fill", params["fill"], FILLS)
    check_bool("sort", params["sort"])
    check_choice("duplicates", params["duplicates"], DUPLICATES)
    check_na_values(params["na_values"])
    if params["freq"] is not None and not looks_like_exchange(params["freq"]):  # an exchange resolves at fit
        check_freq(params["freq"])
    check_optional_name("time_column", params["time_column"])
    check_optional_name("series_column", params["series_column"])
    check_choice("builder", params["builder"], BUILDERS)
    _check_builder_options(params["builder"], params["builder_options"], params["lookback"])
    check_choice("loss", params["loss"], POINT_LOSSES)
    check_positive_float("learning_rate", params["learning_rate"])
    check_choice("schedule", params["schedule"], SCHEDULES)
    check_choice("target_transform", params["target_transform"], TRANSFORMS)
    check_choice("dtype_policy", params["dtype_policy"], DTYPE_POLICIES)
    check_bool("non_negative", params["non_negative"])
    seed = params["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise invalid("seed", "an int in [0, 2**32)", seed)
    AffineScaler(params["scaler"]).transformer()  # `scaler` checked
    layout = _layout(params)
    if params["calibration"] is not None:
        check_calibration(params["calibration"], layout.quantiles)
    for name in ("time_column", "series_column"):
        column = params[name]
        if column is not None and column in layout.scaled + layout.static:
            raise invalid(name, "a column with no other role", column)
    if params["time_column"] is not None and params["time_column"] == params["series_column"]:
        raise invalid("series_column", "a column other than `time_column`", params["series_column"])
    return layout


def _layout(params):
    """The validated column layout; `categorical` names distinct covariates."""
    layout = Layout.from_arguments(params["target"], params["past_covariates"], params["future_covariates"],
                                   params["calendar"], params["static_covariates"], params["quantiles"],
                                   params["holidays"])
    covariates = layout.past + layout.future + layout.static
    categorical = column_names("categorical", params["categorical"])
    for name in categorical:
        if name not in covariates or categorical.count(name) > 1:
            raise invalid("categorical", "distinct columns among past_covariates, future_covariates and "
                          "static_covariates", params["categorical"])
    return layout


def _check_builder_options(builder, options, lookback):
    """`builder_options`: None or keyword arguments that `builder` takes
    besides the Forecaster's own `BUILDER_ARGUMENTS`."""
    if options is None:
        return
    if not isinstance(options, dict) or not all(isinstance(key, str) for key in options):
        raise invalid("builder_options", "a dict of keyword arguments or None", options)
    if is_auto(options.get("segment_length")) and not is_auto(lookback):
        raise invalid("builder_options", "segment_length='auto' only with lookback='auto' (both planned at fit)",
                      options)
    parameters = inspect.signature(BUILDERS[builder]).parameters
    accepted = [name for name in list(parameters)[1:] if name not in BUILDER_ARGUMENTS]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = [key for key in options if key in BUILDER_ARGUMENTS or not (takes_any or key in accepted)]
    if unknown:
        raise invalid("builder_options", f"options of the {builder!r} builder among {accepted} "
                      f"({list(BUILDER_ARGUMENTS)} are Forecaster arguments)", options)


def plain_arguments(params):
    """The constructor arguments in name order, Keras layers by their config
    (what the checkpoint fingerprint compares)."""
    return {name: (value.get_config() | {"name": None} if isinstance(value, keras.layers.Layer) else value)
            for name, value in sorted(params.items())}
