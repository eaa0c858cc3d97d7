"""Forecast a grid of sensors with tsgate.ConvGRU2D.

The field: on a 16×16 grid, three sources drift with constant velocities
(bouncing off the edges) and emit Gaussian plumes whose width diffuses: it
grows linearly, and each source pulses with its own period. Each sensor reads
the field plus Gaussian noise (σ = 0.02). From the last 8 frames, forecast
the next frame.

Compared: persistence (the last frame), a per-pixel GRU (each sensor's own
history, weights shared across sensors, no neighbours) and ConvGRU2D (which
sees neighbours, so it can follow the plumes as they move).

    python examples/convgru_sensor_grid.py [--epochs 10]
"""

import argparse
import time

import keras
import numpy as np

import tsgate

GRID, LOOKBACK = 16, 8


def sensor_field(steps, rng):
    """(steps, GRID, GRID) field of moving, diffusing, pulsing sources."""
    yy, xx = np.mgrid[0:GRID, 0:GRID].astype("float32")
    field = np.zeros((steps, GRID, GRID), "float32")
    for _ in range(3):
        pos = rng.uniform(2, GRID - 2, 2)
        vel = rng.uniform(-0.6, 0.6, 2)
        width0, growth = rng.uniform(1.0, 2.0), rng.uniform(0.01, 0.03)
        period, phase = rng.uniform(20, 40), rng.uniform(0, 2 * np.pi)
        for t in range(steps):
            pos = pos + vel
            for axis in range(2):  # bounce off the edges
                if not 0 <= pos[axis] <= GRID - 1:
                    vel[axis] = -vel[axis]
                    pos[axis] = np.clip(pos[axis], 0, GRID - 1)
            width = width0 + growth * (t % 60)
            amp = 1.0 + 0.5 * np.sin(2 * np.pi * t / period + phase)
            field[t] += amp * np.exp(-((yy - pos[0]) ** 2 + (xx - pos[1]) ** 2) / (2 * width**2))
    return field + rng.normal(0, 0.02, field.shape).astype("float32")


def windows(field):
    span = np.lib.stride_tricks.sliding_window_view(field, LOOKBACK + 1, axis=0)  # (N, G, G, L+1)
    span = np.moveaxis(span, -1, 1)[..., None]  # (N, L+1, G, G, 1)
    return span[:, :LOOKBACK], span[:, LOOKBACK]


def conv_gru_model():
    frames = keras.Input((LOOKBACK, GRID, GRID, 1))
    h = tsgate.ConvGRU2D(16, 3, padding="same", return_sequences=True)(frames)
    h = tsgate.ConvGRU2D(16, 3, padding="same")(h)
    return keras.Model(frames, keras.layers.Conv2D(1, 1)(h))


def per_pixel_gru_model():
    frames = keras.Input((LOOKBACK, GRID, GRID, 1))
    # Every pixel's history is its own sequence: (batch * GRID * GRID, LOOKBACK, 1).
    pixels = keras.layers.Lambda(
        lambda f: keras.ops.reshape(keras.ops.transpose(f, (0, 2, 3, 1, 4)), (-1, LOOKBACK, 1))
    )(frames)
    forecast = keras.layers.Dense(1)(tsgate.GRU(16)(pixels))
    grid = keras.layers.Lambda(lambda p: keras.ops.reshape(p, (-1, GRID, GRID, 1)))(forecast)
    return keras.Model(frames, grid)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1000, help="frames in the simulated record")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    x, y = windows(sensor_field(args.steps, np.random.default_rng(0)))
    split = int(0.8 * len(x))
    (x_train, y_train), (x_test, y_test) = (x[:split], y[:split]), (x[split:], y[split:])

    results = {"persistence": float(np.mean((x_test[:, -1] - y_test) ** 2))}
    for name, build in (("per-pixel GRU", per_pixel_gru_model), ("ConvGRU2D", conv_gru_model)):
        start = time.perf_counter()
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, validation_split=0.1, verbose=0,
                  callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)])
        results[name] = float(model.evaluate(x_test, y_test, verbose=0))
        print(f"trained {name} in {time.perf_counter() - start:.0f} s")

    print(f"\n{'model':<16}{'test MSE':>12}{'vs persistence':>16}")
    for name, mse in results.items():
        print(f"{name:<16}{mse:>12.5f}{mse / results['persistence']:>15.2f}x")
    return results


if __name__ == "__main__":
    main()
