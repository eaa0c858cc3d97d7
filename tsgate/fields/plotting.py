"""Field plots with matplotlib's object API (no pyplot, as
`tsgate.plotting`): a strip of frames (the last inputs, then the forecast
and the actual at each lead time) and a metric by lead time."""

import numpy as np
from matplotlib.figure import Figure

from tsgate.validation import check_choice, check_positive_int, invalid


def _save(fig, path):
    if path:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def plot_frames(forecasts, window=-1, channel=0, inputs=4, path=None, origin="upper"):
    """Three rows of frames for one window of `forecasts` (a
    `FieldForecasts`): its last `inputs` input frames, then the forecast
    and the actual at each lead time, one colour scale for all; missing
    actual pixels are blank. `origin`: matplotlib's, "lower" for a grid
    whose first row is the south (latitudes increasing). Returns the Figure
    (saved to `path` if given)."""
    count = len(forecasts.forecasts)
    if not isinstance(window, (int, np.integer)) or not -count <= window < count:
        raise invalid("window", f"a window position in [-{count}, {count})", window)
    channels = forecasts.forecasts.shape[-1]
    if not isinstance(channel, (int, np.integer)) or not 0 <= channel < channels:
        raise invalid("channel", f"a channel position in [0, {channels})", channel)
    inputs = min(check_positive_int("inputs", inputs), forecasts.inputs.shape[1])
    check_choice("origin", origin, ("upper", "lower"))
    rows = {"inputs": forecasts.inputs[window, -inputs:, ..., channel],
            "forecast": forecasts.forecasts[window, ..., channel],
            "actual": forecasts.actuals[window, ..., channel]}
    low = min(np.nanmin(frames) for frames in rows.values())
    high = max(np.nanmax(frames) for frames in rows.values())
    horizon = forecasts.forecasts.shape[1]
    columns = max(horizon, inputs)
    fig = Figure(figsize=(1.4 * columns, 4.6))
    axes = fig.subplots(3, columns, squeeze=False)
    for r, (name, frames) in enumerate(rows.items()):
        for c in range(columns):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(frames):
                ax.set_axis_off()
                continue
            image = ax.imshow(frames[c], vmin=low, vmax=high, cmap="viridis", origin=origin)
            label = f"t{c - len(frames) + 1:+d}" if name == "inputs" else f"lead {c + 1}"
            ax.set_title(label, fontsize=8)
            if c == 0:
                ax.set_ylabel(name)
    fig.colorbar(image, ax=axes, shrink=0.8)
    fig.suptitle(f"origin {forecasts.origins[window]}")
    return _save(fig, path)


def plot_leads(table, metric="MSE", path=None):
    """`metric` by lead time for each model of an `evaluate` table (indexed
    by lead and model). Returns the Figure (saved to `path` if given)."""
    if metric not in table.columns:
        raise invalid("metric", f"one of {list(table.columns)}", metric)
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for model, rows in table[metric].groupby(level="model", sort=False):
        ax.plot(rows.index.get_level_values("lead"), rows.to_numpy(), marker="o", label=model)
    ax.set_xlabel("lead time (frames)")
    ax.set_ylabel(metric)
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)
