"""GRU variant with a separate memory cell."""

import keras

from tsgate.cells.gru import GRUCell
from tsgate.cells.sequence import SequenceLayer


@keras.saving.register_keras_serializable(package="tsgate")
class MemoryGRUCell(GRUCell):
    """GRU whose update gate mixes a separate memory cell `c`, and whose output
    is the squashed memory. State `[h, c]`, each `(batch, U)`:

        z  = σ(x W_z + h U_z + b_z)
        r  = σ(x W_r + h U_r + b_r)
        c̃  = tanh(x W_c + (r ⊙ h) U_c + b_c)       i.e. tanh(W·[r ⊙ h, x] + b)
        c' = z ⊙ c + (1 − z) ⊙ c̃
        h' = tanh(c')

    The gates are those of `GRUCell` (same weights and layout, blocks `[z, r, c]`);
    the default `reset_after=False` gives the equations above, `reset_after=True`
    the cuDNN-style candidate `tanh(x W_c + b_c + r ⊙ (h U_c + b_rc))`.

    With zoneout=p the memory `c'` is zoned out and `h' = tanh(c')` follows.

    Args: as `GRUCell`, with `reset_after` defaulting to False.

    Call arguments:
        inputs: `(batch, D)`. states: `[h, c]`. training: bool, enables dropout.

    Returns `(h', [h', c'])`.

    Example:
    >>> keras.layers.RNN(tsgate.MemoryGRUCell(4))(np.zeros((2, 10, 3))).shape
    (2, 4)
    """

    def __init__(self, units, reset_after=False, **kwargs):
        super().__init__(units, reset_after=reset_after, **kwargs)
        self.state_size = [self.units, self.units]

    def step(self, projected, states, training=False, zoneout_noise=None):
        h_prev, c_prev = states
        z, candidate = self.gates(projected, h_prev, training)
        # Zoneout acts on the memory; h' = tanh(c') follows it.
        noise = None if zoneout_noise is None else zoneout_noise[1:]
        (c,) = self.zone_out([z * c_prev + (1.0 - z) * candidate], [c_prev], training, noise)
        h = self.activation(c)
        return h, [h, c]


@keras.saving.register_keras_serializable(package="tsgate")
class MemoryGRU(SequenceLayer):
    """`MemoryGRUCell` over a sequence. Input `(batch, timesteps, D)`; output
    `(batch, U)` or `(batch, timesteps, U)`, then `h` and `c` with return_state.

    Example:
    >>> tsgate.MemoryGRU(8, return_sequences=True)(np.zeros((2, 5, 3))).shape
    (2, 5, 8)
    """

    cell_class = MemoryGRUCell
