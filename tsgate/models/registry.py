"""The builder registry: `builder(spec, **options) -> keras.Model`, by name."""

import keras

BUILDERS = {}  # tsgate.choices.BUILDERS names the built-in ones


def register_builder(name):
    """Registers `builder(spec, **options) -> keras.Model` under `name`; the
    options are the Forecaster's `cell`, `units`, `layers` and its `builder_options`."""

    def register(builder):
        BUILDERS[name] = builder
        return builder

    return register


def model_inputs(spec):
    """{name: keras.Input} for the inputs of `spec` (a `tsgate.layout.ModelSpec`)."""
    return {name: keras.Input(shape, name=name) for name, shape in spec.input_shapes().items()}
