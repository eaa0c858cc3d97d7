"""Windows of a panel as a `tf.data.Dataset`, gathered by index: memory grows
with rows, not with windows × lookback."""

import numpy as np

from tsgate.transforms import returns_from


def window_dataset(arrays, starts, lookback, horizon, batch_size, shuffle=False, seed=None, per_series=None,
                   series_of_row=None, labels=None, per_window=None, returns=None):
    """A `tf.data.Dataset` of `(inputs, targets)` batches.

    arrays: per-row arrays by role (`Layout.arrays`): "target" `(rows, n_t)`
        and optionally "past_covariates" `(rows, n_p)`, "future_covariates"
        `(rows, n_f)`. starts: window start rows.
    per_series: {input name: `(n_series, ...)`} gathered by the series of
        each window (with `series_of_row` `(rows,)`), e.g. "static".
    labels: `(rows, n_t)` what the targets are read from (default
        `arrays["target"]`), e.g. NaN where a filled target was missing.
    per_window: {input name: `(n_windows, ...)`}, one row per start, e.g.
        an adaptive calibration's shifts.
    returns: None, or `(method, scale, offset)`: "target" (and `labels`)
        hold raw values, read in each window as `method`'s returns from its
        origin (the last input row, `tsgate.transforms.returns_from`) and
        scaled, `y * scale + offset`, by the rows `(n_series, n_t)` of the
        window's series (with `series_of_row`).
    inputs: "past_target" `(b, lookback, n_t)`, "past_covariates"
        `(b, lookback, n_p)`, "future_covariates" `(b, horizon, n_f)`, the
    per-series inputs `(b, ...)`; targets `(b, horizon, n_t)`.
    """
    import tensorflow as tf

    tensors = {name: tf.constant(value) for name, value in arrays.items()}
    targets = tensors["target"] if labels is None else tf.constant(labels)
    per_series = {name: tf.constant(value) for name, value in (per_series or {}).items()}
    series_t = tf.constant(series_of_row, "int32") if per_series or returns is not None else None
    if returns is not None:
        method, scale, offset = returns[0], tf.constant(returns[1], "float32"), tf.constant(returns[2], "float32")
    index_dtype = "int32" if len(arrays["target"]) < 2**31 else "int64"  # half the index memory
    past = tf.range(lookback, dtype=index_dtype)
    future = tf.range(lookback, lookback + horizon, dtype=index_dtype)

    def from_origin(start, past_target, future_target):  # returns from the last input row, scaled
        series = tf.gather(series_t, start)
        row_scale, row_offset = tf.gather(scale, series)[:, None, :], tf.gather(offset, series)[:, None, :]
        origin = past_target[:, -1:, :]
        return [returns_from(method, values, origin, tf.math) * row_scale + row_offset
                for values in (past_target, future_target)]

    def gather(start, given=None):
        past_target, future_target = (tf.gather(tensors["target"], start[:, None] + past),
                                      tf.gather(targets, start[:, None] + future))
        if returns is not None:
            past_target, future_target = from_origin(start, past_target, future_target)
        inputs = {"past_target": past_target, **(given or {})}
        if "past_covariates" in tensors:
            inputs["past_covariates"] = tf.gather(tensors["past_covariates"], start[:, None] + past)
        if "future_covariates" in tensors:
            inputs["future_covariates"] = tf.gather(tensors["future_covariates"], start[:, None] + future)
        for name, value in per_series.items():
            inputs[name] = tf.gather(value, tf.gather(series_t, start))
        return inputs, future_target

    starts = np.asarray(starts, index_dtype)
    dataset = tf.data.Dataset.from_tensor_slices(starts if per_window is None else (starts, per_window))
    if shuffle:
        dataset = dataset.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    # Two batches in flight: as fast as AUTOTUNE here, and memory stays bounded.
    return dataset.batch(batch_size).map(gather, num_parallel_calls=2).prefetch(2)
