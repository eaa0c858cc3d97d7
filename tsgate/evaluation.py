"""Accuracy in raw units: point and probabilistic metrics, the naive and
seasonal-naive baselines, `evaluate` and `score`. Pure functions over a
fitted forecaster's historical forecasts; the forecaster they are given is
never changed (backtests, which fit clones, are in `tsgate.model_selection`).

Every metric skips the values whose actual is missing (NaN in
`Panel.frame`): a missing target is left out, never scored as a number.
"""

import numpy as np
import pandas as pd

from tsgate._moved import lender
from tsgate.choices import GROUPS, UNITS  # what `by` and `units` may name
from tsgate.data import season_length
from tsgate.layout import quantile_column
from tsgate.validation import check_choice, check_fitted, check_positive_int, invalid, warn



def metrics(actual, forecast, scale, origin=None):
    """MAE, RMSE, MAPE (%), sMAPE (%), MASE (MAE over `scale`, the
    in-sample one-step naive MAE) and, given the value at each forecast's
    origin (`origin`, the last observed), direction (%): the share of
    forecasts that move from it the way the actual moved,

        direction = mean(sign(ŷ − y_origin) = sign(y − y_origin))   over y ≠ y_origin

    (NaN for a forecast that never moves, as the naive one) of `forecast`
    against `actual` (arrays of one shape), over the values whose actual is
    finite; NaN without any."""
    keep = np.isfinite(actual) & ~np.isnan(forecast)  # a baseline without a value there scores the others
    actual, forecast = actual[keep], forecast[keep]
    names = ("MAE", "RMSE", "MAPE", "sMAPE", "MASE", "direction")
    if not actual.size:
        return dict.fromkeys(names[:5] if origin is None else names, float("nan"))
    error = forecast - actual
    mae = float(np.mean(np.abs(error)))
    with np.errstate(divide="ignore", invalid="ignore"):
        nonzero = actual != 0
        mape = float(np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100) if nonzero.any() else float("nan")
        denominator = np.abs(actual) + np.abs(forecast)
        smape = float(np.mean(np.where(denominator > 0, 2 * np.abs(error) / denominator, 0.0)) * 100)
    table = {"MAE": mae, "RMSE": float(np.sqrt(np.mean(error**2))), "MAPE": mape, "sMAPE": smape, "MASE": mae / scale}
    if origin is not None:
        start = origin[keep]
        moved = (actual != start) & np.isfinite(start)
        forecast_moves = np.sign(forecast - start)[moved]
        table["direction"] = float(np.mean(forecast_moves == np.sign(actual - start)[moved]) * 100) \
            if moved.any() and forecast_moves.any() else float("nan")
    return table


def central_intervals(levels):
    """The central intervals among sorted quantile `levels`, outermost
    first: [(low, high)], levels with low + high = 1 (to rounding)."""
    return [(low, high) for low in levels if low < 0.5 for high in levels if np.isclose(low + high, 1.0)]


def interval_name(low, high):
    """'0.1-0.9': how columns name the central interval between two levels."""
    return f"{low:g}-{high:g}"


def quantile_metrics(actual, quantiles, levels):
    """Probabilistic metrics of `quantiles` `(n, Q)` (sorted `levels`)
    against `actual` `(n,)`, over the finite actuals:

        pinball                 mean over values and levels of max(q (y − ŷ_q), (q − 1)(y − ŷ_q))
        CRPS                    2 · pinball: the continuous ranked probability score of the forecast
                                distribution approximated by its quantiles (Gneiting and Raftery 2007,
                                the quantile decomposition), exact as the levels fill (0, 1) evenly
        coverage <lo>-<hi>      share of actuals with ŷ_lo ≤ y ≤ ŷ_hi, for each pair of levels lo + hi = 1
        width <lo>-<hi>         mean of ŷ_hi − ŷ_lo
        below <q>               share of actuals with y ≤ ŷ_q, for each level: q when calibrated

    (NaN without a finite actual)."""
    pairs = [(list(levels).index(low), list(levels).index(high)) for low, high in central_intervals(levels)]
    levels = np.asarray(levels, "float64")
    keep = np.isfinite(actual)
    actual, quantiles = actual[keep], quantiles[keep]
    nan = not actual.size
    error = actual[:, None] - quantiles
    pinball = float("nan") if nan else float(np.mean(np.maximum(levels * error, (levels - 1) * error)))
    table = {"pinball": pinball, "CRPS": 2 * pinball}
    for low, high in pairs:
        name = interval_name(levels[low], levels[high])
        inside = (quantiles[:, low] <= actual) & (actual <= quantiles[:, high])
        table[f"coverage {name}"] = float("nan") if nan else float(np.mean(inside))
        table[f"width {name}"] = float("nan") if nan else float(np.mean(quantiles[:, high] - quantiles[:, low]))
    for k, level in enumerate(levels):
        table[f"below {level:g}"] = float("nan") if nan else float(np.mean(actual <= quantiles[:, k]))
    return table


def _keys(index, level, series_column):
    """The (series, time) keys of `index` with its `level` as the time."""
    times = index.get_level_values(level)
    return pd.MultiIndex.from_arrays([index.get_level_values(series_column), times]) if series_column else times


def baselines(observed, forecasts, season, series_column=None):
    """Actual values and the naive (last observed value) and seasonal-naive
    (the same phase of the last season before the origin, in the rows of
    `observed`, however long the lookback; NaN where a window's season lies
    before its series' first row) forecasts, each `(rows, n_target)`, for
    the rows of a `historical_forecasts` frame. `observed`: the targets on
    their regular grid, indexed like `Panel.frame`, NaN where missing: the
    actuals keep the NaN, the baselines take the last value observed at or
    before their lag."""
    last_seen = observed.groupby(level=0).ffill() if series_column else observed.ffill()
    actual, values = observed.to_numpy("float64"), last_seen.to_numpy("float64")
    at_time = observed.index.get_indexer(_keys(forecasts.index, "time", series_column))
    at_origin = observed.index.get_indexer(_keys(forecasts.index, "origin", series_column))
    naive = values[at_origin]
    step = at_time - at_origin  # 1 .. horizon: the grid is regular within a series
    back = season * -(-step // season)
    row_in_series = observed.groupby(level=0).cumcount().to_numpy() if series_column else np.arange(len(observed))
    reached = row_in_series[at_time] >= back
    seasonal = np.where(reached[:, None], values[np.where(reached, at_time - back, 0)], np.nan)
    return actual[at_time], naive, seasonal


def check_by(by, series_column):
    """`by` as a list of names in GROUPS (empty for None)."""
    names = [] if by is None else [by] if isinstance(by, str) else by
    expected = f"None, one of {list(GROUPS)} or a list of them"
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n in GROUPS for n in names) \
            or len(set(names)) < len(names):
        raise invalid("by", expected, by)
    if "series" in names and not series_column:
        raise invalid("by", f"{expected} ('series' needs a forecaster with a `series_column`)", by)
    return list(names)


def check_season(season):
    """`season`: None or a positive int."""
    return None if season is None else check_positive_int("season", season)


def _scores(forecaster, panel, forecasts, start, season, by, units="raw"):
    """The metrics table of `forecasts` (a `historical_forecasts` frame of
    `panel` whose targets lie at or after `start`), grouped by `by`, in
    `units` ("raw", or "scaled": `Preprocessor.scaled_targets`)."""
    layout, series_column = forecaster.layout_, forecaster.series_column
    targets, levels = list(layout.targets), layout.quantiles

    def in_units(values, index):  # values (rows, n_target, ...) of the rows of `index`
        if units == "raw":
            return values
        series = index.get_level_values(series_column) if series_column else np.full(len(index), None)
        return forecaster.preprocessor_.scaled_targets(values, series)

    observed = panel.frame(series_column)[targets]
    observed = pd.DataFrame(in_units(observed.to_numpy("float64"), observed.index), observed.index, targets)
    actual, naive, seasonal = baselines(observed, forecasts, season, series_column)
    models = {"tsgate": in_units(forecasts[targets].to_numpy("float64"), forecasts.index), "naive": naive}
    short = np.isnan(seasonal).all(axis=1)  # a row whose season lies before its series' first row
    if short.all():
        warn(f"tsgate: the seasonal naive baseline ({season}) is left out: the windows scored have fewer than "
             f"{season} rows before their targets in the frame; pass more rows before the test part, or `season`.")
    else:
        if short.any():
            warn(f"tsgate: the seasonal naive baseline ({season}) scores {int((~short).sum())} of {len(short)} "
                 f"forecast rows: the others have fewer than {season} rows of their series before them in the "
                 "frame; pass more rows before the test part, or `season`.")
        models[f"seasonal naive ({season})"] = seasonal
    rows, n_target = actual.shape
    keys = {  # one value per forecast value, rows × targets in C order
        "series": np.repeat(forecasts.index.get_level_values(series_column), n_target) if series_column else None,
        "target": np.tile(np.asarray(targets, dtype=object), rows),
        "horizon": np.repeat(np.tile(np.arange(1, forecaster.horizon + 1), rows // forecaster.horizon), n_target),
    }
    quantiles = None
    if levels:
        columns = [quantile_column(t, q) for t in targets for q in levels]
        quantiles = forecasts[columns].to_numpy("float64").reshape(rows, n_target, len(levels))
        quantiles = in_units(quantiles, forecasts.index).reshape(rows * n_target, len(levels))

    # MASE's scale: the in-sample naive MAE of the group's series and targets
    # before `start`, or before the first target scored when `start` comes
    # earlier (1 for a constant history, NaN without one).
    start = max(start, forecasts.index.get_level_values("time").min())
    history = observed[observed.index.get_level_values("time") < start]
    steps = history.groupby(level=0).diff() if series_column else history.diff()
    changes = pd.DataFrame({"change": np.abs(steps.to_numpy("float64")).ravel(),
                            "target": np.tile(np.asarray(targets, dtype=object), len(steps))})
    if series_column:
        changes["series"] = np.repeat(steps.index.get_level_values(0), n_target)
    changes = changes[np.isfinite(changes["change"])]
    scaled_by = [name for name in by if name != "horizon"]
    scales = changes.groupby(scaled_by)["change"].mean() if scaled_by else None

    groups = {(): np.arange(rows * n_target)} if not by else \
        pd.DataFrame({name: keys[name] for name in by}).groupby(by, sort=True).indices
    table = {}
    for key, positions in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        own = tuple(value for name, value in zip(by, key) if name != "horizon")
        scale = changes["change"].mean() if not own else scales.get(own[0] if len(own) == 1 else own, float("nan"))
        scale = float(scale) or 1.0  # NaN stays NaN
        for model, values in models.items():
            row = metrics(actual.ravel()[positions], values.ravel()[positions], scale, naive.ravel()[positions])
            if levels:
                probabilistic = quantile_metrics(actual.ravel()[positions], quantiles[positions], levels)
                row.update(probabilistic if model == "tsgate" else dict.fromkeys(probabilistic, float("nan")))
            table[(*key, model)] = row
    frame = pd.DataFrame.from_dict(table, orient="index")
    names = [series_column if name == "series" else name for name in by]
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=[*names, "model"]) if by else \
        pd.Index([key[-1] for key in table], name="model")
    return frame


def evaluate_forecasts(forecaster, df, test=0.2, by=None, season=None, units="raw"):
    """`evaluate`'s metrics table and the forecasts it scored (the
    `historical_forecasts` of the windows whose targets lie in the test part)."""
    check_fitted(forecaster)
    by, season = check_by(by, forecaster.series_column), check_season(season)
    check_choice("units", units, UNITS)
    panel = forecaster.panel(df)
    cutoff = panel.cutoff(test, "test")
    forecasts = forecaster.forecast_windows(panel, cutoff, "evaluate", ("test", test))
    season = season_length(forecaster.freq_) if season is None else season
    return _scores(forecaster, panel, forecasts, panel.timestamp(cutoff), season, by, units), forecasts


def evaluate(forecaster, df, test=0.2, by=None, season=None, units="raw"):
    """Metrics in raw units on the windows whose targets lie in the last
    `test` part of the time span (a fraction or a start timestamp), next to
    the naive and seasonal-naive baselines.

    Columns: MAE, RMSE, MAPE, sMAPE, MASE, direction (see `metrics`) and, for a
    forecaster with quantiles, pinball, CRPS, coverage and width of each
    central interval and the share of actuals below each level (see
    `quantile_metrics`; NaN for the baselines): `by="horizon"` gives the
    calibration of each step. Missing actuals are skipped.

    by: None (default) pools every series, target and step: a DataFrame
        indexed by model ("tsgate", "naive", "seasonal naive (s)"). "series",
        "target", "horizon" (the step, 1 .. horizon) or a list of them: one
        row per group and model, indexed by (*by, "model"), the series level
        named by the `series_column` (`.reset_index()` gives the long, tidy
        form). MASE divides by the in-sample naive MAE
        of the group's series and targets.
    season: the seasonal-naive baseline's lag in steps (default
        `tsgate.data.season_length` of the forecaster's frequency).
    units: "raw" (default), or "scaled": every value (actuals, forecasts,
        baselines, quantiles) in the units the model was fitted in, the
        target transform then the scaler fitted on the training rows; with
        scaler="standard" and no transform, the z-scored scale on which
        published long-horizon tables report MSE and MAE.
    """
    return evaluate_forecasts(forecaster, df, test, by, season, units)[0]


def actuals(forecaster, panel, forecasts):
    """The actual targets `(rows, n_target)` (NaN where missing) of the
    rows of `forecasts`, a `forecast_windows` frame of `panel`."""
    series_column = forecaster.series_column
    observed = panel.frame(series_column)[list(forecaster.layout_.targets)]
    return observed.to_numpy("float64")[observed.index.get_indexer(_keys(forecasts.index, "time", series_column))]


def with_actuals(forecaster, panel, forecasts):
    """`forecasts` (a `forecast_windows` frame of `panel`) with the step of
    each row (1 .. horizon, "step") and each target's actual ("<target>_actual",
    NaN where missing): what calibration by step and level is computed from."""
    actual = actuals(forecaster, panel, forecasts)
    steps = np.tile(np.arange(1, forecaster.horizon + 1), len(forecasts) // forecaster.horizon)
    columns = {"step": steps, **{f"{t}_actual": actual[:, k] for k, t in enumerate(forecaster.layout_.targets)}}
    return forecasts.assign(**columns)


def score(forecaster, df):
    """Minus the mean squared error, in raw units, of `forecaster`'s
    forecasts of every complete window of `df`, over every target and step
    whose actual was observed: `Forecaster.score`, higher is better (as
    scikit-learn's `neg_mean_squared_error`). With several targets, the
    errors are in each target's own units: scale them alike to weigh them
    alike."""
    panel = forecaster.panel(df)
    forecasts = forecaster.forecast_windows(panel, verb="score")
    actual = actuals(forecaster, panel, forecasts)
    error = (forecasts[list(forecaster.layout_.targets)].to_numpy("float64") - actual)[np.isfinite(actual)]
    if not error.size:
        raise ValueError("`df` has no observed target value to score the forecasts against.")
    return -float(np.mean(error**2))


__getattr__ = lender(__name__, dict.fromkeys(("backtest", "BacktestResult"), "tsgate.model_selection"))
