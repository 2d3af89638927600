"""Pooling: max_pool2d, avg_pool2d, global_avg_pool2d (NCHW, like :mod:`ngrad.ops.conv`).

Any kernel, stride and padding (``'valid'``, ``'same'`` as Keras, or
numbers as PyTorch). How it is computed:

- forward: a running ``maximum`` (or sum) over the kh*kw strided offset
  slices of the input, never a reduction over small window axes. When
  ``stride == kernel`` and there is no padding (the common case) the tree
  runs first over whole rows (contiguous runs of W) and then over columns
  of the kh-times smaller result.
- max backward, ``stride == kernel``: one broadcast ``equal`` against the
  max repeated along the width, times the gradient repeated the same way.
  One ``count_nonzero`` tells whether any window has a tied maximum (all-zero
  windows after a ReLU do); then small windows take the general path and
  large ones fix up only the tied windows.
- max backward, general: a running "not found yet" mask over the offsets.
- Either way exactly one element per window, the first maximum in row-major
  order (as PyTorch), gets the window's gradient.

Padding of max pooling never wins (it is -inf). Average pooling over
``'same'`` padding divides by the number of real elements (Keras); over
numeric padding by the full window unless ``count_include_pad=False``
(PyTorch's default and option).
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops._util import as_tensor
from ngrad.ops.conv import _check_data_format, check_image, to_nchw, to_nhwc
from ngrad.ops.conv_utils import ConvGeometry, conv_geometry, crop2d, offset_slice, pad2d


#: windows up to this many elements resolve ties with the offset loop, larger ones by fixing up the mask
SMALL_WINDOW = 16


def _is_tiled(g: ConvGeometry) -> bool:
    """Non-overlapping windows that need no padding (stride == kernel)."""
    return (g.sh, g.sw) == (g.kh, g.kw) and not g.padded and g.dh == g.dw == 1


def _rows_view(x, g):
    """x (N, C, H, W) -> (N, C, Ho, kh, Wo*kw): the rows each window row reads (a view)."""
    xp = get_array_module(x)
    s_n, s_c, s_h, s_w = x.strides
    n, c = x.shape[:2]
    return xp.lib.stride_tricks.as_strided(
        x, (n, c, g.ho, g.kh, g.wo * g.kw), (s_n, s_c, g.kh * s_h, s_h, s_w))


def _tiled_reduce(x, g, ufunc):
    """Running ``ufunc`` (maximum or add) over tiled windows: rows first, then columns."""
    rows = _rows_view(x, g)  # (N, C, Ho, kh, Wo*kw)
    r = rows[:, :, :, 0].copy()  # (N, C, Ho, Wo*kw)
    for i in range(1, g.kh):
        ufunc(r, rows[:, :, :, i], out=r)
    y = r[..., 0::g.kw].copy()  # (N, C, Ho, Wo)
    for j in range(1, g.kw):
        ufunc(y, r[..., j::g.kw], out=y)
    return y


def _offset_reduce(xpad, g, ufunc):
    """Running ``ufunc`` over the kh*kw strided offset slices of a padded input."""
    y = None
    for i in range(g.kh):
        for j in range(g.kw):
            rows, cols = offset_slice(g, i, j)
            s = xpad[:, :, rows, cols]  # (N, C, Ho, Wo)
            if y is None:
                y = s.copy()
            else:
                ufunc(y, s, out=y)
    return y


# ------------------------------------------------------------------ max
def _max_backward_tiled(x, y, gy, g):
    """Gradient of tiled max pooling by one broadcast comparison.

    x (N, C, H, W), y and gy (N, C, Ho, Wo). Windows whose maximum is tied
    keep only their first maximum (row-major order, as PyTorch).
    """
    xp = get_array_module(x)
    ye = xp.repeat(y, g.kw, axis=3)[:, :, :, None, :]  # (N, C, Ho, 1, Wo*kw)
    mask = xp.equal(_rows_view(x, g), ye)  # (N, C, Ho, kh, Wo*kw)
    if int(xp.count_nonzero(mask)) != y.size:  # some window has a tied maximum
        if g.kk <= SMALL_WINDOW:
            return _max_backward_general(x, y, gy, g)
        _keep_first_max(mask, g)
    ge = xp.repeat(gy, g.kw, axis=3)[:, :, :, None, :]  # (N, C, Ho, 1, Wo*kw)
    covered = (g.ho * g.kh, g.wo * g.kw) == x.shape[2:]
    dx = (xp.empty if covered else xp.zeros)(x.shape, dtype=gy.dtype)
    xp.multiply(mask, ge, out=_rows_view(dx, g))
    return dx


def _keep_first_max(mask, g):
    """In place: in each window of ``mask`` (N, C, Ho, kh, Wo*kw) with more than
    one True, keep only the first in row-major order."""
    xp = get_array_module(mask)
    counts = mask[:, :, :, 0].astype(xp.int32)  # (N, C, Ho, Wo*kw), then (N, C, Ho, Wo)
    for i in range(1, g.kh):
        counts += mask[:, :, :, i]
    counts = counts.reshape(counts.shape[:3] + (g.wo, g.kw)).sum(axis=4)
    n, c, r, s = xp.nonzero(counts > 1)  # the tied windows
    m6 = mask.reshape(mask.shape[:4] + (g.wo, g.kw))  # (N, C, Ho, kh, Wo, kw), a view
    win = m6[n, c, r, :, s, :].reshape(len(n), g.kk)  # (T, kh*kw)
    first = xp.zeros_like(win)
    first[xp.arange(len(n)), xp.argmax(win, axis=1)] = True
    m6[n, c, r, :, s, :] = first.reshape(len(n), g.kh, g.kw)


def _max_backward_general(xpad, y, gy, g):
    """Gradient of max pooling to the first maximum of each window (row-major order)."""
    xp = get_array_module(xpad)
    dxpad = xp.zeros(xpad.shape, dtype=gy.dtype)  # (N, C, Hp, Wp)
    free = xp.ones(y.shape, dtype=bool)  # windows whose maximum is not found yet
    for i in range(g.kh):
        for j in range(g.kw):
            rows, cols = offset_slice(g, i, j)
            hit = xp.equal(xpad[:, :, rows, cols], y)
            hit &= free
            free &= ~hit
            dxpad[:, :, rows, cols] += gy * hit
    return dxpad


class MaxPool2d(Function):
    """Max pooling. Shapes: x (N, C, H, W) -> (N, C, Ho, Wo); ``geometry`` resolved."""

    name = "max_pool2d"

    def forward(ctx, x, geometry=None):
        g = geometry
        if _is_tiled(g):
            y = _tiled_reduce(x, g, get_array_module(x).maximum)
            xpad = x
        else:
            xpad = pad2d(x, g.pads, value=-float("inf"))
            y = _offset_reduce(xpad, g, get_array_module(x).maximum)
        ctx.save_for_backward(xpad, y)
        ctx.geometry = g
        return y

    def backward(ctx, gy):
        xpad, y = ctx.saved_tensors
        g = ctx.geometry
        if _is_tiled(g):
            return _max_backward_tiled(xpad, y, gy, g)
        return get_array_module(gy).ascontiguousarray(crop2d(_max_backward_general(xpad, y, gy, g), g.pads))


# ------------------------------------------------------------------ average
def _window_counts(g: ConvGeometry, xp, dtype):
    """(Ho, Wo) number of real (unpadded) elements in each window."""
    ones = xp.ones((1, 1, g.h, g.w), dtype=dtype)
    return _offset_reduce(pad2d(ones, g.pads), g, xp.add)[0, 0]


class AvgPool2d(Function):
    """Average pooling. Shapes: x (N, C, H, W) -> (N, C, Ho, Wo).

    ``count_include_pad``: divide by kh*kw (True) or by the real elements of
    each window (False).
    """

    name = "avg_pool2d"

    def forward(ctx, x, geometry=None, count_include_pad=True):
        g = geometry
        xp = get_array_module(x)
        if _is_tiled(g):
            y = _tiled_reduce(x, g, xp.add)
        else:
            y = _offset_reduce(pad2d(x, g.pads), g, xp.add)
        if count_include_pad or not g.padded:
            scale = 1.0 / g.kk
        else:
            scale = 1.0 / _window_counts(g, xp, x.dtype)  # (Ho, Wo)
        y *= scale
        ctx.geometry, ctx.scale, ctx.x_shape = g, scale, x.shape
        return y

    def backward(ctx, gy):
        g, xp = ctx.geometry, get_array_module(gy)
        gs = gy * ctx.scale  # (N, C, Ho, Wo)
        n, c = gy.shape[:2]
        if _is_tiled(g):
            dx = xp.zeros(ctx.x_shape, dtype=gy.dtype)
            s_n, s_c, s_h, s_w = dx.strides
            win = xp.lib.stride_tricks.as_strided(  # (N, C, Ho, kh, Wo, kw)
                dx, (n, c, g.ho, g.kh, g.wo, g.kw), (s_n, s_c, g.kh * s_h, s_h, g.kw * s_w, s_w))
            win[...] = gs[:, :, :, None, :, None]
            return dx
        dxpad = xp.zeros((n, c, g.hp, g.wp), dtype=gy.dtype)
        for i in range(g.kh):
            for j in range(g.kw):
                rows, cols = offset_slice(g, i, j)
                dxpad[:, :, rows, cols] += gs
        return xp.ascontiguousarray(crop2d(dxpad, g.pads))


class GlobalAvgPool2d(Function):
    """Mean over H and W. Shapes: x (N, C, H, W) -> (N, C)."""

    name = "global_avg_pool2d"

    def forward(ctx, x):
        n, c, h, w = x.shape
        ctx.x_shape = x.shape
        return x.reshape(n, c, h * w).mean(axis=2)

    def backward(ctx, gy):
        n, c, h, w = ctx.x_shape
        g = gy * (1.0 / (h * w))  # (N, C)
        return get_array_module(gy).broadcast_to(g[:, :, None, None], ctx.x_shape)


# ------------------------------------------------------------------ functional API
def _pool_args(op, x, kernel_size, stride, padding, data_format):
    x = as_tensor(x)
    last = _check_data_format(op, data_format)
    check_image(op, x, last)
    if last:
        x = to_nchw(x)
    stride = kernel_size if stride is None else stride
    g = conv_geometry(op, x.shape[2:], kernel_size, stride, padding)
    if not isinstance(padding, str) and (2 * max(g.pads[0]) > g.kh or 2 * max(g.pads[1]) > g.kw):
        raise ShapeError(f"{op}: padding {padding!r} must be at most half the kernel {(g.kh, g.kw)}")
    return x, g, last


def max_pool2d(x, kernel_size, stride=None, padding="valid", data_format="channels_first"):
    """Max pooling (PyTorch's ``F.max_pool2d``, Keras's ``MaxPooling2D``).

    x (N, C, H, W) -> (N, C, Ho, Wo); ``stride`` defaults to ``kernel_size``;
    ``padding`` is ``'valid'``, ``'same'`` (Keras) or numbers (PyTorch, at most
    half the kernel). Ties: the gradient goes to the first maximum.
    """
    x, g, last = _pool_args("max_pool2d", x, kernel_size, stride, padding, data_format)
    y = MaxPool2d.apply(x, geometry=g)
    return to_nhwc(y) if last else y


def avg_pool2d(x, kernel_size, stride=None, padding="valid", count_include_pad=None,
               data_format="channels_first"):
    """Average pooling (PyTorch's ``F.avg_pool2d``, Keras's ``AveragePooling2D``).

    ``count_include_pad`` defaults to False for ``'same'`` (Keras) and True
    for numeric padding (PyTorch).
    """
    x, g, last = _pool_args("avg_pool2d", x, kernel_size, stride, padding, data_format)
    if count_include_pad is None:
        count_include_pad = padding != "same"
    y = AvgPool2d.apply(x, geometry=g, count_include_pad=bool(count_include_pad))
    return to_nhwc(y) if last else y


def global_avg_pool2d(x, keepdims=False, data_format="channels_first"):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with ``keepdims``
    ((N, 1, 1, C) for ``channels_last``)."""
    x = as_tensor(x)
    last = _check_data_format("global_avg_pool2d", data_format)
    check_image("global_avg_pool2d", x, last)
    if last:
        x = to_nchw(x)
    y = GlobalAvgPool2d.apply(x)
    if keepdims:
        y = y.reshape(y.shape + (1, 1))
        return to_nhwc(y) if last else y
    return y
