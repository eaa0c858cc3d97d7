"""Field forecast metrics by lead time, and the two baselines every field
forecast is measured against.

For forecasts and actuals `(windows, horizon, height, width, channels)` in
raw units (NaN: a missing actual, skipped), per lead time `h` (1 .. horizon):

    MSE, MAE      over every observed pixel and channel
    SSIM          Wang et al. (2004): Gaussian window σ = 1.5, constants
                  (0.01 L)², (0.03 L)² with L the channel's training range;
                  the mean over frames and channels (frames with a missing
                  pixel are skipped)
    CSI@t, HSS@t  the critical success index and Heidke skill score of the
                  event "value ≥ t" (precipitation-like fields), per threshold

    persistence   the last input frame, for every lead
    climatology   the mean training frame (per pixel and channel)

SSIM is written here with `scipy.ndimage.gaussian_filter` rather than taken
from `tf.image.ssim` or scikit-image: it takes any grid (an 8×8 one too,
where an 11-pixel window does not fit), skips frames with missing pixels,
and adds no dependency.
"""

import numbers

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter

from tsgate.validation import invalid


def check_thresholds(thresholds):
    """`thresholds`: a list or tuple of finite numbers (the events "value ≥ t")."""
    if not isinstance(thresholds, (list, tuple)) or not all(
            isinstance(t, numbers.Real) and not isinstance(t, bool) and np.isfinite(t) for t in thresholds):
        raise invalid("thresholds", "a list or tuple of finite numbers", thresholds)
    return tuple(float(t) for t in thresholds)


def ssim(actual, forecast, data_range):
    """SSIM of each frame and channel: `actual`, `forecast` `(..., height,
    width, channels)`, `data_range` `(channels,)`; returns `(...,
    channels)`."""
    actual, forecast = np.asarray(actual, "float64"), np.asarray(forecast, "float64")  # E[x²] − E[x]² needs it
    sigma = (0,) * (actual.ndim - 3) + (1.5, 1.5, 0)

    def blur(x):
        return gaussian_filter(x, sigma=sigma, truncate=3.5)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_f = blur(actual), blur(forecast)
    var_a, var_f = blur(actual * actual) - mu_a**2, blur(forecast * forecast) - mu_f**2
    cov = blur(actual * forecast) - mu_a * mu_f
    index = ((2 * mu_a * mu_f + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_f**2 + c1) * (var_a + var_f + c2))
    return index.mean(axis=(-3, -2))


def contingency(actual, forecast, threshold):
    """(hits, false alarms, misses, correct negatives) of "value ≥
    `threshold`" over the observed pixels, one count of each per lead time
    (axis 1 of `(windows, horizon, ...)`)."""
    observed = np.isfinite(actual)
    event, said = (actual >= threshold) & observed, (forecast >= threshold) & observed
    axes = tuple(axis for axis in range(actual.ndim) if axis != 1)
    hits, false = (event & said).sum(axis=axes), (~event & said & observed).sum(axis=axes)
    misses, negatives = (event & ~said).sum(axis=axes), (~event & ~said & observed).sum(axis=axes)
    return [np.asarray(v, "float64") for v in (hits, false, misses, negatives)]


def scores(actual, forecast, data_range, thresholds=()):
    """{metric: `(horizon,)`} of one model's `forecast` against `actual`."""
    observed = np.isfinite(actual)
    error = np.where(observed, forecast - actual, 0.0)
    axes = tuple(axis for axis in range(actual.ndim) if axis != 1)
    count = observed.sum(axis=axes)
    with np.errstate(invalid="ignore", divide="ignore"):  # a lead with no observed actual: NaN
        table = {"MSE": (error**2).sum(axis=axes) / count, "MAE": np.abs(error).sum(axis=axes) / count}
    whole = observed.reshape(*observed.shape[:2], -1).all(axis=-1)  # (windows, horizon): frames with every pixel
    frames = ssim(np.nan_to_num(actual), forecast, np.asarray(data_range, "float64")).mean(axis=-1)
    table["SSIM"] = np.where(whole.any(axis=0), (frames * whole).sum(axis=0) / np.maximum(whole.sum(axis=0), 1),
                             np.nan)
    for threshold in thresholds:
        a, b, c, d = contingency(actual, forecast, threshold)
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"CSI@{threshold:g}"] = a / (a + b + c)
            table[f"HSS@{threshold:g}"] = 2 * (a * d - b * c) / ((a + c) * (c + d) + (a + b) * (b + d))
    return table


def lead_table(actual, models, data_range, thresholds=()):
    """The metrics of each model (`{name: forecasts}`, every array
    `(windows, horizon, height, width, channels)` in raw units) by lead
    time: a DataFrame indexed by ("lead", "model"), leads 1 .. horizon."""
    horizon = actual.shape[1]
    rows = {}
    for name, forecast in models.items():
        for metric, values in scores(actual, forecast, data_range, thresholds).items():
            for lead in range(horizon):
                rows.setdefault((lead + 1, name), {})[metric] = float(values[lead])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["lead", "model"])
    return frame


def baselines(inputs, horizon, climatology):
    """{"persistence": the last input frame at every lead, "climatology":
    the mean training frame}, shaped `(windows, horizon, ...)` like the
    forecasts; `inputs` `(windows, lookback, ...)`."""
    last = inputs[:, -1:]
    return {"persistence": np.repeat(last, horizon, axis=1),
            "climatology": np.broadcast_to(climatology, (len(inputs), horizon, *climatology.shape))}
