"""tsgate cells inside your own Functional model: a Conv1D front end, a
bidirectional layer-normalised LSTM, attention pooling and a GRU, trained with
plain `model.fit` on windows from `keras.utils.timeseries_dataset_from_array`
(fine here: the series has no gaps), then saved, reloaded and exported.

    python examples/compose_keras_model.py [--epochs 2] [--rows 4000]
"""

import argparse
import tempfile

import keras
import numpy as np

import tsgate
from tsgate import datasets, serving


def build(lookback, features, horizon):
    inputs = keras.Input((lookback, features), name="past")
    x = keras.layers.Conv1D(16, 5, padding="causal", activation="relu")(inputs)
    x = keras.layers.Bidirectional(tsgate.LSTM(16, layer_norm=True, return_sequences=True))(x)
    x = keras.layers.Add()([x, keras.layers.MultiHeadAttention(2, 8)(x, x)])
    x = tsgate.GRU(16, zoneout=0.1)(x)
    return keras.Model(inputs, keras.layers.Dense(horizon)(x))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=4000, help="rows of the sensor data; the first 3/4 train")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    values = datasets.load_sensor().to_numpy("float32")[: args.rows]
    split = len(values) * 3 // 4
    values = (values - values[:split].mean(0)) / values[:split].std(0)  # training rows only
    lookback, horizon = 48, 12
    target = np.lib.stride_tricks.sliding_window_view(values[lookback:, -1], horizon)
    train = keras.utils.timeseries_dataset_from_array(values[:split - horizon], target[:split - lookback - horizon + 1],
                                                      lookback, batch_size=64)
    model = build(lookback, values.shape[1], horizon)
    model.compile(optimizer="adam", loss="mse")
    model.fit(train, epochs=args.epochs, verbose=2)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(f"{tmp}/model.keras")
        reloaded = keras.saving.load_model(f"{tmp}/model.keras")
        sample = values[None, -lookback:]
        print("reloaded equals original:", np.allclose(reloaded.predict(sample, verbose=0), model.predict(sample, verbose=0)))
        path = serving.export_saved_model(model, f"{tmp}/serving/1")
        served = serving.serve_in_fresh_process(path, {"past": sample})["output_0"]
        print("served without tsgate, max |diff|:", float(np.abs(served - model.predict(sample, verbose=0)).max()))


if __name__ == "__main__":
    main()
