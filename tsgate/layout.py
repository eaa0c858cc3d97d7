"""Where each column goes: the layout of a forecaster's values and model
inputs, derived once from its configuration.

Panel values hold the scaled columns side by side, `targets | past | future`;
calendar features (`tsgate.calendar_features`) are computed from the
timestamps (in the zone the forecaster was fitted in) and join the future
block unscaled; static covariates are one row per series, standardized over
the training series.
Categorical covariates appear as their one-hot indicator columns
(`Layout.encoded`), which the scaler leaves as they are. The model takes them
as named inputs:

    past_target        (b, lookback, n_target)
    past_covariates    (b, lookback, n_past)
    future_covariates  (b, horizon, n_future + n_calendar_columns)
    static             (b, n_static)

and returns `(b, horizon, n_target)`, or `(b, horizon, n_target, n_quantiles)`.
"""

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsgate._moved import lender
from tsgate.calendar_features import CALENDAR_FIELDS, HOLIDAY, calendar_features, calendar_metadata, check_holidays
from tsgate.validation import check_choice, invalid


def quantile_column(target, q):
    """The forecast column of quantile `q` of `target`, e.g. `y_q0.9`."""
    return f"{target}_q{q:g}"


def column_names(name, value):
    """A column argument (one name or several) as a tuple of str."""
    if isinstance(value, str):
        value = (value,)
    names = tuple(value) if isinstance(value, (list, tuple)) else None
    if names is None or not all(isinstance(n, str) and n for n in names):
        raise invalid(name, "a column name or a list of column names", value)
    return names


def check_levels(quantiles, name="quantiles"):
    """Quantile levels (a list, tuple or 1-D array of numbers in (0, 1), 0.5
    among them, each once) as a sorted tuple of float; `name`: the argument."""
    expected = "distinct levels in (0, 1) including 0.5 (a list or tuple of numbers)"
    if isinstance(quantiles, np.ndarray) and quantiles.ndim == 1:
        quantiles = quantiles.tolist()
    if not isinstance(quantiles, (list, tuple)):
        raise invalid(name, expected, quantiles)
    if not all(isinstance(q, numbers.Real) and not isinstance(q, (bool, np.bool_)) for q in quantiles):
        raise invalid(name, expected, quantiles)
    levels = tuple(sorted(float(q) for q in quantiles))
    if 0.5 not in levels or not all(0 < q < 1 for q in levels) or len(set(levels)) < len(levels):
        raise invalid(name, expected, quantiles)
    return levels


@dataclass(frozen=True)
class ModelSpec:
    """What a model builder needs to know: window lengths, the width of each
    named input, and the quantiles of the head (None: a point forecast)."""

    lookback: int
    horizon: int
    n_target: int
    n_past: int = 0
    n_future: int = 0
    n_static: int = 0
    quantiles: tuple = None

    def input_shapes(self):
        """{input name: shape without the batch axis} of the inputs that exist."""
        shapes = {
            "past_target": (self.lookback, self.n_target),
            "past_covariates": (self.lookback, self.n_past),
            "future_covariates": (self.horizon, self.n_future),
            "static": (self.n_static,),
        }
        return {name: shape for name, shape in shapes.items() if shape[-1] > 0}

    def output_shape(self):
        point = (self.horizon, self.n_target)
        return point if not self.quantiles else (*point, len(self.quantiles))


@dataclass(frozen=True)
class Layout:
    """Column names by role (tuples of str), the quantile levels of the
    forecast (sorted, None for a point forecast), the holidays of the
    "holiday" calendar field (see `tsgate.calendar_features.check_holidays`),
    and the one-hot indicator columns among past, future and static (those
    among past and future are left unscaled, being constant on some training
    rows; static ones are standardized with the other static covariates, here
    and in the export)."""

    targets: tuple
    past: tuple = ()
    future: tuple = ()
    calendar: tuple = ()
    static: tuple = ()
    quantiles: tuple = None
    holidays: object = None
    indicators: tuple = ()

    @classmethod
    def from_arguments(cls, target, past=(), future=(), calendar=(), static=(), quantiles=None, holidays=None):
        """The layout of a Forecaster's arguments (a name or a list of names
        each; quantile levels in any order), validated."""
        levels = None if quantiles is None else check_levels(quantiles)
        layout = cls(column_names("target", target), column_names("past_covariates", past),
                     column_names("future_covariates", future), column_names("calendar", calendar),
                     column_names("static_covariates", static), levels,
                     check_holidays(holidays))
        for name in layout.calendar:
            check_choice("calendar", name, CALENDAR_FIELDS)
        if len(set(layout.calendar)) < len(layout.calendar):
            raise invalid("calendar", "distinct calendar fields", calendar)
        if (HOLIDAY in layout.calendar) != (holidays is not None):
            raise ValueError("The calendar field 'holiday' (in `calendar`) and the argument `holidays` go together: "
                             "pass calendar=[..., 'holiday'] with holidays=<a pandas holiday calendar or dates> (got "
                             f"calendar={calendar!r}, holidays={holidays!r}).")
        if not layout.targets:
            raise invalid("target", "at least one column name", target)
        used = layout.scaled + layout.static
        if len(set(used)) < len(used):
            raise ValueError(f"A column may have one role only; {sorted({c for c in used if used.count(c) > 1})} have several.")
        return layout

    @property
    def scaled(self):
        """The columns of the panel and the scaler, in order."""
        return self.targets + self.past + self.future

    @property
    def calendar_columns(self):
        return tuple(column for name in self.calendar
                     for column in ((HOLIDAY,) if name == HOLIDAY else (f"{name}_sin", f"{name}_cos")))

    def encoded(self, indicators):
        """This layout with each categorical column replaced by its one-hot
        indicator columns ({column: names}, see
        `tsgate.data.CategoricalEncoder`), which become `indicators`."""
        def expand(names):
            return tuple(new for name in names for new in indicators.get(name, (name,)))

        added = tuple(new for names in indicators.values() for new in names)
        layout = dataclasses.replace(self, past=expand(self.past), future=expand(self.future),
                                     static=expand(self.static), indicators=self.indicators + added)
        used = layout.scaled + layout.static + layout.calendar_columns
        clash = sorted({c for c in used if used.count(c) > 1})
        if clash:
            raise ValueError(f"The one-hot columns of the categorical covariates clash with other columns: {clash}; "
                             "rename those columns.")
        return layout

    def input_columns(self):
        """{model input: the column names along its last axis}, for the inputs that exist."""
        columns = {
            "past_target": self.targets,
            "past_covariates": self.past,
            "future_covariates": self.future + self.calendar_columns,
            "static": self.static,
        }
        return {name: list(names) for name, names in columns.items() if names}

    def spec(self, lookback, horizon):
        """The `ModelSpec` of windows `lookback` → `horizon` (Python ints: Keras
        refuses NumPy integers as layer sizes)."""
        return ModelSpec(int(lookback), int(horizon), len(self.targets), len(self.past),
                         len(self.future) + len(self.calendar_columns), len(self.static), self.quantiles)

    def arrays(self, values, time):
        """Per-row arrays by role from panel `values` `(rows, n_scaled)` and
        their timestamps (`Panel.index()`: calendar fields are read in its
        zone): "target", "past_covariates", "future_covariates" (future
        columns then calendar features), those that exist."""
        blocks = np.split(values, np.cumsum([len(self.targets), len(self.past)]), axis=1)
        arrays = {"target": blocks[0]}
        if self.past:
            arrays["past_covariates"] = blocks[1]
        future = [blocks[2]] if self.future else []
        if self.calendar:
            future.append(calendar_features(pd.DatetimeIndex(time), self.calendar, self.holidays).to_numpy(values.dtype))
        if future:
            arrays["future_covariates"] = np.concatenate(future, axis=1)
        return arrays

    def input_scaling(self, scale, offset, static_scale=None, static_offset=None):
        """{model input: (scale, offset) over its last axis} from the
        coefficients of the scaled columns `(..., n_scaled)` and of the
        static covariates `(n_static,)` (None: not scaled), repeated over the
        leading axes of `scale`; calendar features pass through (scale 1,
        offset 0)."""
        bounds = np.cumsum([0, len(self.targets), len(self.past), len(self.future)])
        pieces = {name: slice(a, b) for name, a, b in zip(("past_target", "past_covariates", "future"), bounds, bounds[1:])}
        scaling = {}
        for name in ("past_target", "past_covariates"):
            if pieces[name].stop > pieces[name].start:
                scaling[name] = (scale[..., pieces[name]], offset[..., pieces[name]])
        if self.future or self.calendar:
            identity = np.ones((*scale.shape[:-1], len(self.calendar_columns)))
            scaling["future_covariates"] = (
                np.concatenate([scale[..., pieces["future"]], identity], axis=-1),
                np.concatenate([offset[..., pieces["future"]], 0 * identity], axis=-1),
            )
        if self.static and static_scale is not None:
            shape = (*scale.shape[:-1], len(self.static))
            scaling["static"] = (np.broadcast_to(static_scale, shape).copy(), np.broadcast_to(static_offset, shape).copy())
        return scaling

    def output_columns(self):
        """The columns of a forecast frame: each target (the median with
        quantiles), preceded by its quantile columns."""
        columns = []
        for name in self.targets:
            columns += [quantile_column(name, q) for q in self.quantiles or ()] + [name]
        return columns

    def frame(self, outputs, index):
        """A forecast DataFrame: `outputs` of the raw-unit model ("forecast"
        `(windows, horizon, n_target)`, "quantiles" with a trailing quantile
        axis) in `output_columns()`, one row per window and step of `index`."""
        forecast = outputs["quantiles"] if self.quantiles else outputs["forecast"]
        values = forecast.reshape(-1, *forecast.shape[2:])
        if self.quantiles:
            median = values[:, :, self.quantiles.index(0.5), None]
            values = np.concatenate([values, median], axis=-1).reshape(len(values), -1)
        return pd.DataFrame(values, index=index, columns=self.output_columns())

    def metadata(self, start, end):
        """Targets, input columns and how the calendar columns are computed
        (holiday dates from `start` to `end`), for export."""
        return {"targets": list(self.targets), "inputs": self.input_columns(),
                "calendar": calendar_metadata(self.calendar, self.holidays, start, end)}


__getattr__ = lender(__name__, dict.fromkeys(("CALENDAR_PERIODS", "holiday_dates"), "tsgate.calendar_features"))
