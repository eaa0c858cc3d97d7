"""Move trained weights between `keras.layers.GRU`/`LSTM` and tsgate's layers.

Both use the same weight layout, so the conversion copies the configuration
and the weights as they are: the converted layer gives the same numbers.
"""

import keras

from tsgate.cells.gru import GRU, GRUCell
from tsgate.cells.lstm import LSTM, LSTMCell

_TO_TSGATE = {
    keras.layers.GRU: GRU,
    keras.layers.LSTM: LSTM,
    keras.layers.GRUCell: GRUCell,
    keras.layers.LSTMCell: LSTMCell,
}
_TO_KERAS = {tsgate: keras_class for keras_class, tsgate in _TO_TSGATE.items()}
# Options that tsgate has and Keras lacks, with the value that keeps the layouts equal.
_TSGATE_ONLY = {"peephole": False, "layer_norm": False, "zoneout": 0.0}


def from_keras(layer):
    """A tsgate `GRU`, `LSTM`, `GRUCell` or `LSTMCell` equal to the given Keras
    layer: same configuration, same (copied) weights if the layer is built.
    A layer's `use_cudnn` (not in Keras' config) carries over as False or,
    from True or "auto", as "auto" (cuDNN only while training on a GPU)."""
    target = _TO_TSGATE.get(type(layer))
    if target is None:
        raise ValueError(
            "from_keras converts keras.layers.GRU, LSTM, GRUCell and LSTMCell, "
            f"got {type(layer).__name__}."
        )
    config = layer.get_config()
    if hasattr(layer, "use_cudnn"):
        config["use_cudnn"] = False if layer.use_cudnn is False else "auto"
    return _copy(layer, target.from_config(config))


def to_keras(layer):
    """The `keras.layers` GRU, LSTM, GRUCell or LSTMCell equal to a tsgate one."""
    target = next((k for t, k in _TO_KERAS.items() if type(layer) is t), None)
    if target is None:
        raise ValueError(
            "to_keras converts tsgate.GRU, LSTM, GRUCell and LSTMCell, "
            f"got {type(layer).__name__}: Keras has no equivalent."
        )
    config = layer.get_config()
    for key, keras_value in _TSGATE_ONLY.items():
        value = config.pop(key, keras_value)
        if value != keras_value:
            raise ValueError(
                f"Cannot convert {type(layer).__name__} with `{key}={value!r}` to Keras: "
                "keras.layers has no such option."
            )
    config.pop("norm_epsilon", None)
    if config.get("unroll", False) is None:  # Keras has no automatic unrolling
        config["unroll"] = False
    if hasattr(layer, "use_cudnn"):
        config["use_cudnn"] = layer.use_cudnn
    return _copy(layer, target.from_config(config))


def _copy(source, target):
    if not source.built:
        return target
    cell = getattr(source, "cell", source)
    input_dim = cell.kernel.shape[0]
    if cell is source:
        target.build((None, input_dim))
    else:
        batch = source.states[0].shape[0] if source.stateful else None
        target.build((batch, None, input_dim))
    target.set_weights(source.get_weights())
    return target
