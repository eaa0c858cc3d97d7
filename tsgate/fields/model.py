"""The field model: a causal ConvGRU encoder–forecaster (Shi et al. 2015,
2017) that reads `lookback` frames and forecasts `horizon` frames at once.

    frames (b, L, H, W, C)
      → pad H, W to a multiple of 2^levels
      encoder, level k = 1 .. n:  Conv2D stride 2 (ReLU) per frame → ConvGRU2D(f_k) ──► state s_k
      forecaster, level k = n .. 1: ConvGRU2D(f_k) from s_k over the horizon
                                    (level n reads no input: zeros) → Conv2DTranspose stride 2 (ReLU)
      → Conv2D 1×1 to C channels per frame → crop [→ + the last input frame] → (b, horizon, H, W, C)

No layer mixes frames over time except the recurrences, and the forecaster
reads only the encoder's states: no target frame reaches a forecast (the leak
of Keras' next-frame example, whose last Conv3D is padded "same" in time,
keras-io#1003). Each level halves the grid, so the recurrences run on
`H/2 × W/2` and smaller states: a fraction of the cost of full-resolution
ConvLSTM stacks.
"""

import keras
from keras import layers, ops

from tsgate.cells.conv_gru import ConvGRU2D
from tsgate.keras_compat import broadcast_add


@keras.saving.register_keras_serializable(package="tsgate")
class LeadSteps(keras.layers.Layer):
    """Zeros `(b, horizon, *grid, 1)` shaped after a state `(b, *grid, F)`:
    the input of the forecaster's deepest recurrence, which reads nothing
    but the state the encoder hands it."""

    def __init__(self, horizon, **kwargs):
        super().__init__(**kwargs)
        self.horizon = horizon

    def call(self, state):
        return ops.zeros_like(ops.repeat(ops.expand_dims(state[..., :1], 1), self.horizon, axis=1))

    def compute_output_shape(self, state_shape):
        return (state_shape[0], self.horizon, *state_shape[1:-1], 1)

    def get_config(self):
        return {**super().get_config(), "horizon": self.horizon}


@keras.saving.register_keras_serializable(package="tsgate")
class PlusLastFrame(keras.layers.Layer):
    """`forecast + frames[:, -1:]`: forecasts `(b, horizon, ...)` as changes
    from the last input frame `(b, lookback, ...)` (persistence plus a
    learned change, for slowly varying fields). In float32 whatever the
    dtype policy, like `tsgate.scaling.Affine`: bfloat16 would move the
    last frame by its rounding."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, forecast, frames):
        return broadcast_add(forecast, frames[:, -1:])

    def compute_output_shape(self, forecast_shape, frames_shape):
        return forecast_shape


def build_field_model(lookback, horizon, grid, filters=(16, 32), kernel_size=3, cell_options=None, residual=False):
    """The encoder–forecaster over frames `(b, lookback, height, width,
    channels)` (`grid` = `(height, width, channels)`, scaled units), input
    "frames", output `(b, horizon, height, width, channels)`. `filters`: the
    ConvGRU2D filters of each level, each level halving the grid;
    `kernel_size`: of every convolution; `cell_options`: more ConvGRU2D
    arguments (e.g. `{"zoneout": 0.1}`); `residual`: the forecast is the
    last input frame plus the network's output (`PlusLastFrame`)."""
    height, width, channels = grid
    levels, options = len(filters), dict(cell_options or {})
    step = 2**levels
    pad = (-height % step, -width % step)
    frames = keras.Input((lookback, height, width, channels), name="frames")
    x = layers.ZeroPadding3D(((0, 0), (0, pad[0]), (0, pad[1])), name="pad")(frames) if any(pad) else frames
    states = []
    for k, size in enumerate(filters):
        x = layers.TimeDistributed(layers.Conv2D(size, kernel_size, strides=2, padding="same",
                                                 activation="relu"), name=f"down_{k}")(x)
        x, state = ConvGRU2D(size, kernel_size, padding="same", return_sequences=True, return_state=True,
                             name=f"encoder_{k}", **options)(x)
        states.append(state)
    x = LeadSteps(horizon, name="lead_steps")(states[-1])
    for k in reversed(range(levels)):
        x = ConvGRU2D(filters[k], kernel_size, padding="same", return_sequences=True, name=f"forecaster_{k}",
                      **options)(x, initial_state=[states[k]])
        x = layers.TimeDistributed(layers.Conv2DTranspose(filters[max(k - 1, 0)], kernel_size, strides=2,
                                                          padding="same", activation="relu"), name=f"up_{k}")(x)
    x = layers.TimeDistributed(layers.Conv2D(channels, 1), name="frames_out")(x)
    if any(pad):
        x = layers.Cropping3D(((0, 0), (0, pad[0]), (0, pad[1])), name="crop")(x)
    if residual:
        x = PlusLastFrame(name="plus_last_frame")(x, frames)
    return keras.Model({"frames": frames}, x, name="field_encoder_forecaster")
