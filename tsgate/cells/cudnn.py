"""Keras' fused GPU kernels (cuDNN, on TensorFlow) for training tsgate's
standard GRU and LSTM layers, where their math is the cell's.

On a GPU, `keras.layers.GRU`/`LSTM` run cuDNN, and a generic loop is many
times slower. A SavedModel traced through cuDNN, though, holds cuDNN-only
ops that CPU-only TF Serving cannot load (keras #18504). So only a training
call takes this path (`training=True`: the steps of `fit` and `update`);
`predict`, evaluation and every export call the layers with training False
and trace tsgate's own loop with the same weights. A model trained on a GPU
serves on CPU.

The path is taken when all of these hold, else the layer loops as it would:
the TensorFlow backend with a GPU (Keras' `backend.gru`/`lstm` decide and
raise NotImplementedError otherwise); not under XLA (cuDNN ops do not
compile); float32 or float16 compute (cuDNN has no bfloat16 kernel); no
mask and not unrolled; `use_cudnn="auto"`; the layer's fused math (`GRU`:
reset_after=True; `LSTM`: no peepholes; sigmoid and tanh, no layer norm,
zoneout or recurrent dropout; `fusable`) with biases. Weights are in Keras'
layout on both paths; input dropout is drawn once per sequence, as the loop
draws it.
"""

import keras
from keras import ops

from tsgate.cells.fused import compiled
from tsgate.keras_compat import backend_gru, backend_lstm, gpu_available

DTYPES = ("float32", "float16")


def takes_fused_kernel(layer):
    """Whether the training calls of `layer` (a `SequenceLayer`) take Keras'
    fused GPU kernel on this machine: its configuration (see the module) and
    a GPU. XLA cannot compile cuDNN ops, so such a layer says
    `supports_jit = False` when built, as Keras' GRU and LSTM do, and a model
    compiled with `jit_compile="auto"` is then not compiled with XLA."""
    return (layer.use_cudnn == "auto" and not layer.unrolls() and layer.cell.use_bias
            and layer.compute_dtype in DTYPES and keras.backend.backend() == "tensorflow"
            and layer.fusable(True) and gpu_available())


def fused_training(layer, sequences, initial_state, mask, training):
    """`(last_output, outputs, states)` of `layer` (`SequenceLayer`) over
    `sequences` `(batch, time, features)` from Keras' fused GPU kernel, as
    `keras.layers.RNN.inner_loop` returns them (outputs batch-major with
    return_sequences); None where this call cannot take it (see the module)."""
    if not (training and mask is None and not compiled() and takes_fused_kernel(layer)):
        return None
    cell = layer.cell
    inputs = cell.dropped_inputs(ops.swapaxes(sequences, 0, 1), training, over_time=True)  # time-major, as cuDNN
    options = dict(kernel=cell.kernel, recurrent_kernel=cell.recurrent_kernel, bias=cell.bias,
                   activation=cell.activation, recurrent_activation=cell.recurrent_activation,
                   return_sequences=layer.return_sequences, go_backwards=layer.go_backwards, time_major=True)
    try:
        if len(initial_state) == 1:
            last, outputs, states = backend_gru(inputs, initial_state[0], None, reset_after=True, **options)
        else:
            last, outputs, states = backend_lstm(inputs, initial_state[0], initial_state[1], None, **options)
    except NotImplementedError:  # cuDNN cannot take this call after all
        return None
    return last, ops.swapaxes(outputs, 0, 1) if layer.return_sequences else outputs, list(states)
