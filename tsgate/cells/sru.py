"""Simple recurrent unit: all matmuls outside the time loop, an elementwise
recurrence inside it."""

import keras
from keras import ops

from tsgate.cells.base import LayerNormCell
from tsgate.cells.sequence import SequenceLayer
from tsgate.validation import check_bool


@keras.saving.register_keras_serializable(package="tsgate")
class SRUCell(LayerNormCell):
    """Simple recurrent unit (Lei et al. 2018, "Simple Recurrent Units for
    Highly Parallelizable Recurrence"). State `[c]` `(batch, U)`, output `h`:

        x̃, a_f, a_r [, s] = x W                         one matmul for all steps
        f  = σ(a_f + v_f ⊙ c + b_f)                      v_* only with cell_connections
        r  = σ(a_r + v_r ⊙ c + b_r)
        c' = f ⊙ c + (1 − f) ⊙ x̃
        h' = r ⊙ tanh(c') + (1 − r) ⊙ s

    The skip `s` is `x` itself when the input has U features, else the
    projection `x W_s`, a fourth block of the kernel. cell_connections=False is
    the original 2017 form without `v_f`, `v_r`. With layer_norm each block of
    `x W` is layer-normalised with its own gain (Ba et al. 2016).

    Weights: `kernel` `(D, 3U)` or `(D, 4U)` (blocks `[x̃, f, r, s]`), `bias`
    `(2U,)` (`[b_f, b_r]`), `cell_kernel` `(2, U)` (`[v_f, v_r]`), with
    layer_norm `input_norm_gamma` of the kernel's width.

    Args:
        units: positive int `U`.
        cell_connections: bool, default True.
        layer_norm: bool, default False. norm_epsilon: float, default 1e-3.
        activation (`tanh` above), recurrent_activation (`σ`), use_bias,
        kernel_*, bias_*, dropout, zoneout (on `c`), seed: as `GRUCell`.

    Call arguments:
        inputs: `(batch, D)`. states: `[c]`. training: bool.

    Example:
    >>> tsgate.SRU(16, return_sequences=True)(np.zeros((2, 50, 16))).shape
    (2, 50, 16)
    """

    def __init__(self, units, cell_connections=True, **kwargs):
        super().__init__(units, **kwargs)
        self.cell_connections = check_bool("cell_connections", cell_connections)
        self.state_size = self.units
        self.output_size = self.units

    def build_weights(self, input_shape):
        self.projected_skip = input_shape[-1] != self.units
        width = (4 if self.projected_skip else 3) * self.units
        self.kernel = self.add_kernel((input_shape[-1], width))
        self.bias = self.add_bias((2 * self.units,)) if self.use_bias else None
        if self.cell_connections:
            self.cell_kernel = self.add_weight(
                shape=(2, self.units), name="cell_kernel", initializer=self.kernel_initializer
            )
        if self.layer_norm:
            self.add_norm_gains(input=width)

    def input_transform(self, inputs, over_time=False):
        """`[x̃, a_f + b_f, a_r + b_r, s]` for any leading axes, `(..., 4U)`."""
        shape = ops.shape(inputs)
        flat = ops.reshape(inputs, (-1, shape[-1]))
        projected = ops.matmul(flat, self.kernel)
        if self.layer_norm:
            projected = self.normalize_blocks(projected, self.input_norm_gamma)
        if self.use_bias:
            zeros = ops.zeros((self.units,), dtype=projected.dtype)
            bias = [zeros, self.bias] + ([zeros] if self.projected_skip else [])
            projected = projected + ops.concatenate(bias)
        if not self.projected_skip:
            projected = ops.concatenate([projected, flat], axis=-1)
        return ops.reshape(projected, (*shape[:-1], 4 * self.units))

    def step(self, projected, states, training=False, zoneout_noise=None):
        c_prev = states[0] if isinstance(states, (list, tuple)) else states
        candidate, a_f, a_r, skip = ops.split(projected, 4, axis=-1)
        if self.cell_connections:
            a_f = a_f + self.cell_kernel[0] * c_prev
            a_r = a_r + self.cell_kernel[1] * c_prev
        f = self.recurrent_activation(a_f)
        (c,) = self.zone_out([f * c_prev + (1.0 - f) * candidate], [c_prev], training, zoneout_noise)
        r = self.recurrent_activation(a_r)
        h = r * self.activation(c) + (1.0 - r) * skip
        return h, [c] if isinstance(states, (list, tuple)) else c

    def get_config(self):
        return {**super().get_config(), "cell_connections": self.cell_connections}


@keras.saving.register_keras_serializable(package="tsgate")
class SRU(SequenceLayer):
    """`SRUCell` over a sequence: the projection of all timesteps is one
    matmul, the loop only elementwise. Input `(batch, timesteps, D)`; output
    `(batch, U)` or `(batch, timesteps, U)`, then the final `c` with return_state.
    """

    cell_class = SRUCell
