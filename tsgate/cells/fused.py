"""Fused sequence kernels for the standard GRU and LSTM: the loop unrolled over
a sequence of known length, with a hand-written backward pass through time.

On TensorFlow's CPU executor every op costs a few microseconds whatever its
size, and only the ops on the recurrent chain (state -> next state) cannot
run beside one another. These kernels keep that chain short:

- forward, per step: one matmul `h U`, then only the gate arithmetic; a
  step's input projection `x W + b` (with the recurrent biases that can be
  folded in) does not wait for `h`, so it runs beside the chain, without an
  intermediate of the size of all steps' projections;
- backward, per step: `dh` (and `dc`) times gate derivative factors, one
  matmul with `Uᵀ`; the factors and the step's share of the recurrent
  kernel's gradient `hᵀ d_a` depend only on values already known, so they
  are computed beside the chain; the gradients of the inputs, input kernel
  and biases are one matmul or sum over all steps after the loop.

Unrolling spares the symbolic loop's per-step cost (its TensorArray reads and
writes); autodiff of the same unrolled loop saves every intermediate and
puts more ops on the chain (measured on this kernel's prototype: the GRU
layer's gradient at 64 units, batch 64, 96 steps, 14.9 ms by autodiff of
the unrolled loop against 13.2 ms with the hand-written pass).

Under XLA (`compiled`: the JAX backend, TensorFlow under `jit_compile=True`)
these kernels are the slow path: XLA fuses a step's elementwise ops itself,
and compiles the unrolled loop with its hand-written gradient into a training
step 4-15x slower than autodiff of a symbolic loop (GRU-64, batch 64, 96
steps: 150 ms on JAX, 240 ms on TF+XLA against 9 and 17 ms). So they serve
TensorFlow's executor only (`BACKENDS`); elsewhere the layers loop over the
cell's step. Only `keras.ops` is used in the kernels. Equations:
those of `GRUCell` (reset_after=True) and `LSTMCell` (no peepholes, no layer
norm) with sigmoid gates and tanh; gradients are checked against autodiff of
the Keras built-ins in the tests.
"""

import keras
from keras import ops

BACKENDS = ("tensorflow",)


def compiled():
    """Whether the call being traced is compiled by XLA: always on JAX; on
    TensorFlow inside `tf.function(jit_compile=True)` (Keras' `jit_compile`),
    which traces in an XLA control-flow context (TensorFlow has no public
    test for it; `tf.function` itself uses this one)."""
    backend = keras.backend.backend()
    if backend == "jax":
        return True
    if backend != "tensorflow":
        return False
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    return not tf.executing_eagerly() and control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def _read(value):
    """`value` as a plain tensor: TensorFlow's custom_gradient refuses to be
    handed a variable (weights, a stateful layer's states), which Keras'
    convert_to_tensor passes through."""
    return ops.reshape(value, ops.shape(value))


def _upstream(upstream, outputs):
    """The output gradients as a list (TensorFlow passes one argument each),
    zeros for None."""
    return [ops.zeros_like(out) if up is None else up for up, out in zip(upstream, outputs)]


def _input_gradients(inputs, kernel, d_projected):
    """Gradients of the inputs, the input kernel and the bias, each one
    matmul or sum over all steps, from the gradients of the input
    pre-activations `(T, B, G·U)`."""
    d_projected = ops.reshape(d_projected, (-1, kernel.shape[-1]))
    d_inputs = ops.reshape(ops.matmul(d_projected, ops.transpose(kernel)), ops.shape(inputs))
    d_kernel = ops.matmul(ops.transpose(ops.reshape(inputs, (-1, kernel.shape[0]))), d_projected)
    return d_inputs, d_kernel, ops.sum(d_projected, axis=0)


def gru_sequence(inputs, h0, kernel, recurrent_kernel, bias, candidate_bias, return_sequences):
    """GRU (reset_after=True) over all steps.

    Args:
        inputs: `(T, B, D)` time-major. h0: `(B, U)` initial state.
        kernel: `(D, 3U)`. recurrent_kernel: `(U, 3U)`, gate blocks `[z, r, h]`.
        bias: `(3U,)` input bias with the recurrent biases of the z and r
            blocks added, or None. candidate_bias: `(U,)` recurrent bias of
            the candidate block `b_hr` (inside the reset gate), or None.
        return_sequences: bool.

    Returns `(T, B, U)` every `h` with return_sequences, else the last `(B, U)`:

        z, r = σ(x W_zr + b_zr + h U_zr),  ĥ = tanh(x W_h + b_h + r ⊙ (h U_h + b_hr)),
        h' = z ⊙ h + (1 − z) ⊙ ĥ
    """
    units = recurrent_kernel.shape[0]
    use_bias = bias is not None
    if not use_bias:
        bias = ops.zeros((3 * units,), dtype=inputs.dtype)
        candidate_bias = ops.zeros((units,), dtype=inputs.dtype)

    @ops.custom_gradient
    def run(inputs, h0, kernel, recurrent_kernel, bias, candidate_bias):
        h, outputs, saved = h0, [], []
        for x_t in ops.unstack(inputs):
            # The input projection of a step does not wait for h: off the chain.
            x_p = ops.matmul(x_t, kernel) + bias if use_bias else ops.matmul(x_t, kernel)
            x_zr, x_h = ops.split(x_p, [2 * units], axis=-1)
            a_zr, a_h = ops.split(ops.matmul(h, recurrent_kernel), [2 * units], axis=-1)
            z, r = ops.split(ops.sigmoid(x_zr + a_zr), 2, axis=-1)
            a_h = a_h + candidate_bias if use_bias else a_h
            candidate = ops.tanh(x_h + r * a_h)
            saved.append((h, z, r, candidate, a_h))
            h = z * h + (1.0 - z) * candidate
            outputs.append(h)
        result = ops.stack(outputs) if return_sequences else h

        def grad(*upstream):
            (d_result,) = _upstream(upstream, [result])
            d_steps = ops.unstack(d_result) if return_sequences else None
            kernel_t = ops.transpose(recurrent_kernel)
            dh = d_steps[-1] if return_sequences else d_result
            d_recurrent, d_candidate, d_recurrent_kernel = [], [], 0.0
            for t in reversed(range(len(saved))):
                h_prev, z, r, candidate, a_h = saved[t]
                if return_sequences and t < len(saved) - 1:
                    dh = dh + d_steps[t]
                # d pre-activation = dh ⊙ factor; the factors are off the chain.
                f_z = (h_prev - candidate) * (z * (1.0 - z))
                f_h = (1.0 - z) * (1.0 - candidate * candidate)
                f_r = f_h * a_h * (r * (1.0 - r))
                d_a = ops.tile(dh, (1, 3)) * ops.concatenate([f_z, f_r, f_h * r], axis=-1)
                d_recurrent.append(d_a)
                d_candidate.append(dh * f_h)
                d_recurrent_kernel = d_recurrent_kernel + ops.matmul(ops.transpose(h_prev), d_a)
                dh = dh * z + ops.matmul(d_a, kernel_t)
            # The input pre-activations share the z and r blocks; the candidate's
            # lacks the reset gate's factor.
            d_recurrent = ops.stack(d_recurrent[::-1])
            d_candidate = ops.stack(d_candidate[::-1])
            d_projected = ops.concatenate([d_recurrent[..., : 2 * units], d_candidate], axis=-1)
            d_inputs, d_kernel, d_bias = _input_gradients(inputs, kernel, d_projected)
            d_candidate_bias = ops.sum(d_recurrent[..., 2 * units :], axis=(0, 1))
            return d_inputs, dh, d_kernel, d_recurrent_kernel, d_bias, d_candidate_bias

        return result, grad

    return run(*map(_read, (inputs, h0, kernel, recurrent_kernel, bias, candidate_bias)))


def lstm_sequence(inputs, h0, c0, kernel, recurrent_kernel, bias, return_sequences):
    """LSTM over all steps.

    Args:
        inputs: `(T, B, D)` time-major. h0, c0: `(B, U)` initial states.
        kernel: `(D, 4U)`, recurrent_kernel: `(U, 4U)`, bias: `(4U,)` or None;
            gate blocks `[i, f, c, o]`.
        return_sequences: bool.

    Returns `(outputs, c_T)`: outputs `(T, B, U)` every `h` with
    return_sequences, else the last `h` `(B, U)`; `c_T` `(B, U)`:

        a = x W + b + h U,  i, f, o = σ(a_i), σ(a_f), σ(a_o)
        c' = f ⊙ c + i ⊙ tanh(a_c),  h' = o ⊙ tanh(c')
    """
    units = recurrent_kernel.shape[0]
    use_bias = bias is not None
    if not use_bias:
        bias = ops.zeros((4 * units,), dtype=inputs.dtype)

    @ops.custom_gradient
    def run(inputs, h0, c0, kernel, recurrent_kernel, bias):
        h, c, outputs, saved = h0, c0, [], []
        for x_t in ops.unstack(inputs):
            # The input projection of a step does not wait for h: off the chain.
            x_p = ops.matmul(x_t, kernel) + bias if use_bias else ops.matmul(x_t, kernel)
            a = x_p + ops.matmul(h, recurrent_kernel)
            a_i, a_f, a_g, a_o = ops.split(a, 4, axis=-1)  # gates side by side, not one wide op
            i, f, g, o = ops.sigmoid(a_i), ops.sigmoid(a_f), ops.tanh(a_g), ops.sigmoid(a_o)
            c_prev, c = c, f * c + i * g
            tanh_c = ops.tanh(c)
            saved.append((h, c_prev, i, f, g, o, tanh_c))
            h = o * tanh_c
            outputs.append(h)
        result = ops.stack(outputs) if return_sequences else h

        def grad(*upstream):
            d_result, dc = _upstream(upstream, [result, c])
            d_steps = ops.unstack(d_result) if return_sequences else None
            kernel_t = ops.transpose(recurrent_kernel)
            dh = d_steps[-1] if return_sequences else d_result
            d_pre, d_recurrent_kernel = [], 0.0
            for t in reversed(range(len(saved))):
                h_prev, c_prev, i, f, g, o, tanh_c = saved[t]
                if return_sequences and t < len(saved) - 1:
                    dh = dh + d_steps[t]
                # d pre-activation = (dc or dh) ⊙ factor; the factors are off the chain.
                factors = ops.concatenate(
                    [g * (i * (1.0 - i)), c_prev * (f * (1.0 - f)), i * (1.0 - g * g), tanh_c * (o * (1.0 - o))],
                    axis=-1,
                )
                dc = dc + dh * (o * (1.0 - tanh_c * tanh_c))
                d_a = ops.concatenate([dc, dc, dc, dh], axis=-1) * factors
                d_pre.append(d_a)
                d_recurrent_kernel = d_recurrent_kernel + ops.matmul(ops.transpose(h_prev), d_a)
                dh = ops.matmul(d_a, kernel_t)
                dc = dc * f
            d_inputs, d_kernel, d_bias = _input_gradients(inputs, kernel, ops.stack(d_pre[::-1]))
            return d_inputs, dh, dc, d_kernel, d_recurrent_kernel, d_bias

        return (result, c), grad

    return run(*map(_read, (inputs, h0, c0, kernel, recurrent_kernel, bias)))
