"""The sequence layer shared by tsgate's cells: `keras.layers.RNN` with the
cell's arguments flattened into the layer's own, as `keras.layers.GRU` does."""

import inspect

import keras
from keras import ops

from tsgate.keras_compat import backend_rnn

_LAYER_KEYS = ("name", "trainable", "dtype")

# With unroll=None, sequences of a known length up to this many steps are
# unrolled: on TensorFlow's CPU executor a symbolic loop costs more per step
# than the ops of a small cell.
AUTO_UNROLL_STEPS = 128


def cell_argument_names(cell_class):
    """Names of the constructor arguments of `cell_class` and its tsgate bases."""
    names = set()
    for klass in cell_class.__mro__:
        if klass.__module__.startswith("tsgate.") and "__init__" in vars(klass):
            for name, param in inspect.signature(klass.__init__).parameters.items():
                if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                    names.add(name)
    names.discard("self")
    return names


class SequenceLayer(keras.layers.RNN):
    """Runs `cell_class` over `(batch, timesteps, features)` inputs.

    Subclasses set `cell_class`. Everything `keras.layers.RNN` offers works:
    `return_sequences`, `return_state`, `go_backwards`, `stateful`, `unroll`,
    masking, `initial_state`, `keras.layers.Bidirectional`.

    `unroll`: True, False, or None (the default): unroll when the number of
    timesteps is known and at most `AUTO_UNROLL_STEPS` (128), else loop
    symbolically. Subclasses may run an unrolled sequence through a fused
    kernel (`fused_loop`).
    """

    cell_class = None

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=None,
        zero_output_for_mask=False,
        **kwargs,
    ):
        if unroll is not None and not isinstance(unroll, bool):
            raise ValueError(
                f"Received an invalid value for argument `unroll`, expected True, False or None, got {unroll!r}."
            )
        cell_names = cell_argument_names(self.cell_class)
        cell_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in cell_names}
        cell = self.cell_class(
            units,
            **cell_kwargs,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=self.cell_class.__name__.removesuffix("Cell").lower() + "_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )

    @property
    def units(self):
        return self.cell.units

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) != 3 or sequences_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape (batch, timesteps, features) "
                f"with a known number of features, got shape {tuple(sequences_shape)}."
            )
        super().build(sequences_shape, initial_state_shape)

    def unrolls(self, timesteps):
        """Whether a sequence of `timesteps` (None: unknown) is unrolled."""
        if self.unroll is None:
            return timesteps is not None and timesteps <= AUTO_UNROLL_STEPS
        return self.unroll

    def fusable(self, training):
        """Whether `fused_loop` can run this layer's configuration."""
        return False

    def fused_loop(self, inputs, initial_state):
        """`(last_output, outputs, states)` of an unrolled, unmasked sequence
        from its time-major inputs (input dropout applied), in processing
        order; outputs time-major. Layers with a fused kernel implement it
        with `fusable`."""
        raise NotImplementedError

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """The input projection of every timestep in one op, then the loop over
        `cell.step`, or the fused kernel where the layer has one; zoneout noise
        for all steps is drawn before the loop too. The loop runs time-major,
        so only the small raw input is transposed."""
        cell = self.cell
        time_first = lambda t: ops.swapaxes(t, 0, 1)  # noqa: E731
        unroll = self.unrolls(sequences.shape[1])
        if unroll and mask is None and self.fusable(training):
            inputs = cell.dropped_inputs(time_first(sequences), training, over_time=True)
            ordered = ops.flip(inputs, 0) if self.go_backwards else inputs
            last_output, outputs, states = self.fused_loop(ordered, list(initial_state))
            return last_output, time_first(outputs) if self.return_sequences else outputs, states
        step_inputs = cell.project_inputs(time_first(sequences), training, over_time=True)
        width = step_inputs.shape[-1]
        zoned = training and cell.zoneout > 0.0
        if zoned:  # uniform noise for every step and state, carried beside the projection
            state_shape = ops.shape(initial_state[0])
            noise_shape = (ops.shape(step_inputs)[0], *state_shape[:-1], len(initial_state) * state_shape[-1])
            noise = keras.random.uniform(noise_shape, seed=cell.seed_generator)
            step_inputs = ops.concatenate([step_inputs, noise], axis=-1)

        def step(inputs, states):
            if not zoned:
                return cell.step(inputs, states, training)
            projected, noise = ops.split(inputs, [width], axis=-1)
            return cell.step(projected, states, training, ops.split(noise, len(states), axis=-1))

        last_output, outputs, states = backend_rnn(
            step,
            step_inputs,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=None if mask is None else self._loop_mask(time_first(mask), initial_state[0]),
            unroll=unroll,
            input_length=sequences.shape[1],
            time_major=True,
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )
        return last_output, time_first(outputs) if self.return_sequences else outputs, states

    @staticmethod
    def _loop_mask(mask, state):
        """`(time, batch)` mask with trailing unit axes to the state's rank, so
        that every backend broadcasts it over states of any rank."""
        return ops.reshape(mask, (*ops.shape(mask), *[1] * (len(state.shape) - 1)))

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = {
            key: value for key, value in self.cell.get_config().items() if key not in _LAYER_KEYS
        }
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
