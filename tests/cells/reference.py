"""Independent NumPy loops of the cell equations, written from the docstrings."""

import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def layer_norm(v, eps):
    return (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + eps)


def block_norm(v, gamma, eps, units):
    """gamma ⊙ LN of each `units`-wide block of v."""
    blocks = v.reshape(*v.shape[:-1], -1, units)
    return layer_norm(blocks, eps).reshape(v.shape) * gamma


def gru(x, kernel, recurrent_kernel, bias, reset_after, norm=None, eps=1e-3, zoneout=0.0):
    """x (B, T, D) -> h for every step (B, T, U). norm: (input_gamma (3U,),
    recurrent_gamma (3U,)) or None. zoneout: the inference-time expectation."""
    units = recurrent_kernel.shape[0]
    w_z, w_r, w_h = np.split(kernel, 3, axis=1)
    u_z, u_r, u_h = np.split(recurrent_kernel, 3, axis=1)
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    bi_z, bi_r, bi_h = np.split(b_in, 3)
    br_z, br_r, br_h = np.split(b_rec, 3)
    gi = np.split(norm[0], 3) if norm is not None else [1.0] * 3
    gr = np.split(norm[1], 3) if norm is not None else [1.0] * 3
    ln = (lambda v, g: layer_norm(v, eps) * g) if norm is not None else (lambda v, g: v)
    h = np.zeros((x.shape[0], units))
    out = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        z = sigmoid(ln(xt @ w_z, gi[0]) + bi_z + ln(h @ u_z, gr[0]) + br_z)
        r = sigmoid(ln(xt @ w_r, gi[1]) + bi_r + ln(h @ u_r, gr[1]) + br_r)
        if reset_after:
            cand = np.tanh(ln(xt @ w_h, gi[2]) + bi_h + r * (ln(h @ u_h, gr[2]) + br_h))
        else:
            cand = np.tanh(ln(xt @ w_h, gi[2]) + ln((r * h) @ u_h, gr[2]) + bi_h)
        h = zoneout * h + (1 - zoneout) * (z * h + (1 - z) * cand)
        out.append(h)
    return np.stack(out, 1)


def memory_gru(x, kernel, recurrent_kernel, bias):
    """Reset-before MemoryGRU written as W·[r*h, x]; returns (h_seq, c_last)."""
    units = recurrent_kernel.shape[0]
    # Concatenated weights over [h, x], as the equations are usually written.
    w = np.concatenate([recurrent_kernel, kernel], axis=0)
    w_z, w_r, w_c = np.split(w, 3, axis=1)
    b_z, b_r, b_c = np.split(bias, 3)
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    out = []
    for t in range(x.shape[1]):
        hx = np.concatenate([h, x[:, t]], axis=1)
        z = sigmoid(hx @ w_z + b_z)
        r = sigmoid(hx @ w_r + b_r)
        c_tilde = np.tanh(np.concatenate([r * h, x[:, t]], axis=1) @ w_c + b_c)
        c = z * c + (1 - z) * c_tilde
        h = np.tanh(c)
        out.append(h)
    return np.stack(out, 1), c


def lstm(x, kernel, recurrent_kernel, bias, peephole=None, norm=None, eps=1e-3):
    """peephole: (3, U) rows [p_i, p_f, p_o] or None. norm: (input_gamma (4U,),
    recurrent_gamma (4U,), cell_gamma (U,), cell_beta (U,)) or None.
    Returns (h_seq, c_last)."""
    units = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    out = []
    for t in range(x.shape[1]):
        x_part, h_part = x[:, t] @ kernel, h @ recurrent_kernel
        if norm is not None:
            x_part = block_norm(x_part, norm[0], eps, units)
            h_part = block_norm(h_part, norm[1], eps, units)
        a_i, a_f, a_c, a_o = np.split(x_part + h_part + bias, 4, axis=1)
        if peephole is not None:
            a_i = a_i + peephole[0] * c
            a_f = a_f + peephole[1] * c
        c = sigmoid(a_f) * c + sigmoid(a_i) * np.tanh(a_c)
        if peephole is not None:
            a_o = a_o + peephole[2] * c
        shown = c if norm is None else layer_norm(c, eps) * norm[2] + norm[3]
        h = sigmoid(a_o) * np.tanh(shown)
        out.append(h)
    return np.stack(out, 1), c


def conv(x, kernel, strides, padding, dilation):
    """N-D convolution, channels-last, TensorFlow's padding rules.
    x (B, *S, C), kernel (*K, C, F)."""
    rank = kernel.ndim - 2
    ksize = kernel.shape[:rank]
    if padding == "same":
        pads = []
        for size, k, s, d in zip(x.shape[1:-1], ksize, strides, dilation):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_shape = [
        (size - (d * (k - 1) + 1)) // s + 1 for size, k, s, d in zip(x.shape[1:-1], ksize, strides, dilation)
    ]
    out = np.zeros((x.shape[0], *out_shape, kernel.shape[-1]))
    for offset in np.ndindex(*ksize):
        window = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s) for o, d, n, s in zip(offset, dilation, out_shape, strides)
        )
        out += x[(slice(None), *window)] @ kernel[offset]
    return out


def conv_gru(x, kernel, recurrent_kernel, bias, reset_after, strides, padding, dilation, rec_dilation):
    """x (B, T, *S, C) channels-last -> h for every step."""
    rank = kernel.ndim - 2
    ones = (1,) * rank
    w = np.split(kernel, 3, axis=-1)
    u = np.split(recurrent_kernel, 3, axis=-1)
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    bi, br = np.split(b_in, 3), np.split(b_rec, 3)
    h = None
    out = []
    for t in range(x.shape[1]):
        xc = [conv(x[:, t], wk, strides, padding, dilation) + b for wk, b in zip(w, bi)]
        if h is None:
            h = np.zeros_like(xc[0])
        hc = lambda v, k: conv(v, k, ones, "same", rec_dilation)  # noqa: E731
        z = sigmoid(xc[0] + hc(h, u[0]) + br[0])
        r = sigmoid(xc[1] + hc(h, u[1]) + br[1])
        if reset_after:
            cand = np.tanh(xc[2] + r * (hc(h, u[2]) + br[2]))
        else:
            cand = np.tanh(xc[2] + hc(r * h, u[2]))
        h = z * h + (1 - z) * cand
        out.append(h)
    return np.stack(out, 1)


def sru(x, kernel, bias, cell_kernel=None, norm_gamma=None, eps=1e-3):
    """Returns (h_seq, c_last)."""
    units = bias.shape[0] // 2
    projected = x @ kernel
    if norm_gamma is not None:
        projected = block_norm(projected, norm_gamma, eps, units)
    blocks = np.split(projected, kernel.shape[1] // units, axis=-1)
    cand, a_f, a_r = blocks[:3]
    skip = blocks[3] if len(blocks) == 4 else x
    b_f, b_r = np.split(bias, 2)
    c = np.zeros((x.shape[0], units))
    out = []
    for t in range(x.shape[1]):
        v_f, v_r = (cell_kernel[0] * c, cell_kernel[1] * c) if cell_kernel is not None else (0.0, 0.0)
        f = sigmoid(a_f[:, t] + v_f + b_f)
        r = sigmoid(a_r[:, t] + v_r + b_r)
        c = f * c + (1 - f) * cand[:, t]
        out.append(r * np.tanh(c) + (1 - r) * skip[:, t])
    return np.stack(out, 1), c
