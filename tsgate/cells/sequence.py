"""The sequence layer shared by tsgate's cells: `keras.layers.RNN` with the
cell's arguments flattened into the layer's own, as `keras.layers.GRU` does."""

import contextlib
import inspect

import keras
from keras import ops

from tsgate.cells.cudnn import fused_training, takes_fused_kernel
from tsgate.cells.fused import compiled
from tsgate.keras_compat import backend_rnn, sublayers
from tsgate.validation import check_choice, invalid

_LAYER_KEYS = ("name", "trainable", "dtype")



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


@contextlib.contextmanager
def unrolled(model):
    """Every tsgate sequence layer of `model` unrolled while the context is
    open (their inputs' time axes must have known lengths), for a trace:
    on TensorFlow's executor an unrolled GRU or LSTM runs the fused kernel
    (`tsgate.cells.fused`), whose per-step chain is shorter than the
    symbolic loop's (a GRU-32 over 96 steps served at batch 1: 2.1 against
    3.6 ms p50), for a trace several times longer."""
    layers = [layer for layer in sublayers(model) if isinstance(layer, SequenceLayer)]
    kept = [layer.unroll for layer in layers]
    try:
        for layer in layers:
            layer.unroll = True
        yield model
    finally:
        for layer, unroll in zip(layers, kept):
            layer.unroll = unroll


def _cell_property(name):
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


class SequenceLayer(keras.layers.RNN):
    """Runs `cell_class` over `(batch, timesteps, *step_shape)` inputs.

    Subclasses set `cell_class`; every constructor argument of the cell is an
    argument of the layer and a read-only attribute (`layer.dropout` is
    `layer.cell.dropout`). Everything `keras.layers.RNN` offers works:
    `return_sequences`, `return_state`, `go_backwards`, `stateful`, `unroll`,
    masking with `zero_output_for_mask`, `initial_state`,
    `keras.layers.Bidirectional`.

    `unroll`: True, False, or None (the default, the same as False: tsgate
    picks, today the symbolic loop). An unrolled graph costs seconds to
    trace, more than it saves in short fits (a GRU-32 forecaster over 128
    steps on TensorFlow: first training step, evaluation and prediction 32 s
    unrolled against 2.4 s looped, each later step 24 against 40 ms; over
    one epoch of the Seattle weather data 42 against 4.7 s). With
    unroll=True, where XLA does not compile the call (`tsgate.cells.fused.
    compiled`), subclasses may run the sequence through a fused kernel
    (`fused_loop`). Under XLA (the JAX backend, TensorFlow under
    `jit_compile=True`) each step projects its own input (`x_t W` inside
    the loop body): XLA slices a precomputed projection of all steps out
    of a loop slowly (GRU-64 forward, batch 64, 96 steps: 6.3 against
    1.9 ms).

    `use_cudnn`: "auto" (default) or False, as in `keras.layers.GRU`/`LSTM`.
    With "auto", the standard GRU and LSTM train through Keras' fused GPU
    kernel (cuDNN) on a GPU where its math is the cell's
    (`tsgate.cells.cudnn`); every other call, and every export, runs
    tsgate's portable loop. False: the portable loop always. True is
    refused: exports never hold cuDNN-only ops, so that they load on
    CPU-only TF Serving (keras #18504). `implementation` (Keras' legacy
    argument) is accepted and ignored, as Keras does. Neither is in
    `get_config`, as in Keras: neither changes what the layer computes.
    """

    cell_class = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.cell_class is not None:
            for name in sorted(cell_argument_names(cls.cell_class)):
                if not hasattr(cls, name):
                    setattr(cls, name, _cell_property(name))

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=None,
        zero_output_for_mask=False,
        use_cudnn="auto",
        **kwargs,
    ):
        if unroll is not None and not isinstance(unroll, bool):
            raise invalid("unroll", "True, False or None", unroll)
        if use_cudnn is True:
            raise ValueError(
                "Received an invalid value for argument `use_cudnn`, expected 'auto' or False, got True: "
                "tsgate layers use cuDNN only to train on a GPU and never in a traced model, so that their "
                "SavedModels load on CPU-only TF Serving (keras #18504). Use use_cudnn='auto' (cuDNN while "
                "training on a GPU) or False (tsgate's portable kernels always)."
            )
        self.use_cudnn = check_choice("use_cudnn", use_cudnn, ("auto", False))
        kwargs.pop("implementation", None)  # Keras' legacy argument, ignored as Keras does
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

    def input_axes(self):
        """Names of the input axes, for error messages."""
        rank = self.cell_class.spatial_rank
        return ["batch", "timesteps", *["size"] * rank, "channels" if rank else "features"]

    def step_input_shape(self, sequences_shape):
        """`sequences_shape` in the layout the cell computes in."""
        return tuple(sequences_shape)

    def build(self, sequences_shape, initial_state_shape=None):
        """Checks the input rank, builds the cell and sets the `InputSpec`
        that later calls are checked against."""
        rank = len(self.input_axes())
        if len(sequences_shape) != rank or None in sequences_shape[2:]:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape ({', '.join(self.input_axes())}) "
                f"with known sizes after the time axis, got shape {tuple(sequences_shape)}."
            )
        super().build(self.step_input_shape(sequences_shape), initial_state_shape)
        self.input_spec = keras.layers.InputSpec(shape=(None, None, *sequences_shape[2:]))
        if takes_fused_kernel(self):  # cuDNN ops do not compile with XLA
            self.supports_jit = False

    def unrolls(self):
        """Whether the sequence is unrolled: only with unroll=True."""
        return bool(self.unroll)

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
        """The input projection of every timestep in one op (under XLA: in
        the loop, per step), then the loop over `cell.step`, or the fused
        kernel where the layer has one; zoneout noise for all steps is drawn
        before the loop too. The loop runs time-major, so only the small raw
        input is transposed.

        Masking is done here, the same on every backend and loop: at a masked
        step the states keep their values and the output is the previous
        output (zeros before the first valid step), or zeros with
        zero_output_for_mask."""
        fused = fused_training(self, sequences, initial_state, mask, training)  # cuDNN while training on a GPU
        if fused is not None:
            return fused
        cell = self.cell
        time_first = lambda t: ops.swapaxes(t, 0, 1)  # noqa: E731
        xla = compiled()
        unroll = self.unrolls()
        if unroll and mask is None and not xla and self.fusable(training):
            inputs = cell.dropped_inputs(time_first(sequences), training, over_time=True)
            ordered = ops.flip(inputs, 0) if self.go_backwards else inputs
            last_output, outputs, states = self.fused_loop(ordered, list(initial_state))
            return last_output, time_first(outputs) if self.return_sequences else outputs, states
        if xla:  # each step projects its own input
            step_inputs = cell.dropped_inputs(time_first(sequences), training, over_time=True)
        else:
            step_inputs = cell.project_inputs(time_first(sequences), training, over_time=True)
        width, count = step_inputs.shape[-1], len(initial_state)
        zoned = training and cell.zoneout > 0.0
        if zoned:  # uniform noise for every step and state, carried beside the projection
            state_shape = ops.shape(initial_state[0])
            noise_shape = (ops.shape(step_inputs)[0], *state_shape[:-1], count * state_shape[-1])
            noise = keras.random.uniform(noise_shape, dtype=step_inputs.dtype, seed=cell.seed_generator)
            step_inputs = ops.concatenate([step_inputs, noise], axis=-1)
        states = list(initial_state)
        if mask is not None:  # the mask travels beside the inputs, the last output beside the states
            step_inputs = (step_inputs, self._loop_mask(time_first(mask), initial_state[0]))
            states.append(ops.zeros_like(initial_state[0]))

        def step(inputs, states):
            if mask is not None:
                inputs, valid = inputs
            projected, noise = inputs, None
            if zoned:
                projected, noise = ops.split(inputs, [width], axis=-1)
                noise = ops.split(noise, count, axis=-1)
            if xla:
                projected = cell.input_transform(projected)
            output, new_states = cell.step(projected, states[:count], training, noise)
            if mask is None:
                return output, new_states
            held = ops.zeros_like(output) if self.zero_output_for_mask else states[count]
            output = ops.where(valid, output, held)
            new_states = [ops.where(valid, new, old) for new, old in zip(new_states, states)]
            return output, [*new_states, output]

        last_output, outputs, states = backend_rnn(
            step,
            step_inputs,
            states,
            go_backwards=self.go_backwards,
            unroll=unroll,
            input_length=sequences.shape[1],
            time_major=True,
            return_all_outputs=self.return_sequences,
        )
        return last_output, time_first(outputs) if self.return_sequences else outputs, list(states)[:count]

    @staticmethod
    def _loop_mask(mask, state):
        """`(time, batch)` boolean mask with trailing unit axes to the state's
        rank, so that it broadcasts over states of any rank."""
        mask = ops.cast(mask, "bool")
        return ops.reshape(mask, (*ops.shape(mask), *[1] * (len(state.shape) - 1)))

    def compute_mask(self, _, mask):
        mask = keras.tree.flatten(mask)[0] if mask is not None else None
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * len(self.state_size) if self.return_state else output_mask

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
