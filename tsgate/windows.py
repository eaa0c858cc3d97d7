"""Windows of a panel as a `tf.data.Dataset`, gathered by index: memory grows
with rows, not with windows × lookback."""

import numpy as np


def window_dataset(arrays, starts, lookback, horizon, batch_size, shuffle=False, seed=None, per_series=None,
                   series_of_row=None, labels=None, per_window=None):
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
    inputs: "past_target" `(b, lookback, n_t)`, "past_covariates"
        `(b, lookback, n_p)`, "future_covariates" `(b, horizon, n_f)`, the
    per-series inputs `(b, ...)`; targets `(b, horizon, n_t)`.
    """
    import tensorflow as tf

    tensors = {name: tf.constant(value) for name, value in arrays.items()}
    targets = tensors["target"] if labels is None else tf.constant(labels)
    per_series = {name: tf.constant(value) for name, value in (per_series or {}).items()}
    series_t = tf.constant(series_of_row, "int32") if per_series else None
    index_dtype = "int32" if len(arrays["target"]) < 2**31 else "int64"  # half the index memory
    past = tf.range(lookback, dtype=index_dtype)
    future = tf.range(lookback, lookback + horizon, dtype=index_dtype)

    def gather(start, given=None):
        inputs = {"past_target": tf.gather(tensors["target"], start[:, None] + past), **(given or {})}
        if "past_covariates" in tensors:
            inputs["past_covariates"] = tf.gather(tensors["past_covariates"], start[:, None] + past)
        if "future_covariates" in tensors:
            inputs["future_covariates"] = tf.gather(tensors["future_covariates"], start[:, None] + future)
        for name, value in per_series.items():
            inputs[name] = tf.gather(value, tf.gather(series_t, start))
        return inputs, tf.gather(targets, start[:, None] + future)

    starts = np.asarray(starts, index_dtype)
    dataset = tf.data.Dataset.from_tensor_slices(starts if per_window is None else (starts, per_window))
    if shuffle:
        dataset = dataset.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    # Two batches in flight: as fast as AUTOTUNE here, and memory stays bounded.
    return dataset.batch(batch_size).map(gather, num_parallel_calls=2).prefetch(2)
