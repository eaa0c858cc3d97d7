"""A stateless streaming SavedModel: the client carries the recurrent state."""

import json

import keras
import tensorflow as tf

from tsgate.cells.sequence import SequenceLayer
from tsgate.serving.atomic import write_assets, write_directory_atomically
from tsgate.serving.saved_model import checked_inputs
from tsgate.serving.warmup import write_warmup_requests


def export_streaming(model, path):
    """A stateless streaming SavedModel for online sensors, written atomically.

    `serving_default` takes `inputs` `(b, t, d)` (any t) and `state` `(b, s)`
    and returns `outputs` `(b, t, ...)` and the next `state` `(b, s)`: the
    server keeps nothing, the client carries the state (zeros to start; `s`
    is in `assets/tsgate.json`), and feeding a sequence in chunks gives exactly
    the outputs of the whole sequence. Inputs with NaN or inf, or `inputs`
    and `state` of different batch sizes, are refused with an
    InvalidArgumentError naming the input. TF Serving warm-up records
    (`tsgate.serving.warmup`) are in `assets.extra/`. Written atomically to `path`,
    whose last component is the version (a positive integer).

    model: a `keras.Sequential` of tsgate sequence layers with
        return_sequences=True (dense cells) and per-step layers (Dense, ...).
    """
    stages, sizes = [], []
    for layer in model.layers:
        if isinstance(layer, SequenceLayer):
            state_size = layer.cell.state_size
            if not layer.return_sequences or layer.go_backwards or not isinstance(state_size, (int, list)):
                raise ValueError(
                    f"Layer {layer.name} cannot stream: it needs return_sequences=True, go_backwards=False "
                    "and a dense cell."
                )
            config = {**layer.get_config(), "return_state": True, "stateful": False, "name": f"{layer.name}_stream"}
            stream = type(layer).from_config(config)
            stream.build(layer.input.shape)
            stream.set_weights(layer.get_weights())
            sizes.append(state_size if isinstance(state_size, list) else [state_size])
            stages.append(stream)
        else:
            stages.append(layer)
    total = sum(sum(s) for s in sizes)
    spec = {
        "inputs": tf.TensorSpec((None, None, *model.inputs[0].shape[2:]), tf.float32, name="inputs"),
        "state": tf.TensorSpec((None, total), tf.float32, name="state"),
    }

    def serve(request):
        request = checked_inputs(request)  # same batch, finite values, or INVALID_ARGUMENT naming the input
        x, state = request["inputs"], request["state"]
        chunks = iter(tf.split(state, [n for layer_sizes in sizes for n in layer_sizes], axis=-1))
        new_states = []
        for stage in stages:
            if isinstance(stage, SequenceLayer):
                n = len(stage.cell.state_size) if isinstance(stage.cell.state_size, list) else 1
                x, *states = stage(x, initial_state=[next(chunks) for _ in range(n)])
                new_states += states
            else:
                x = stage(x)
        return {"outputs": x, "state": tf.concat(new_states, axis=-1)}

    text = json.dumps({"state_size": total, "layers": [s.name for s in stages]})

    def write(staging):
        archive = keras.export.ExportArchive()
        for stage in stages:
            archive.track(stage)
        archive.add_endpoint("serving_default", serve, input_signature=[spec])
        archive.write_out(staging, verbose=False)
        write_assets(staging, text)
        write_warmup_requests(staging, {"serving_default": spec})

    return write_directory_atomically(path, write)
