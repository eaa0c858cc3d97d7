"""The raw-unit model: a model trained on scaled data wrapped into one that
takes and returns raw units, which is what `Forecaster.predict` runs and what
the SavedModel and TF Lite exports serve. A target transform goes outside the
scaler, and a non-negative output clips last:

    raw → transform → scale → model [→ calibrate] → inverse scale → inverse transform [→ max(·, 0)]
"""

import keras

from tsgate.scaling import Affine


def raw_unit_model(model, layout, scaler, quantiles=None, transform=None, non_negative=False, calibration=None,
                   per_window=False):
    """`model` (trained on scaled inputs and targets) between the scaler and
    its inverse: raw-unit inputs by name (and "series_index" `(b,)` int32, the
    fitted row of each window's series, with per-series scaling or a
    per-series calibration; the same rows for both) to
    {"forecast" `(b, horizon, n_target)` [, "quantiles" `(b, horizon, n_target, q)`]}
    in raw units. `transform`: a fitted `TargetTransform` applied to
    "past_target" before the scaler and inverted after it (a returns
    transform from the origin, the last row of "past_target"); `non_negative`:
    the forecast clipped at 0, `max(ŷ, 0)` (increasing, so quantiles stay
    ordered); `calibration`: a `tsgate.calibration.Calibration` whose shifts
    are added to the scaled quantiles (or make them of a point forecast,
    whose levels are then `quantiles`); `per_window`: those shifts are an
    input instead, "calibration_shifts" `(b, horizon, n_target, q)` (an
    adaptive calibration replayed; never exported)."""
    inputs = {t.name: keras.Input(t.shape[1:], name=t.name) for t in model.inputs}
    per_series = calibration is not None and calibration.per_series
    group = keras.Input((), dtype="int32", name="series_index") if scaler.per_series or per_series else None
    scaler_group = group if scaler.per_series else None
    scaling = layout.input_scaling(scaler.scale_, scaler.offset_, scaler.static_scale_, scaler.static_offset_)
    model_inputs = dict(inputs)
    if transform is not None:
        model_inputs["past_target"] = transform.layer(name="transform_past_target")(inputs["past_target"])
    scaled = {name: Affine(*scaling[name], name=f"scale_{name}")(x, scaler_group) if name in scaling else x
              for name, x in model_inputs.items()}
    n_target = len(layout.targets)
    axis = -2 if quantiles else -1
    given = {} if not per_window else \
        {"calibration_shifts": keras.Input(calibration.shifts.shape, name="calibration_shifts")}
    forecast = model(scaled) if calibration is None else \
        calibration.layer()(model(scaled), given.get("calibration_shifts"), group if per_series else None)
    raw = Affine(scaler.scale_[:, :n_target], scaler.offset_[:, :n_target], axis=axis,
                 inverse=True, name="unscale_forecast")(forecast, scaler_group)
    if transform is not None:
        origin = {"past_target": inputs["past_target"]} if transform.relative else {}  # returns are read from it
        raw = transform.layer(inverse=True, axis=axis, name="untransform_forecast")(raw, **origin)
    if non_negative:
        raw = keras.layers.ReLU(dtype="float32", name="non_negative")(raw)
    outputs = {"forecast": raw} if not quantiles else {"forecast": raw[..., list(quantiles).index(0.5)], "quantiles": raw}
    return keras.Model({**inputs, **({"series_index": group} if group is not None else {}), **given}, outputs,
                       name="raw_units")
