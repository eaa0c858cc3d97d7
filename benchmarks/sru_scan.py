"""The SRU with its recurrence as an associative scan, for
`python -m benchmarks.recurrent --layers sru_linear sru_scan sru_doubling`.

Without cell connections the SRU's state update `c_t = f_t ⊙ c_{t-1} +
(1 − f_t) ⊙ x̃_t` is a linear recurrence whose gates depend on the inputs
only: `(a, b)` pairs composed by `(a1, b1) ∘ (a2, b2) = (a1 a2, a2 b1 + b2)`
give every `c_t` (from a zero initial state) in O(log T) depth instead of T
sequential steps. Two scans are timed against `tsgate.SRU(cell_connections=
False)`'s loop: `keras.ops.associative_scan` (`jax.lax.associative_scan` on
JAX; a recursion of `tf.cond`s on TensorFlow, which does not compile under
XLA) and a doubling scan (Hillis–Steele, log2 T steps of slices, written out
with static shapes so that it runs on every backend and under XLA). The
forward pass equals the loop's (`check`, run by the benchmark); this is a benchmark, not
a tsgate layer: masking, dropout, zoneout, initial states and
`return_sequences` are not handled.
"""

import keras
import numpy as np
from keras import ops

import tsgate


def compose(earlier, later):
    """`(a1, b1) ∘ (a2, b2)`: apply `c ↦ a1 c + b1`, then `c ↦ a2 c + b2`."""
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a2 * b1 + b2


def doubling_scan(a, b):
    """Inclusive scan of `compose` along axis 0 of `(T, ...)` tensors `a`,
    `b`: `c_t = a_t c_{t-1} + b_t`, `c_{-1} = 0`; log2 T rounds."""
    steps, span = a.shape[0], 1
    while span < steps:
        b = ops.concatenate([b[:span], a[span:] * b[:-span] + b[span:]], axis=0)
        a = ops.concatenate([a[:span], a[span:] * a[:-span]], axis=0)
        span *= 2
    return b


class ScanSRU(keras.layers.Layer):
    """`tsgate.SRU(units, cell_connections=False)`'s last output `(batch, U)`
    from `(batch, T, D)` inputs, its recurrence computed by `scan`
    ("keras": `keras.ops.associative_scan`, or "doubling")."""

    def __init__(self, units, scan="keras", **kwargs):
        super().__init__(**kwargs)
        self.scan = scan
        self.sru = tsgate.SRU(units, cell_connections=False)

    def build(self, input_shape):
        self.sru.build(input_shape)

    def check(self, inputs):
        """Raises unless the scan's output equals the loop's on `inputs` (eager)."""
        np.testing.assert_allclose(ops.convert_to_numpy(self(inputs)), ops.convert_to_numpy(self.sru(inputs)),
                                   atol=1e-5)

    def call(self, inputs):
        cell = self.sru.cell
        projected = cell.input_transform(ops.swapaxes(inputs, 0, 1))  # (T, batch, 4U)
        candidate, a_f, a_r, skip = ops.split(projected, 4, axis=-1)
        f = cell.recurrent_activation(a_f)
        if self.scan == "doubling":
            c = doubling_scan(f, (1.0 - f) * candidate)
        else:
            c = ops.associative_scan(compose, (f, (1.0 - f) * candidate), axis=0)[1]
            c = ops.reshape(c, ops.shape(candidate))  # TensorFlow's scan loses the static shape
        r = cell.recurrent_activation(a_r[-1])
        return r * cell.activation(c[-1]) + (1.0 - r) * skip[-1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.sru.units)
