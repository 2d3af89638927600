"""Spatial resizing: zero_pad2d and nearest-neighbour upsample2d (NCHW, like :mod:`ngrad.ops.conv`).

Both are pure data movement: the backward of padding is a crop, the
backward of upsampling sums each (sh, sw) block back onto its source pixel
(rows first over contiguous runs, then columns).

Examples
--------
>>> import ngrad
>>> from ngrad.ops.upsample import upsample2d, zero_pad2d
>>> x = ngrad.ones(1, 1, 2, 3)
>>> upsample2d(x, 2).shape, zero_pad2d(x, ((1, 0), (2, 2))).shape
((1, 1, 4, 6), (1, 1, 3, 7))
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.function import Function
from ngrad.ops._util import as_tensor
from ngrad.ops.conv import _check_data_format, check_image, to_nchw, to_nhwc
from ngrad.ops.conv_utils import _pads, crop2d, pad2d, pair


class ZeroPad2d(Function):
    """Zero padding. Shapes: x (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    name = "zero_pad2d"

    def forward(ctx, x, pads=((0, 0), (0, 0))):
        ctx.pads = pads
        out = pad2d(x, pads)
        return out.copy() if out is x else out

    def backward(ctx, gy):
        return crop2d(gy, ctx.pads)


class Upsample2d(Function):
    """Nearest-neighbour upsampling. Shapes: x (N, C, H, W) -> (N, C, H*sh, W*sw)."""

    name = "upsample2d"

    def forward(ctx, x, size=(2, 2)):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        sh, sw = size
        ctx.size = size
        y = xp.empty((n, c, h, sh, w, sw), dtype=x.dtype)
        y[...] = x[:, :, :, None, :, None]
        return y.reshape(n, c, h * sh, w * sw)

    def backward(ctx, gy):
        n, c, hs, ws = gy.shape
        sh, sw = ctx.size
        g = gy.reshape(n, c, hs // sh, sh, ws)  # (N, C, H, sh, W*sw)
        r = g[:, :, :, 0].copy()  # (N, C, H, W*sw)
        for i in range(1, sh):
            r += g[:, :, :, i]
        dx = r[..., 0::sw].copy()  # (N, C, H, W)
        for j in range(1, sw):
            dx += r[..., j::sw]
        return dx


def zero_pad2d(x, padding=1, data_format="channels_first"):
    """Pad the spatial axes with zeros (Keras's ``ZeroPadding2D``).

    ``padding``: int, (ph, pw) or ((top, bottom), (left, right)).
    """
    x = as_tensor(x)
    last = _check_data_format("zero_pad2d", data_format)
    check_image("zero_pad2d", x, last)
    if last:
        x = to_nchw(x)
    y = ZeroPad2d.apply(x, pads=_pads(padding, "zero_pad2d"))
    return to_nhwc(y) if last else y


def upsample2d(x, size=2, mode="nearest", data_format="channels_first"):
    """Repeat every pixel ``size`` times along H and W (Keras's ``UpSampling2D``,
    PyTorch's ``Upsample(scale_factor=size, mode='nearest')``).

    ``size``: int or (sh, sw). Only ``mode='nearest'`` is implemented.
    """
    if mode != "nearest":
        raise NotImplementedError(f"upsample2d: mode {mode!r} is not implemented (only 'nearest')")
    x = as_tensor(x)
    last = _check_data_format("upsample2d", data_format)
    check_image("upsample2d", x, last)
    if last:
        x = to_nchw(x)
    y = Upsample2d.apply(x, size=pair(size, "size", "upsample2d"))
    return to_nhwc(y) if last else y
