"""The names of tsgate's choices, written once: the library checks its
arguments against them and the `tsgate` command offers them. Plain Python:
importing it loads no framework, so `tsgate --help` lists them at once.

Where an argument may also be None (`fill`, `target_transform`), None is not
listed here: the library adds it, the command line leaves the option out."""

CELLS = ("gru", "lstm", "memory_gru", "sru")  # `cell`: the recurrent layers of tsgate.models.recurrent.CELLS
BUILDERS = ("recurrent", "segment")  # `builder`: the model builders registered in tsgate.models.BUILDERS
POINT_LOSSES = ("mse", "mae", "huber")  # `loss`: Keras losses by name (a quantile head trains on the pinball loss)
SCHEDULES = ("constant", "cosine")  # `schedule`: the learning-rate schedule
DTYPE_POLICIES = ("float32", "mixed_bfloat16")  # `dtype_policy`: the Keras dtype policy the model computes in
SCALERS = ("standard", "minmax", "robust")  # `scaler`: the scikit-learn scalers of tsgate.scaling.SCALERS
RETURNS = ("log_return", "pct_change", "diff")  # the `target_transform`s that forecast returns from the origin
TRANSFORMS = ("log1p", "boxcox", *RETURNS)  # `target_transform`, applied before scaling (or None)
UNITS = ("raw", "scaled")  # `evaluate(units=...)`: metrics in raw units, or in the units the model was fitted in
DUPLICATES = ("error", "first", "last", "mean")  # `duplicates`: rows of one timestamp refused, or which to keep
FILLS = ("ffill", "interpolate", "zero")  # `fill`: how missing inputs are filled (or None: NaN is an error)
CALIBRATIONS = ("conformal", "adaptive")  # `calibration` of the forecast quantiles (tsgate.calibration), or None
GROUPS = ("series", "target", "horizon")  # `by` of evaluate and backtest: the metrics per group
