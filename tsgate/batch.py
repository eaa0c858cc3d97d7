"""Batch forecasting of many series: in chunks of series with bounded memory
in one process, or across a Ray cluster with Ray Data.

    for frame in forecast_chunks(forecaster, "panel.parquet", series_per_chunk=5000):
        frame.to_parquet(...)                      # one chunk of series at a time

    ds = ray.data.read_parquet("s3://bucket/panel/")   # rows of (time, series, columns)
    forecasts = ray_forecast(ds, "model", "export/1", series_column="site")

Memory in `forecast_chunks` grows with the rows of one chunk, not with the
panel: a Parquet source is read chunk by chunk (a filter on the series
column). On Ray, `SavedModelForecaster` loads the saved forecaster (which
turns rows into the model's inputs) and the exported SavedModel once per
worker and returns raw-unit forecasts; the series are grouped into chunks
so that each call sees whole series. Ray is the optional extra
`pip install tsgate[ray]`, imported only by `ray_forecast`.
"""

import os

import numpy as np
import pandas as pd

from tsgate.validation import check_fitted, check_positive_int, invalid

CHUNK_COLUMN = "__tsgate_chunk"


def _series_ids(forecaster, data):
    """The series ids of `data` (a DataFrame or a Parquet path) in order of
    appearance, and for a DataFrame each row's position among them (None
    for Parquet)."""
    column = forecaster.series_column
    if column is None:
        raise ValueError("Batch forecasting needs a forecaster with a `series_column` (many series in one table).")
    if isinstance(data, pd.DataFrame):
        codes, ids = pd.factorize(_series_column(data, column, "data"))
        return ids, codes
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        return pd.Index(pc.unique(pq.read_table(data, columns=[column]).column(column)).to_pandas()), None
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"Cannot read the series column {column!r} of the Parquet dataset {data!r}: {error}") from None


def forecast_chunks(forecaster, data, series_per_chunk=1000, future=None):
    """Yields `forecaster.predict` of `series_per_chunk` series at a time.

    data: a DataFrame, or the path of a Parquet file or directory (only the
        rows of one chunk's series are read at a time), with the forecaster's
        `series_column` and `time_column`.
    future: the future covariates of every series (a DataFrame), if the
        model needs them.
    Yields DataFrames indexed by (series, time), `horizon` rows per series.
    """
    check_fitted(forecaster)
    check_positive_int("series_per_chunk", series_per_chunk)
    if not isinstance(data, (pd.DataFrame, str, os.PathLike)):
        raise invalid("data", "a DataFrame or the path of a Parquet file or directory", data)
    ids, codes = _series_ids(forecaster, data)
    column = forecaster.series_column
    # rows without a series id go with the first chunk, whose `predict` names them
    frames = None if codes is None else _chunk_rows(data, np.maximum(codes, 0), len(ids), series_per_chunk)
    ahead = None if future is None else _chunk_rows(
        future, pd.Index(ids).get_indexer(_series_column(future, column, "future")), len(ids), series_per_chunk)
    for start in range(0, len(ids), series_per_chunk):
        rows = _parquet_rows(data, column, ids[start : start + series_per_chunk]) if frames is None else next(frames)
        yield forecaster.predict(rows, future=None if ahead is None else next(ahead))


def _parquet_rows(path, column, ids):
    """The rows of the series `ids` (an Index) of a Parquet file or
    directory, read with an Arrow filter of those ids and of their range,
    which lets pyarrow skip the row groups whose statistics lie outside it
    (all but a few in a file sorted by series); rows without an id are read
    with the chunk that holds the missing id, for `predict` to name them."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    values = pa.array(ids)
    if pa.types.is_dictionary(values.type):  # a categorical series column: filter by the ids themselves
        values = values.dictionary_decode()
    series, known = pc.field(column), values.drop_null()
    keep = series.isin(values)
    if len(known):
        low, high = pc.min_max(known).values()
        inside = (series >= low) & (series <= high)
        keep = keep & (inside | series.is_null() if values.null_count else inside)
    return pq.read_table(path, filters=keep).to_pandas()


def _series_column(frame, column, name):
    if column not in frame.columns:
        raise ValueError(f"`{name}` has no series column {column!r}; its columns are {list(frame.columns)[:10]}.")
    return frame[column]


def _chunk_rows(frame, positions, n_series, series_per_chunk):
    """The rows of `frame` of each chunk of `series_per_chunk` series, in
    the frame's order, from each row's series position (-1: a series not
    forecast, left out): one grouping of the frame, not a scan per chunk."""
    chunk = positions // series_per_chunk  # -1 stays -1
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(-(-n_series // series_per_chunk) + 1))
    return (frame.iloc[order[a:b]] for a, b in zip(bounds[:-1], bounds[1:]))


def predict_chunked(forecaster, data, series_per_chunk=1000, future=None):
    """`forecast_chunks` concatenated: one DataFrame like `predict`'s."""
    return pd.concat(list(forecast_chunks(forecaster, data, series_per_chunk, future)))


class SavedModelForecaster:
    """A Ray Data `map_groups` class: loaded once per worker, called on
    pandas batches of whole series.

    model_dir: a saved Forecaster (`Forecaster.save`), which turns rows into
        the model's raw-unit inputs (`serving_inputs`); export_dir: its
        exported SavedModel version directory (`Forecaster.export`), which
        computes the forecast. Call: rows `(n, columns)` of whole series →
        forecasts `(series × horizon, [series, time, target columns])`.
    """

    def __init__(self, model_dir, export_dir):
        import tensorflow as tf

        from tsgate.forecaster import Forecaster

        self.forecaster = Forecaster.load(model_dir)
        self.serve = tf.saved_model.load(os.fspath(export_dir)).signatures["serving_default"]

    def __call__(self, rows):
        rows = rows.drop(columns=[CHUNK_COLUMN], errors="ignore")
        inputs, index = self.forecaster.serving_inputs(rows)
        outputs = {name: value.numpy() for name, value in self.serve(**inputs).items()}
        return self.forecaster.layout_.frame(outputs, index).reset_index()


def ray_forecast(dataset, model_dir, export_dir, series_column, chunks=64, concurrency=2, num_cpus=0.5):
    """Raw-unit forecasts of every series of a Ray Dataset (`dataset`: rows of
    the time column, `series_column` and the model's columns), computed by
    `concurrency` `SavedModelForecaster` actors (of `num_cpus` each: leave
    some to the tasks that read and group the rows) on `chunks` groups of
    whole series. Returns a Ray Dataset of rows (series, time, forecast
    columns)."""
    try:
        import ray  # noqa: F401  the optional extra
    except ImportError:
        raise ImportError("ray_forecast needs Ray: pip install 'tsgate[ray]'") from None
    check_positive_int("chunks", chunks)

    def assign_chunk(batch):
        ids = pd.util.hash_array(np.asarray(batch[series_column].astype(str), dtype=object))
        return batch.assign(**{CHUNK_COLUMN: (ids % chunks).astype("int64")})

    grouped = dataset.map_batches(assign_chunk, batch_format="pandas").groupby(CHUNK_COLUMN)
    return grouped.map_groups(SavedModelForecaster, fn_constructor_args=(os.fspath(model_dir), os.fspath(export_dir)),
                              batch_format="pandas", concurrency=concurrency, num_cpus=num_cpus)
