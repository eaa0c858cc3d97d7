"""The README's main job: forecast the oil temperature of the bundled ETTh1
transformer data 24 hours ahead with a tsgate GRU, compare it with the naive
baselines, plot, export a SavedModel and check that TensorFlow alone serves it."""

import json
import os
import time

import numpy as np

from tsgate import datasets, export
from tsgate import Forecaster

HOURS_PER_MONTH = 30 * 24


def run(output_dir, epochs=10, verbose=2):
    start = time.perf_counter()
    os.makedirs(output_dir, exist_ok=True)
    # The split of the ETT literature: 12 / 4 / 4 months of 30 days.
    df = datasets.load_sensor().iloc[: 20 * HOURS_PER_MONTH]
    test_start = df.index[16 * HOURS_PER_MONTH]
    forecaster = Forecaster(
        "OT", lookback=96, horizon=24, cell="gru", units=32, calendar=["hour"], quantiles=(0.1, 0.5, 0.9)
    )
    forecaster.fit(df[df.index < test_start], validation=0.25, epochs=epochs, verbose=verbose)
    table = forecaster.evaluate(df, test=test_start)
    plot_path = os.path.join(output_dir, "forecast.png")
    forecaster.plot(df[df.index < test_start], plot_path)
    forecaster.save(os.path.join(output_dir, "forecaster"))

    model_dir = os.path.join(output_dir, "saved_model", str(int(time.time())))
    export.export_saved_model(forecaster.model, model_dir)
    rng = np.random.default_rng(0)
    sample = {inp.name: rng.normal(size=(8, *inp.shape[1:])).astype("float32") for inp in forecaster.model.inputs}
    served = export.serve_in_fresh_process(model_dir, sample)
    (served,) = served.values()
    serving_max_diff = float(np.max(np.abs(served - forecaster.model.predict(sample, verbose=0))))
    if serving_max_diff > 1e-4:
        raise RuntimeError(f"The exported model serves different numbers (max |diff| {serving_max_diff}).")

    report = {
        "metrics_raw_units": table.to_dict(orient="index"),
        "windows": forecaster.windows_,
        "plot": plot_path,
        "saved_model": model_dir,
        "serving_max_abs_diff": serving_max_diff,
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    with open(os.path.join(output_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report


def print_report(report):
    columns = ["MAE", "RMSE", "MAPE", "sMAPE", "MASE"]
    print(f"\nETTh1 oil temperature (°C), 24 h ahead, test = last 4 months\n{'model':<22}"
          + "".join(f"{c:>9}" for c in columns))
    for name, m in report["metrics_raw_units"].items():
        print(f"{name:<22}" + "".join(f"{m[c]:>9.3f}" for c in columns))
    print(f"\nplot: {report['plot']}")
    print(f"SavedModel: {report['saved_model']} (served without tsgate, max |diff| {report['serving_max_abs_diff']:.2e})")
    print(f"wall time: {report['wall_seconds']} s")
