"""The "segment" builder: a segment-recurrent forecaster (SegRNN, Lin et al.
2023) made of any tsgate cell.

Each target channel is forecast on its own with shared weights (channel
independence). Its lookback, normalised per window, is cut into `n`
segments of `w` steps, each embedded by a Dense layer; the recurrent cell
reads the `n` segment embeddings instead of `L` steps. All `m` future
segments are then decoded in parallel, one recurrent step each from the
final state, with learned position (and channel) embeddings as inputs: no
step-by-step decoding, so no error accumulates along the horizon.

    x̃ = norm(x)                       (b, L, C)   last value or RevIN
    e_i = relu(W_e [x̃_seg i; cov_i])  (b·C, n, d)
    s = cell(e_1 … e_n)                (b·C, d)    final state(s)
    q_j = [pos_j; chan_c] + W_f fut_j + W_s static
    y_j = W_o cell(q_j | s)            (b·C·m, w)  one step per segment
    ŷ = denorm(y [+ W_l x̃])            (b, H, C)   optional linear path
    quantiles (b, H, C, Q) = denorm(non_crossing(y [+ W_l x̃]))

With `cycle`, the mean cycle of the window's last whole segments (one
segment a season, as the presets cut them), centred, is removed from the
lookback before the normalisation and its continuation added to the
forecast after it (c: `(b, w, C)`, p(t) = t mod w, aligned to the window's
end):

    x' = x − c[p(t)],   ŷ = denorm'(…) + c[p(L + h)]

a per-window estimate of CycleNet's learned cycle (Lin et al. 2024) that
needs no phase input, so the model and its export take the same inputs.
An exactly periodic window is forecast as its continuation by a model that
outputs zeros.

The linear path (NLinear over the normalised lookback, per channel) is
"sum", trained jointly with the recurrent one, or "residual": it is trained
on its own loss as a linear forecaster, and the recurrent path on what it
leaves, ŷ = l + y with l = W_l x̃ held fixed in y's gradient
(`stop_gradient`). In training the layer then returns both forecasts
stacked along the batch axis, `(2b, H, C[, Q])`, l first, each scored
against the same targets by `tsgate.training.MaskedLoss`: the loss is
(L(l) + L(sg(l) + y)) / 2, one pass and one optimiser.
"""

import math

import keras
import numpy as np
from keras import ops

from tsgate.keras_compat import broadcast_add
from tsgate.models.layers import non_crossing
from tsgate.models.recurrent import CELLS
from tsgate.models.registry import model_inputs, register_builder
from tsgate.validation import check_bool, check_choice, check_positive_int, check_rate, invalid

NORMALIZATIONS = ("last", "revin", "none")
LINEAR_PATHS = ("sum", "residual")  # `linear`, besides None (True is "sum", as saved before "residual" came)


def state_layer(cell, units):
    """A recurrent layer returning `[output, *final_states]`: the tsgate layer
    named by `cell`, or a fresh copy of a Keras recurrent layer (anything with
    `return_state` in its config, e.g. `tsgate.LSTM(...)`, `keras.layers.GRU`)."""
    if isinstance(cell, keras.layers.Layer):
        config = cell.get_config()
        if "return_state" not in config:
            raise invalid("cell", "a recurrent layer with `return_state` (e.g. tsgate.GRU) for the segment builder",
                          cell)
        return cell.__class__.from_config({**config, "return_state": True, "return_sequences": False})
    if cell not in CELLS:
        raise invalid("cell", f"one of {sorted(CELLS)} or a Keras layer", cell)
    return CELLS[cell](units, return_state=True)


def _pad_time(x, before, after, axis):
    """Zero-pads axis `axis` of `x` by `before` and `after` steps."""
    pad = [[0, 0]] * len(x.shape)
    pad[axis] = [before, after]
    return ops.pad(x, pad) if before or after else x


@keras.saving.register_keras_serializable(package="tsgate")
class SegmentForecast(keras.layers.Layer):
    """The segment-recurrent forecast of `(b, L, C)` past targets, `(b, H, C)`
    or `(b, H, C, Q)` with Q `quantiles`, in the same units.

    Args:
        horizon: H. recurrent: a recurrent layer with `return_state=True`
            (its `units` d is the embedding width); it encodes the lookback
            segments and decodes every future segment.
        segment_length: w; the lookback is zero-padded at the front (after
            normalisation, i.e. with the last value) to a multiple of w, and
            the forecast of `ceil(H / w)` segments is cut to H.
        normalization: "last" (subtract the last value, add it back),
            "revin" (per-window mean and standard deviation, RevIN without
            affine weights) or "none".
        channel_embedding: half of each decoder input is a learned
            embedding of the channel, half of the segment position.
        linear: None, or a Dense map from the normalised lookback to the
            horizon, per channel (NLinear) beside the recurrent path,
            "sum" (True: the same) or "residual" (see the module).
        cycle: removes the window's mean cycle before the model and adds
            its continuation after (see the module); needs a lookback of at
            least one segment.
        dropout: before the output projection.
        quantiles: the Q sorted levels of a quantile head, 0.5 among them
            (None: a point forecast); `non_crossing` makes them never cross
            (before the denormalisation, which increases).

    call(past, past_covariates=None, future_covariates=None, static=None):
    past covariates `(b, L, P)` join every channel's segments (normalised as
    the targets are), future covariates `(b, H, F)` and static `(b, S)` are
    embedded into every decoder input.
    """

    def __init__(self, horizon, recurrent, segment_length=24, normalization="last", channel_embedding=True,
                 linear=None, dropout=0.0, quantiles=None, cycle=False, **kwargs):
        super().__init__(autocast=False, **kwargs)  # normalisation stays in float32 under mixed precision
        self.horizon = check_positive_int("horizon", horizon)
        self.segment_length = check_positive_int("segment_length", segment_length)
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)
        self.channel_embedding = check_bool("channel_embedding", channel_embedding)
        self.linear = _linear_path(linear)
        self.cycle = check_bool("cycle", cycle)
        self.dropout = check_rate("dropout", dropout)
        self.quantiles = None if not quantiles else tuple(float(q) for q in quantiles)
        if self.quantiles and (0.5 not in self.quantiles or list(self.quantiles) != sorted(set(self.quantiles))):
            raise invalid("quantiles", "None or distinct increasing levels with 0.5 among them", quantiles)
        self.levels = len(self.quantiles) if self.quantiles else 1  # outputs per step
        self.recurrent = recurrent
        self.units = recurrent.cell.units if hasattr(recurrent, "cell") else recurrent.units
        self.out_segments = math.ceil(horizon / segment_length)
        policy = self.dtype_policy  # the sublayers compute as this layer does, whatever the global policy at load
        self.embed = keras.layers.Dense(self.units, activation="relu", name="segment_embedding", dtype=policy)
        self.project = keras.layers.Dense(segment_length * self.levels, name="segment_projection", dtype=policy)
        self.drop = keras.layers.Dropout(dropout, dtype=policy)
        self.future_embed = keras.layers.Dense(self.units, name="future_embedding", dtype=policy)
        self.static_embed = keras.layers.Dense(self.units, name="static_embedding", dtype=policy)
        # zero weights: the linear path starts as the normalisation's own forecast (the last value, or the mean)
        self.linear_map = keras.layers.Dense(horizon, kernel_initializer="zeros", name="linear_path",
                                             dtype=policy) if self.linear else None

    def build(self, past_shape, past_covariates_shape=None, future_covariates_shape=None, static_shape=None):
        lookback, self.channels = past_shape[1], past_shape[2]
        w, d = self.segment_length, self.units
        if self.cycle and lookback < w:
            raise invalid("cycle", f"False for a lookback ({lookback}) shorter than one segment ({w})", self.cycle)
        self.in_segments = math.ceil(lookback / w)
        covariates = past_covariates_shape[-1] if past_covariates_shape else 0
        self.embed.build((None, self.in_segments, w * (1 + covariates)))
        self.recurrent.build((None, self.in_segments, d))
        self.project.build((None, d))
        if future_covariates_shape:
            self.future_embed.build((None, self.out_segments, w * future_covariates_shape[-1]))
        if static_shape:
            self.static_embed.build(static_shape)
        if self.linear_map is not None:
            self.linear_map.build((None, lookback))
        half = d // 2 if self.channel_embedding else 0
        self.position = self.add_weight((self.out_segments, d - half), "random_normal", name="position")
        self.channel = self.add_weight((self.channels, half), "random_normal", name="channel") if half else None

    def _normalize(self, x):
        """(x̃, denorm) for `(b, L, n)` windows; denorm maps `(b, H, n[, Q])` back."""
        if self.normalization == "none":
            return x, lambda y: y
        if self.normalization == "last":
            center = x[:, -1:, :]
            spread = None
        else:
            center = ops.mean(x, axis=1, keepdims=True)
            spread = ops.sqrt(ops.var(x, axis=1, keepdims=True) + 1e-5)
        x = ops.subtract(x, center)
        x = x if spread is None else x / spread

        def denorm(y):
            c, s = center, spread
            if len(y.shape) == 4:
                c = ops.expand_dims(c, -1)
                s = s if s is None else ops.expand_dims(s, -1)
            return broadcast_add(y if s is None else y * s, c)

        return x, denorm

    def _cycle(self, x):
        """(x − c[p(t)], recycle) for `(b, L, C)` windows (see the module);
        recycle adds c[p(L + h)] to `(b, H, C[, Q])` forecasts."""
        w, lookback = self.segment_length, x.shape[1]
        whole = lookback // w * w
        cycle = ops.mean(ops.reshape(x[:, lookback - whole :, :], (-1, whole // w, w, x.shape[2])), axis=1)
        cycle = cycle - ops.mean(cycle, axis=1, keepdims=True)  # (b, w, C), centred: the level stays the model's
        past = ops.take(cycle, (np.arange(lookback) - lookback) % w, axis=1)  # phase w − 1 at the window's end
        future = ops.take(cycle, np.arange(self.horizon) % w, axis=1)  # (b, H, C)

        def recycle(y):
            return broadcast_add(y, future if len(y.shape) == 3 else ops.expand_dims(future, -1))

        return x - past, recycle

    def _segments(self, x, width):
        """`(b, L, k)` → `(b, n, w·k)`: the front-padded lookback in segments."""
        w, n = self.segment_length, self.in_segments
        x = _pad_time(x, n * w - x.shape[1], 0, axis=1)
        return ops.reshape(x, (-1, n, w * width))

    def call(self, past, past_covariates=None, future_covariates=None, static=None, training=False):
        dtype = past.dtype
        channels, d, m, w = self.channels, self.units, self.out_segments, self.segment_length
        q = self.levels
        recycle = None
        if self.cycle:
            past, recycle = self._cycle(past)
        past, normalized = self._normalize(past)

        def denorm(y):
            y = normalized(y)
            return y if recycle is None else recycle(y)

        batch = ops.shape(past)[0]
        # Channel independence: each channel's lookback is a sequence of its own.
        per_channel = ops.reshape(ops.transpose(past, (0, 2, 1)), (-1, past.shape[1], 1))  # (b·C, L, 1)
        segments = self._segments(per_channel, 1)  # (b·C, n, w)
        if past_covariates is not None:
            covariates, _ = self._normalize(past_covariates)
            covariates = self._segments(covariates, covariates.shape[-1])  # (b, n, w·P)
            covariates = ops.broadcast_to(ops.expand_dims(covariates, 1), (batch, channels, *covariates.shape[1:]))
            segments = ops.concatenate([segments, ops.reshape(covariates, (-1, *covariates.shape[2:]))], axis=-1)
        _, *states = self.recurrent(self.embed(segments), training=training)

        # Decoder inputs (b, C, m, d): position (+ channel) embeddings and the covariates.
        shape = (batch, channels, m)
        queries = ops.broadcast_to(ops.cast(self.position, self.embed.compute_dtype), (*shape, self.position.shape[-1]))
        if self.channel is not None:
            channel = ops.cast(self.channel[:, None, :], self.embed.compute_dtype)
            queries = ops.concatenate([queries, ops.broadcast_to(channel, (*shape, self.channel.shape[-1]))], axis=-1)
        if future_covariates is not None:
            future = _pad_time(future_covariates, 0, m * w - self.horizon, axis=1)
            future = self.future_embed(ops.reshape(future, (-1, m, w * future.shape[-1])))  # (b, m, d)
            queries = queries + ops.broadcast_to(ops.expand_dims(future, 1), (*shape, d))
        if static is not None:
            queries = queries + ops.broadcast_to(self.static_embed(static)[:, None, None, :], (*shape, d))
        queries = ops.reshape(queries, (-1, 1, d))  # (b·C·m, 1, d)
        states = [ops.reshape(ops.repeat(ops.expand_dims(s, 1), m, axis=1), (-1, s.shape[-1])) for s in states]
        decoded, *_ = self.recurrent(queries, initial_state=states, training=training)  # (b·C·m, d)

        out = self.project(self.drop(decoded, training=training))  # (b·C·m, w·q)
        out = ops.cast(ops.reshape(out, (-1, channels, m * w, q))[:, :, : self.horizon], dtype)  # (b, C, H, q)
        linear = None
        if self.linear_map is not None:
            linear = self.linear_map(ops.transpose(past, (0, 2, 1)))  # (b, C, H)
            linear = ops.transpose(ops.cast(ops.expand_dims(linear, -1), dtype), (0, 2, 1, 3))  # (b, H, C, 1)
        out = ops.transpose(out, (0, 2, 1, 3))  # (b, H, C, q)
        if self.linear == "sum":
            out = out + linear
        out = non_crossing(out, self.quantiles.index(0.5)) if self.quantiles else out
        if self.linear == "residual":
            forecast = denorm(self._point(out + ops.stop_gradient(linear)))
            if training:  # the linear forecast first, scored on its own (see the module)
                return ops.concatenate([denorm(self._point(ops.repeat(linear, q, axis=-1))), forecast], axis=0)
            return forecast
        return denorm(self._point(out))

    def _point(self, out):
        """`(b, H, C, q)` as the layer's output: `(b, H, C)` without quantiles."""
        return out if self.quantiles else out[..., 0]

    def compute_output_shape(self, past_shape, *args, **kwargs):
        point = (past_shape[0], self.horizon, past_shape[2])
        return (*point, len(self.quantiles)) if self.quantiles else point

    def get_config(self):
        return {
            **super().get_config(),
            "horizon": self.horizon,
            "recurrent": keras.saving.serialize_keras_object(self.recurrent),
            "segment_length": self.segment_length,
            "normalization": self.normalization,
            "channel_embedding": self.channel_embedding,
            "linear": self.linear,
            "dropout": self.dropout,
            "quantiles": None if self.quantiles is None else list(self.quantiles),
            "cycle": self.cycle,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["recurrent"] = keras.saving.deserialize_keras_object(config["recurrent"])
        return cls(**config)


def _linear_path(linear):
    """`linear` checked: None, "sum" or "residual" (False is None, True "sum")."""
    if linear is None or linear is False:
        return None
    if linear is True:
        return "sum"
    return check_choice("linear", linear, LINEAR_PATHS)


@register_builder("segment")
def segment_model(spec, cell="gru", units=128, layers=1, segment_length=24, normalization="last",
                  channel_embedding=True, linear=None, dropout=0.0, cycle=False):
    """The segment-recurrent model of `spec` (see `SegmentForecast`); `cell`
    and `units` make its recurrent core (`layers` must be 1: one cell
    encodes and decodes)."""
    if layers != 1:
        raise invalid("layers", "1 for the segment builder (one cell encodes and decodes)", layers)
    inputs = model_inputs(spec)
    layer = SegmentForecast(
        spec.horizon, state_layer(cell, units), segment_length, normalization, channel_embedding, linear,
        dropout, spec.quantiles, cycle, name="segment_forecast",
    )
    out = layer(inputs["past_target"], inputs.get("past_covariates"), inputs.get("future_covariates"),
                inputs.get("static"))
    return keras.Model(inputs, out, name="tsgate_segment_forecaster")
