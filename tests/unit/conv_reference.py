"""Slow loop-based convolution and pooling: a second oracle for the fast ops.

Written as plainly as the course's step-by-step notebook (one window at a
time, forward and backward by hand), NCHW, float64. Only for small shapes.
``pads`` is ((top, bottom), (left, right)).
"""
from __future__ import annotations

import numpy as np


def _pad(x, pads, value=0.0):
    (t, b), (l, r) = pads
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def _crop(xp, pads):
    (t, b), (l, r) = pads
    return xp[:, :, t:xp.shape[2] - b, l:xp.shape[3] - r]


def _out_size(n, k, s, d):
    return (n - d * (k - 1) - 1) // s + 1


def conv2d(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """x (N, C, H, W), w (F, C/groups, kh, kw), b (F,) -> (N, F, Ho, Wo)."""
    xp = _pad(x, pads)
    n, c, hp, wp = xp.shape
    f, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = _out_size(hp, kh, sh, dh), _out_size(wp, kw, sw, dw)
    fg = f // groups
    y = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            c0 = (o // fg) * cg
            for r in range(ho):
                for s in range(wo):
                    window = xp[i, c0:c0 + cg, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                                s * sw:s * sw + dw * (kw - 1) + 1:dw]
                    y[i, o, r, s] = np.sum(window * w[o]) + (0.0 if b is None else b[o])
    return y


def conv2d_backward(x, w, gy, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """(dx, dw, db) of :func:`conv2d` for the output gradient gy (N, F, Ho, Wo)."""
    xp = _pad(x, pads)
    dxp = np.zeros_like(xp)
    dw_ = np.zeros_like(w)
    f, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    n, _, ho, wo = gy.shape
    fg = f // groups
    for i in range(n):
        for o in range(f):
            c0 = (o // fg) * cg
            for r in range(ho):
                for s in range(wo):
                    rows = slice(r * sh, r * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(s * sw, s * sw + dw * (kw - 1) + 1, dw)
                    dxp[i, c0:c0 + cg, rows, cols] += w[o] * gy[i, o, r, s]
                    dw_[o] += xp[i, c0:c0 + cg, rows, cols] * gy[i, o, r, s]
    return _crop(dxp, pads), dw_, gy.sum(axis=(0, 2, 3))


def conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                     groups=1):
    """Scatter definition: every input pixel adds its weighted kernel onto the output.

    x (N, Cin, H, W), w (Cin, Cout/groups, kh, kw) -> (N, Cout, Hout, Wout)
    with PyTorch's sizes and (symmetric) padding.
    """
    n, cin, h, wid = x.shape
    _, cog, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    hout = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wout = (wid - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((n, cog * groups, hout + 2 * ph, wout + 2 * pw))
    cig = cin // groups
    for i in range(n):
        for ci in range(cin):
            o0 = (ci // cig) * cog
            for r in range(h):
                for s in range(wid):
                    full[i, o0:o0 + cog, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                         s * sw:s * sw + dw * (kw - 1) + 1:dw] += x[i, ci, r, s] * w[ci]
    y = full[:, :, ph:ph + hout, pw:pw + wout]
    return y if b is None else y + b[:, None, None]


def pool2d(x, kernel, stride, pads=((0, 0), (0, 0)), mode="max", count_include_pad=True):
    """Max or average pooling, one window at a time; returns (y, dx_fn) where
    ``dx_fn(gy)`` is the backward (first maximum of a window gets the gradient)."""
    pad_value = -np.inf if mode == "max" else 0.0
    xp = _pad(x, pads, pad_value)
    real = _pad(np.ones_like(x), pads, 0.0)
    n, c, hp, wp = xp.shape
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = _out_size(hp, kh, sh, 1), _out_size(wp, kw, sw, 1)
    y = np.zeros((n, c, ho, wo))
    for i in range(n):
        for ch in range(c):
            for r in range(ho):
                for s in range(wo):
                    win = xp[i, ch, r * sh:r * sh + kh, s * sw:s * sw + kw]
                    if mode == "max":
                        y[i, ch, r, s] = win.max()
                    else:
                        count = kh * kw if count_include_pad else real[i, ch, r * sh:r * sh + kh,
                                                                        s * sw:s * sw + kw].sum()
                        y[i, ch, r, s] = win.sum() / count

    def backward(gy):
        dxp = np.zeros_like(xp)
        for i in range(n):
            for ch in range(c):
                for r in range(ho):
                    for s in range(wo):
                        rows, cols = slice(r * sh, r * sh + kh), slice(s * sw, s * sw + kw)
                        if mode == "max":
                            win = xp[i, ch, rows, cols]
                            a, b_ = np.unravel_index(np.argmax(win), win.shape)
                            dxp[i, ch, r * sh + a, s * sw + b_] += gy[i, ch, r, s]
                        else:
                            count = kh * kw if count_include_pad else real[i, ch, rows, cols].sum()
                            dxp[i, ch, rows, cols] += gy[i, ch, r, s] / count
        return _crop(dxp, pads)

    return y, backward


def random_case(case, dtype, seed):
    """Random arrays for a convolution case (N, C, H, W, F, k, stride, padding, dilation, groups):
    (x, w, b, gy, conv2d's keyword arguments), gy of the output's shape."""
    from ngrad.ops.conv_utils import conv_geometry

    n, c, h, w, f, k, stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wgt = rng.standard_normal((f, c // groups, k, k)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    g = conv_geometry("test", (h, w), k, stride, padding, dilation)
    gy = rng.standard_normal((n, f, g.ho, g.wo)).astype(dtype)
    return x, wgt, b, gy, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
