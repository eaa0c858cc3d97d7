"""The README's main job: train a tsgate GRU on the bundled Seattle sensor
series, compare it with the naive baselines, plot a forecast, export a
SavedModel and check that TensorFlow alone serves it."""

import json
import os
import time

import keras
import matplotlib
import numpy as np
from sklearn.preprocessing import StandardScaler

import tsgate
from tsgate import datasets, export

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LOOKBACK, HORIZON, SEASON = 96, 24, 24


def windows(values, lookback, horizon):
    """Inputs `(N, lookback, 1)` and targets `(N, horizon)` from a 1-D array in
    which NaN marks a missing timestamp; windows touching a NaN are dropped."""
    span = np.lib.stride_tricks.sliding_window_view(values, lookback + horizon)
    span = span[~np.isnan(span).any(axis=1)]
    return span[:, :lookback, None].astype("float32"), span[:, lookback:].astype("float32")


def run(output_dir, epochs=8, verbose=1):
    start = time.perf_counter()
    keras.utils.set_random_seed(0)
    os.makedirs(output_dir, exist_ok=True)
    series = datasets.load_sensor()["OT"].asfreq("h")  # a missing hour would become NaN
    # The split of the ETT literature: 12 / 4 / 4 months of 30 days.
    train_end, val_end, test_end = 12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24
    series = series.iloc[:test_end]
    scaler = StandardScaler().fit(series.iloc[:train_end].dropna().to_frame())
    scaled = scaler.transform(series.to_frame()).ravel()
    # Validation and test inputs may reach back across a border; targets never do.
    splits = {
        "train": windows(scaled[:train_end], LOOKBACK, HORIZON),
        "val": windows(scaled[train_end - LOOKBACK : val_end], LOOKBACK, HORIZON),
        "test": windows(scaled[val_end - LOOKBACK :], LOOKBACK, HORIZON),
    }

    # The GRU forecasts the change from the last observed value (as NLinear
    # does), which keeps it honest when the level drifts between splits.
    inputs = keras.Input((LOOKBACK, 1), name="past_target")
    last = inputs[:, -1, :]
    hidden = tsgate.GRU(32)(inputs - last[:, None, :])
    model = keras.Model(inputs, keras.layers.Dense(HORIZON)(hidden) + last)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    model.fit(
        *splits["train"],
        validation_data=splits["val"],
        epochs=epochs,
        batch_size=64,
        callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)],
        verbose=verbose,
    )

    x_test, y_test = splits["test"]
    scale = float(scaler.scale_[0])
    forecasts = {
        "tsgate GRU": model.predict(x_test, verbose=0),
        "naive (last value)": np.repeat(x_test[:, -1], HORIZON, axis=1),
        "seasonal naive (24 h)": x_test[:, -SEASON:, 0],
    }
    metrics = {
        name: {
            "MAE": float(np.mean(np.abs(f - y_test)) * scale),
            "RMSE": float(np.sqrt(np.mean((f - y_test) ** 2)) * scale),
        }
        for name, f in forecasts.items()
    }

    to_raw = lambda v: v * scale + scaler.mean_[0]  # noqa: E731
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(range(-LOOKBACK, 0), to_raw(x_test[-1, :, 0]), label="history")
    ax.plot(range(HORIZON), to_raw(y_test[-1]), label="actual")
    ax.plot(range(HORIZON), to_raw(forecasts["tsgate GRU"][-1]), label="tsgate GRU forecast")
    ax.set(xlabel="hours from forecast origin", ylabel="oil temperature (°C)", title="ETTh1 transformer oil temperature")
    ax.legend()
    plot_path = os.path.join(output_dir, "forecast.png")
    fig.savefig(plot_path, dpi=100)
    plt.close(fig)

    model_dir = os.path.join(output_dir, "saved_model", str(int(time.time())))
    export.export_saved_model(model, model_dir)
    served = export.serve_in_fresh_process(model_dir, {"past_target": x_test[:16]})["output_0"]
    serving_max_diff = float(np.max(np.abs(served - forecasts["tsgate GRU"][:16])))
    if serving_max_diff > 1e-4:
        raise RuntimeError(f"The exported model serves different numbers (max |diff| {serving_max_diff}).")

    report = {
        "metrics_raw_units": metrics,
        "test_windows": len(x_test),
        "plot": plot_path,
        "saved_model": model_dir,
        "serving_max_abs_diff": serving_max_diff,
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    with open(os.path.join(output_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report


def print_report(report):
    print(f"\n{'model':<24}{'MAE °C':>10}{'RMSE °C':>10}")
    for name, m in report["metrics_raw_units"].items():
        print(f"{name:<24}{m['MAE']:>10.3f}{m['RMSE']:>10.3f}")
    print(f"\nplot: {report['plot']}")
    print(f"SavedModel: {report['saved_model']} (served without tsgate, max |diff| {report['serving_max_abs_diff']:.2e})")
    print(f"wall time: {report['wall_seconds']} s")
