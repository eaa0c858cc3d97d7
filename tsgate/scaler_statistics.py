"""What fitting `tsgate.scaling.AffineScaler` needs of each process's rows,
merged across workers (`tsgate.distributed`) as if one process had them all.

`statistics` of one process's rows (per series: counts, means, sums of squared
deviations, minima, maxima; the range of every column; the static covariates'
moments) is plain JSON for an all-gather; `merge_statistics` merges them
exactly; `scaler_from_statistics` is the scikit-learn scaler fitted from the
merged ones. Only the `REDUCIBLE` methods can be: quantiles and medians do
not merge.
"""

import json

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from tsgate.data import plain

REDUCIBLE = ("standard", "minmax")  # fitted from counts, means, squared deviations, minima and maxima


def moments(rows):
    """[count, means `(n,)`, sums of squared deviations `(n,)`] of `rows` `(r, n)`."""
    mean = rows.mean(axis=0) if len(rows) else np.zeros(rows.shape[1])
    return [len(rows), mean.tolist(), ((rows - mean) ** 2).sum(axis=0).tolist()]


def _merge_moments(a, b):
    """The moments of two sets of rows together (Chan et al.'s pairwise update)."""
    (na, ma, sa), (nb, mb, sb) = a, (b[0], np.asarray(b[1]), np.asarray(b[2]))
    if na == 0 or nb == 0:
        return [na + nb, (mb if na == 0 else np.asarray(ma)).tolist(), (sb if na == 0 else np.asarray(sa)).tolist()]
    n, delta = na + nb, mb - np.asarray(ma)
    return [n, (np.asarray(ma) + delta * nb / n).tolist(), (np.asarray(sa) + sb + delta**2 * na * nb / n).tolist()]


def statistics(values, keys, fitted, static=None):
    """What `AffineScaler.fit` needs of one process's rows, as plain JSON:
    per group (series id, or None) the moments and the minima and maxima of
    the `fitted` columns over the rows without NaN, the smallest and largest
    finite value of every column, and the moments of the `static` rows."""
    complete = np.isfinite(values).all(axis=1)
    groups = {}
    for sid in dict.fromkeys(keys.tolist()):
        rows = values[(keys == sid) & complete][:, fitted]
        low, high = (rows.min(axis=0), rows.max(axis=0)) if len(rows) else (np.full(rows.shape[1], np.inf),) * 2
        groups[_json_key(sid)] = {"id": plain(sid), "moments": moments(rows), "min": low.tolist(),
                                 "max": (high if len(rows) else -high).tolist()}
    finite = np.isfinite(values)
    return {"groups": groups, "n_features": values.shape[1],
            "low": np.where(finite, values, np.inf).min(axis=0, initial=np.inf).tolist(),
            "high": np.where(finite, values, -np.inf).max(axis=0, initial=-np.inf).tolist(),
            "static": None if static is None else moments(np.asarray(static, "float64"))}


def _json_key(sid):
    """A series id as a JSON object key that keeps ints and strings apart."""
    return json.dumps(plain(sid))


def merge_statistics(parts):
    """The `statistics` of all the rows from those of each process (in
    process order): groups in order of first appearance, moments merged,
    minima and maxima reduced. Returns {"groups": ids, "count": `(g,)`,
    "mean", "m2", "min", "max": `(g, n_fitted)`, "static": moments or None,
    "range": `(2, n_features)` (NaN for a column without a finite value)}."""
    groups = {}
    for part in parts:
        for key, group in part["groups"].items():
            if key not in groups:
                groups[key] = dict(group)
                continue
            mine = groups[key]
            mine["moments"] = _merge_moments(mine["moments"], group["moments"])
            mine["min"] = np.minimum(mine["min"], group["min"]).tolist()
            mine["max"] = np.maximum(mine["max"], group["max"]).tolist()
    static = [part["static"] for part in parts if part["static"] is not None]
    merged = static[0] if static else None
    for other in static[1:]:
        merged = _merge_moments(merged, other)
    low = np.min([part["low"] for part in parts], axis=0)
    high = np.max([part["high"] for part in parts], axis=0)
    bounds = np.stack([low, high])
    listed = list(groups.values())
    return {"groups": [g["id"] for g in listed], "count": [g["moments"][0] for g in listed],
            "mean": [g["moments"][1] for g in listed], "m2": [g["moments"][2] for g in listed],
            "min": [g["min"] for g in listed], "max": [g["max"] for g in listed], "static": merged,
            "range": np.where(np.isfinite(bounds), bounds, np.nan)}


def scaler_from_statistics(method, stats, g):
    """The scikit-learn scaler `method` ("standard" or "minmax") fitted as on
    the rows whose merged statistics `stats` has, group `g`; its constant
    columns handled as scikit-learn does (scale 1)."""
    n, eps = stats["count"][g], np.finfo(np.float64).eps
    if method == "standard":
        scaler, mean = StandardScaler(), np.asarray(stats["mean"][g])
        scaler.mean_, scaler.var_ = mean, np.asarray(stats["m2"][g]) / n
        constant = scaler.var_ <= n * eps * scaler.var_ + (n * mean * eps) ** 2
        scaler.scale_ = np.where(constant, 1.0, np.sqrt(scaler.var_))
    else:
        scaler, low = MinMaxScaler(), np.asarray(stats["min"][g])
        scaler.data_min_, scaler.data_max_ = low, np.asarray(stats["max"][g])
        scaler.data_range_ = scaler.data_max_ - low
        scaler.scale_ = 1.0 / np.where(scaler.data_range_ < 10 * eps, 1.0, scaler.data_range_)
        scaler.min_ = -low * scaler.scale_
    scaler.n_features_in_, scaler.n_samples_seen_ = len(scaler.scale_), n
    return scaler

