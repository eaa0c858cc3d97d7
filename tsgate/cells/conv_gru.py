"""Convolutional GRU (1-D, 2-D, 3-D): the GRU with convolutions in place of
matmuls, for grids of sensors."""

import keras
from keras import ops

from tsgate.cells.gru import GRUGates
from tsgate.cells.sequence import SequenceLayer
from tsgate.validation import check_choice, invalid


def _int_tuple(name, value, rank, odd=False):
    values = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise invalid(name, f"a positive integer or a tuple of {rank} positive integers", value)
    if odd and not all(v % 2 == 1 for v in values):
        raise invalid(name, "odd sizes (for 'same' padding of the state)", value)
    return values


class ConvGRUCell(GRUGates):
    """Convolutional GRU cell (Ballas et al. 2016), channels-last: the gates of
    `GRUGates` with convolutions for its products. With `*` a convolution,
    state `h` `(batch, *spatial', F)`:

        z  = σ(W_z * x + U_z * h + b_z)
        r  = σ(W_r * x + U_r * h + b_r)
        ĥ  = tanh(W_h * x + U_h * (r ⊙ h) + b_h)              reset_after=False
        ĥ  = tanh(W_h * x + b_h + r ⊙ (U_h * h + b_hr))       reset_after=True
        h' = z ⊙ h + (1 − z) ⊙ ĥ

    `W * x` uses kernel_size, strides, padding and dilation_rate, so the state's
    spatial shape is the input convolution's output shape; `U * h` uses
    recurrent_kernel_size (odd), stride 1, "same" padding and
    recurrent_dilation_rate. Weights: `kernel` `(*kernel_size, C, 3F)`,
    `recurrent_kernel` `(*recurrent_kernel_size, F, 3F)`, `bias` `(3F,)` or
    `(2, 3F)` with reset_after, gate blocks `[z, r, h]` on the last axis.

    Args:
        filters: positive int `F`.
        kernel_size, recurrent_kernel_size: int or tuple of `spatial_rank` ints; default
            recurrent_kernel_size 3.
        strides, padding ("valid" or "same"), dilation_rate: of the input convolution.
        recurrent_dilation_rate: int or tuple, default 1.
        reset_after, activations, initializers, regularizers, constraints,
        dropout, recurrent_dropout, zoneout, seed: as `GRUCell`; dropout masks
            have the input's and the state's full shape, one per sequence.

    Call arguments:
        inputs: `(batch, *spatial, C)`. states: `[h]`. training: bool.

    Prefer the sequence layers (`ConvGRU1D`, `ConvGRU2D`, `ConvGRU3D`): they
    convolve the inputs of all timesteps in one convolution and accept
    channels-first data.
    """

    size_argument = "filters"

    def __init__(
        self,
        filters,
        kernel_size,
        recurrent_kernel_size=3,
        strides=1,
        padding="valid",
        dilation_rate=1,
        recurrent_dilation_rate=1,
        **kwargs,
    ):
        rank = self.spatial_rank
        self.kernel_size = _int_tuple("kernel_size", kernel_size, rank)
        self.recurrent_kernel_size = _int_tuple("recurrent_kernel_size", recurrent_kernel_size, rank, odd=True)
        self.strides = _int_tuple("strides", strides, rank)
        padding = padding.lower() if isinstance(padding, str) else padding
        self.padding = check_choice("padding", padding, ("valid", "same"))
        self.dilation_rate = _int_tuple("dilation_rate", dilation_rate, rank)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise invalid("strides", "1 with dilation_rate > 1", strides)
        self.recurrent_dilation_rate = _int_tuple("recurrent_dilation_rate", recurrent_dilation_rate, rank)
        super().__init__(filters, **kwargs)
        self.state_size = -1  # the state's shape is known after build: `state_shape`

    @property
    def filters(self):
        return self.units

    def kernel_shape(self, input_shape):
        return (*self.kernel_size, input_shape[-1], 3 * self.filters)

    def recurrent_kernel_shape(self):
        return (*self.recurrent_kernel_size, self.filters, 3 * self.filters)

    def build_weights(self, input_shape):
        self.state_shape = self.compute_output_shape(input_shape)[1:]
        super().build_weights(input_shape)

    def compute_output_shape(self, input_shape):
        spatial = []
        for size, k, s, d in zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate):
            span = d * (k - 1) + 1
            spatial.append(-(-size // s) if self.padding == "same" else (size - span) // s + 1)
        if min(spatial) < 1:
            raise ValueError(
                f"{type(self).__name__}: the input convolution leaves no output for spatial "
                f"shape {tuple(input_shape[1:-1])} with kernel_size={self.kernel_size}, "
                f"strides={self.strides}, dilation_rate={self.dilation_rate}, padding='valid'."
            )
        return (input_shape[0], *spatial, self.filters)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, *self.state_shape), dtype=self.compute_dtype)]

    def input_product(self, inputs, over_time=False):
        """`W * x` for one step `(batch, *spatial, C)` or, with over_time, all
        steps `(time, batch, *spatial, C)` as one convolution."""
        shape = ops.shape(inputs)
        if over_time:
            inputs = ops.reshape(inputs, (-1, *shape[2:]))
        projected = ops.conv(
            inputs, self.kernel, strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate
        )
        return ops.reshape(projected, (*shape[:2], *ops.shape(projected)[1:])) if over_time else projected

    def recurrent_product(self, h, kernel):
        """`U * h`: stride 1, "same" padding, recurrent_dilation_rate."""
        return ops.conv(h, kernel, strides=1, padding="same", dilation_rate=self.recurrent_dilation_rate)

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "recurrent_kernel_size": self.recurrent_kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "recurrent_dilation_rate": self.recurrent_dilation_rate,
        }


@keras.saving.register_keras_serializable(package="tsgate")
class ConvGRU1DCell(ConvGRUCell):
    """`ConvGRUCell` over 1-D grids: inputs `(batch, width, C)`."""

    spatial_rank = 1


@keras.saving.register_keras_serializable(package="tsgate")
class ConvGRU2DCell(ConvGRUCell):
    """`ConvGRUCell` over 2-D grids: inputs `(batch, height, width, C)`.

    Example:
    >>> cell = tsgate.ConvGRU2DCell(8, kernel_size=3, padding="same")
    >>> keras.layers.RNN(cell)(np.zeros((2, 5, 16, 16, 1))).shape
    (2, 16, 16, 8)
    """

    spatial_rank = 2


@keras.saving.register_keras_serializable(package="tsgate")
class ConvGRU3DCell(ConvGRUCell):
    """`ConvGRUCell` over 3-D grids: inputs `(batch, depth, height, width, C)`."""

    spatial_rank = 3


class ConvGRU(SequenceLayer):
    """A `ConvGRUCell` over a sequence of grids. Inputs `(batch, time, *spatial,
    C)` with data_format "channels_last" (default) or `(batch, time, C,
    *spatial)` with "channels_first"; outputs `(batch, [time,] *spatial', F)` in
    the same format, and the final state with return_state.

    The input convolution runs once over all `batch × time` frames; only the
    recurrent convolution runs inside the time loop. Channels-first data is
    transposed at the layer's boundaries and computed channels-last (the only
    layout TensorFlow convolves on CPU).
    """

    def __init__(self, filters, kernel_size, data_format=None, **kwargs):
        data_format = keras.config.image_data_format() if data_format is None else data_format
        self.data_format = check_choice("data_format", data_format, ("channels_last", "channels_first"))
        super().__init__(filters, kernel_size=kernel_size, **kwargs)

    @property
    def channels_first(self):
        return self.data_format == "channels_first"

    def _to_last(self, tensor, time_axis):
        """Moves the channel axis (just after batch and time) to the end."""
        return ops.moveaxis(tensor, 1 + time_axis, -1) if self.channels_first else tensor

    def _to_first(self, tensor, time_axis):
        return ops.moveaxis(tensor, -1, 1 + time_axis) if self.channels_first else tensor

    def input_axes(self):
        axes = super().input_axes()
        return [*axes[:2], axes[-1], *axes[2:-1]] if self.channels_first else axes

    def step_input_shape(self, sequences_shape):
        """The channels-last shape the cell computes in."""
        shape = tuple(sequences_shape)
        return (*shape[:2], *shape[3:], shape[2]) if self.channels_first else shape

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            initial_state = [self._to_last(s, 0) for s in keras.tree.flatten(initial_state)]
        result = super().call(self._to_last(sequences, 1), initial_state=initial_state, mask=mask, training=training)
        if not self.return_state:
            return self._to_first(result, 1 if self.return_sequences else 0)
        output, *states = result
        output = self._to_first(output, 1 if self.return_sequences else 0)
        return output, *[self._to_first(s, 0) for s in states]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        last = self.step_input_shape(sequences_shape)
        state = self.cell.compute_output_shape((last[0], *last[2:]))
        if self.channels_first:
            state = (state[0], state[-1], *state[1:-1])
        output = (state[0], sequences_shape[1], *state[1:]) if self.return_sequences else state
        return (output, state) if self.return_state else output

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@keras.saving.register_keras_serializable(package="tsgate")
class ConvGRU1D(ConvGRU):
    """Convolutional GRU over sequences of 1-D grids (see `ConvGRU`)."""

    cell_class = ConvGRU1DCell


@keras.saving.register_keras_serializable(package="tsgate")
class ConvGRU2D(ConvGRU):
    """Convolutional GRU over sequences of 2-D grids (see `ConvGRU`).

    Example:
    >>> layer = tsgate.ConvGRU2D(8, kernel_size=3, padding="same", return_sequences=True)
    >>> layer(np.zeros((2, 5, 16, 16, 1))).shape
    (2, 5, 16, 16, 8)
    """

    cell_class = ConvGRU2DCell


@keras.saving.register_keras_serializable(package="tsgate")
class ConvGRU3D(ConvGRU):
    """Convolutional GRU over sequences of 3-D grids (see `ConvGRU`)."""

    cell_class = ConvGRU3DCell
