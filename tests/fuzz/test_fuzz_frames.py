"""Generated bad frames and bad `future` frames through every public verb.

Each example takes a valid frame, breaks it one way (a mutation drawn with
its parameters) and passes it to fit, predict, historical_forecasts, evaluate
or backtest. The answer must be a clear error (`tests.helpers.clear_error`: a
ValueError/TypeError raised in tsgate's own code, naming the column, series,
timestamp or argument), never a raw pandas/NumPy/TensorFlow error and never a
result. Frames that stay valid after a transformation (another time zone,
another series order, another `future` layout) must give the same forecasts.

Per run: 250 bad frames through the 5 verbs, 80 bad `future` frames, 40 bad
time columns: 370 bad inputs; plus up to 15 valid transformations checked
against the reference forecasts."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone

from tests.fuzz import fuzz
from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")

LOOKBACK, HORIZON = 8, 3
ZONE = "Europe/Berlin"


def _single():
    """One zoned series: target y, past covariate x, hour-of-day features."""
    return hourly(60, start="2024-03-29").tz_localize("UTC").tz_convert(ZONE)  # across a DST change


def _panel():
    """Series "a" (60 rows) and "b" (50 rows): target y, future covariate f, static elevation."""
    a = hourly(60, seed=1).assign(site="a", elevation=1.0)
    b = hourly(50, start="2024-01-02", seed=2, level=20.0).assign(site="b", elevation=2.0)
    return pd.concat([a, b]).rename(columns={"x": "f"})


def _future(df):
    """The future covariate f for the 3 steps after each series of `df`."""
    parts = []
    for site, rows in df.groupby("site", sort=False):
        index = pd.date_range(rows.index[-1] + pd.Timedelta("1h"), periods=HORIZON, freq="h", name="time")
        parts.append(pd.DataFrame({"f": np.linspace(-1, 1, HORIZON), "site": site}, index=index))
    return pd.concat(parts)


@pytest.fixture(scope="module")
def models():
    single = Forecaster("y", lookback=LOOKBACK, horizon=HORIZON, units=2, past_covariates=["x"], calendar=["hour"])
    panel = Forecaster("y", lookback=LOOKBACK, horizon=HORIZON, units=2, series_column="site",
                       future_covariates=["f"], static_covariates=["elevation"])
    return {"single": single.fit(_single(), validation=0.3, epochs=1, verbose=0),
            "panel": panel.fit(_panel(), validation=0.3, epochs=1, verbose=0)}


# ------------------------------------------------------------------ mutations
# Each: (data, df, kind) -> (bad df, names the error must give, whether all of them).
VALUES = {"single": ["y", "x"], "panel": ["y", "f"]}


def _row(data, df, lo=0):
    return data.draw(st.integers(lo, len(df) - 1), label="row")


def _set(df, row, column, value):
    df = df.copy()
    df.iloc[row, df.columns.get_loc(column)] = value
    return df


def non_finite(data, df, kind):
    column, row = data.draw(st.sampled_from(VALUES[kind])), _row(data, df)
    value = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return _set(df, row, column, value), [f"'{column}'", "NaN or inf", str(df.index[row])[:19]], True


def beyond_float32(data, df, kind):
    column, row = data.draw(st.sampled_from(VALUES[kind])), _row(data, df)
    value = data.draw(st.floats(3.5e38, 1e308)) * data.draw(st.sampled_from([1, -1]))
    return _set(df, row, column, value), [f"'{column}'", "float32", str(df.index[row])[:19]], True


def not_real(data, df, kind):
    column = data.draw(st.sampled_from(VALUES[kind]))
    values = data.draw(st.sampled_from([
        lambda v: v + 1j, lambda v: v.astype(str), lambda v: v > 0,
        lambda v: pd.Series(v).astype(object).where(v > 0, "?").to_numpy(),
        lambda v: pd.to_timedelta(np.arange(len(v)), unit="s"), lambda v: pd.Categorical(np.round(v)),
    ]))
    return df.assign(**{column: values(df[column].to_numpy())}), [f"'{column}'", "numeric"], True


def duplicate_timestamp(data, df, kind):
    row = _row(data, df)
    return pd.concat([df.iloc[: row + 1], df.iloc[row:]]), ["Duplicate timestamp"], False


def unsorted(data, df, kind):
    first = _row(data, df.iloc[:-1])
    order = np.arange(len(df))
    order[first], order[first + 1] = first + 1, first
    if kind == "panel" and df.site.iloc[first] != df.site.iloc[first + 1]:  # not within one series: reverse one
        return pd.concat([df[df.site == "a"].iloc[::-1], df[df.site == "b"]]), ["sorted"], False
    return df.iloc[order], ["sorted"], False


def missing_column(data, df, kind):
    column = data.draw(st.sampled_from(VALUES[kind] + (["site", "elevation"] if kind == "panel" else [])))
    return df.drop(columns=column), [f"'{column}'", "missing"], True


def missing_series_id(data, df, kind):
    rows = data.draw(st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=4, unique=True))
    site = df.site.to_numpy(dtype=object).copy()
    site[rows] = data.draw(st.sampled_from([None, np.nan, pd.NA]))
    return df.assign(site=site), ["'site'", "no series id", f"{sorted(rows)[:3]}"], True


def empty(data, df, kind):
    return df.iloc[:0], ["empty"], False


def index_type(data, df, kind):
    index = data.draw(st.sampled_from([
        lambda i: pd.RangeIndex(len(i)), lambda i: pd.Index(i.astype(str)), lambda i: pd.Index(np.arange(len(i)) * 0.5),
        lambda i: i.tz_localize(None).to_period("h") if i.tz is not None else i.to_period("h"),
        lambda i: pd.MultiIndex.from_arrays([np.arange(len(i)), i]),
    ]))
    return df.set_axis(index(df.index)), ["DatetimeIndex"], False


def missing_timestamp(data, df, kind):
    values = (df.index if df.index.tz is None else df.index.tz_convert("UTC").tz_localize(None)).to_numpy().copy()
    row = _row(data, df)
    values[row] = np.datetime64("NaT")
    index = pd.DatetimeIndex(values, name="time")
    return df.set_axis(index if df.index.tz is None else index.tz_localize("UTC").tz_convert(ZONE)), ["NaT", f"[{row}]"], True


def index_named_like_a_column(data, df, kind):
    return df.rename_axis(data.draw(st.sampled_from(VALUES[kind]))), ["index", "named"], True


def not_a_frame(data, df, kind):
    value = data.draw(st.sampled_from([df.to_numpy(), df.to_dict(), df["y"], df.to_numpy().tolist(), None, "df.csv", 3]))
    return value, ["`df`", "DataFrame"], True


def column_layout(data, df, kind):
    if data.draw(st.booleans()):
        return df.set_axis(pd.MultiIndex.from_product([["v"], df.columns]), axis=1), ["MultiIndex"], False
    column = data.draw(st.sampled_from(VALUES[kind]))
    return pd.concat([df, df[[column]]], axis=1), [f"'{column}'", "more than once"], True


def off_grid(data, df, kind):
    row = _row(data, df, lo=1)
    if kind == "panel" and row == len(df[df.site == "a"]):
        row += 1
    shifted = df.index[row] + pd.Timedelta(minutes=data.draw(st.integers(1, 59)))
    index = df.index.tolist()
    index[row] = shifted
    return df.set_axis(pd.DatetimeIndex(index, name="time")), ["grid"], False


def zone_mismatch(data, df, kind):
    if kind == "single":
        return df.tz_localize(None), ["time zone", ZONE], True
    zone = data.draw(st.sampled_from(["UTC", "Asia/Tokyo", "America/New_York", ZONE]))
    return df.tz_localize("UTC").tz_convert(zone), ["time zone", zone], True


def static_broken(data, df, kind):
    row = _row(data, df)
    value = data.draw(st.sampled_from([np.nan, np.inf, 1e39, 7.0]))
    names = ["'elevation'", "varies" if value == 7.0 else ("float32" if value == 1e39 else "NaN or inf")]
    return _set(df, row, "elevation", value), names, True


def too_short(data, df, kind):
    rows = data.draw(st.integers(1, LOOKBACK - 1))  # fewer rows than one input window
    df = pd.concat([part.iloc[:rows] for _, part in df.groupby("site", sort=False)]) if kind == "panel" else df.iloc[:rows]
    return df, ["needs", "Not enough data", "No complete window", "Cannot infer", "empty", "`folds`"], False


COMMON = [non_finite, beyond_float32, not_real, duplicate_timestamp, unsorted, missing_column, empty, index_type,
          missing_timestamp, index_named_like_a_column, not_a_frame, column_layout, off_grid, too_short]
PANEL_ONLY = [missing_series_id, static_broken]
PREDICTING = [zone_mismatch]  # for fit and backtest another zone is a valid frame


def _mutated(data, verb, models):
    kind = data.draw(st.sampled_from(sorted(models)), label="model")
    mutations = COMMON + (PANEL_ONLY if kind == "panel" else []) + (PREDICTING if verb not in ("fit", "backtest") else [])
    mutation = data.draw(st.sampled_from(mutations), label="mutation")
    base = _single() if kind == "single" else _panel()
    df, names, every = mutation(data, base, kind)
    return models[kind], kind, df, names, every, base


VERBS = {
    "fit": lambda model, df, future: clone(model).fit(df, validation=0.3, epochs=1, verbose=0),
    "predict": lambda model, df, future: model.predict(df, future=future),
    "historical_forecasts": lambda model, df, future: model.historical_forecasts(df, start=0.3),
    "evaluate": lambda model, df, future: model.evaluate(df, test=0.3),
    "backtest": lambda model, df, future: model.backtest(df, folds=2, test=0.3, epochs=1, verbose=0),
}
EXAMPLES = {"fit": 60, "predict": 70, "historical_forecasts": 40, "evaluate": 40, "backtest": 40}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_bad_frames_get_clear_errors(models, verb):
    @fuzz(EXAMPLES[verb], shrink=False)
    @given(data=st.data())
    def check(data):
        model, kind, df, names, every, base = _mutated(data, verb, models)
        future = _future(base) if kind == "panel" else None
        clear_error(lambda: VERBS[verb](model, df, future), names, every)

    check()


# ----------------------------------------------------------- time columns
def _timed():
    """One naive series with its timestamps in the column "when"."""
    return hourly(60).rename_axis("when").reset_index()


@pytest.fixture(scope="module")
def timed():
    return Forecaster("y", lookback=LOOKBACK, horizon=HORIZON, units=2, time_column="when").fit(
        _timed(), validation=0.3, epochs=1, verbose=0)


def time_column_mutation(data, df):
    row = data.draw(st.integers(0, len(df) - 1), label="row")
    choice = data.draw(st.sampled_from(range(7)), label="mutation")
    when = df.when.astype(object).to_numpy().copy()
    if choice == 0:  # text that is no timestamp
        when[row] = data.draw(st.sampled_from(["soon", "2024-13-45", "", "yesterday at noon", "1e99"]))
        return df.assign(when=when), ["'when'"]  # not timestamps, or NaT ("")
    if choice == 1:  # numbers, bools
        values = data.draw(st.sampled_from([np.arange(len(df)), np.linspace(0, 1, len(df)), np.ones(len(df), bool)]))
        return df.assign(when=values), ["'when'", "must hold timestamps"]
    if choice == 2:
        when[row] = None
        return df.assign(when=pd.to_datetime(pd.Series(when))), ["NaT", "'when'", f"[{row}]"]
    if choice == 3:
        return df.drop(columns="when"), ["'when'", "missing"]
    if choice == 4:  # offsets that differ from row to row
        text = df.when.dt.strftime("%Y-%m-%d %H:%M:%S+01:00").to_numpy(dtype=object)
        text[row] = text[row].replace("+01:00", "+05:00")
        return df.assign(when=text), ["'when'", "not timestamps"]
    if choice == 5:
        return df.assign(when=df.when.dt.tz_localize("UTC")), ["time zone", "UTC"]
    return _set(df, row, "y", np.nan), ["'y'", "NaN or inf", str(df.when[row])]


@fuzz(40, shrink=False)
@given(data=st.data())
def test_bad_time_columns_get_clear_errors(timed, data):
    df, names = time_column_mutation(data, _timed())
    verb = data.draw(st.sampled_from(["predict", "evaluate", "historical_forecasts", "fit"]), label="verb")
    if verb == "fit" and names[0] == "time zone":
        verb = "predict"  # a zoned frame is valid for fit
    clear_error(lambda: VERBS[verb](timed, df, None), names, every=True)


# ---------------------------------------------------------------- bad future
def future_mutation(data, future):
    row = data.draw(st.integers(0, len(future) - 1), label="row")
    choice = data.draw(st.sampled_from(range(11)), label="mutation")
    if choice == 0:
        value = data.draw(st.sampled_from([future.to_numpy(), future.to_dict(), future["f"], [1.0, 2.0], "f.csv", 0]))
        return value, ["`future`", "DataFrame"]
    if choice == 1:
        column = data.draw(st.sampled_from(["f", "site"]))
        return future.drop(columns=column), [f"'{column}'"]
    if choice == 2:
        return future.drop(index=future.index[row]) if future.index.is_unique else future.iloc[1:], ["lacks covariates"]
    if choice == 3:
        return _set(future, row, "f", data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))), ["'f'", "NaN or inf"]
    if choice == 4:
        return _set(future, row, "f", 1e39), ["'f'", "float32"]
    if choice == 5:
        return pd.concat([future.iloc[: row + 1], future.iloc[row:]]), ["more than once"]
    if choice == 6:
        return future.iloc[:0], ["empty"]
    if choice == 7:
        return future.tz_localize(data.draw(st.sampled_from(["UTC", ZONE]))), ["time zone"]
    if choice == 8:
        return future.assign(f=future.f.astype(str)), ["'f'", "numeric"]
    if choice == 9:
        return _set(future, row, "site", None), ["'site'", "series id"]
    return future.reset_index(drop=True), ["DatetimeIndex"]


@fuzz(80, shrink=False)
@given(data=st.data())
def test_bad_future_frames_get_clear_errors(models, data):
    df = _panel()
    future, names = future_mutation(data, _future(df))
    clear_error(lambda: models["panel"].predict(df, future=future), names, every=True)


# ------------------------------------------------- valid frames, same answers
@pytest.fixture(scope="module")
def reference(models):
    df = _panel()
    return models["single"].predict(_single()), models["panel"].predict(df, future=_future(df))


@fuzz(10, shrink=False)
@given(zone=st.sampled_from(["UTC", "Asia/Tokyo", "America/St_Johns", "Pacific/Chatham", "Etc/GMT+12"]))
def test_a_frame_in_another_zone_forecasts_the_same(models, reference, zone):
    forecast = models["single"].predict(_single().tz_convert(zone))
    pd.testing.assert_frame_equal(forecast, reference[0])  # calendar features in the training zone, index in it too


@fuzz(10, shrink=False)
@given(order=st.permutations(["a", "b"]), seed=st.integers(0, 2**16), name=st.sampled_from([None, "time", "when"]))
def test_series_order_and_future_layout_do_not_change_forecasts(models, reference, order, seed, name):
    df = _panel()
    shuffled = pd.concat([df[df.site == site] for site in order])
    future = _future(df).sample(frac=1.0, random_state=seed).rename_axis(name)
    forecast = models["panel"].predict(shuffled, future=future)
    pd.testing.assert_frame_equal(forecast.sort_index(), reference[1].sort_index())
