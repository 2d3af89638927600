"""Batch normalization of image batches, one fused op per mode (training, inference).

The statistics of channel ``c`` are taken over the batch and both spatial axes
(``M = N * H * W`` values). The generic :func:`ngrad.ops.normalization.batch_norm`
computes the same thing for any rank, but it materialises ``x_hat`` and works
through a dozen full-size passes; on images (where BatchNorm sits after every
convolution of a ResNet) this version does the minimum:

- forward: per-channel sums on a contiguous 3-D view ``(A, C, B)`` of the
  input (NCHW: ``(N, C, H*W)``; NHWC: ``(N*H*W, C, 1)``), one centred copy
  ``xc = x - mean`` that is scaled and shifted in place into the output; the
  backward keeps only the input (already alive) and two (C,) vectors;
- backward: with ``k = gamma * inv_std`` and ``x_hat = xc * inv_std``,

      dbeta  = sum(dy)                      dgamma = sum(dy * x_hat)
      dx     = k * dy - (k / M) * dbeta - (k * inv_std / M) * dgamma * xc

  i.e. two full-size temporaries and per-channel coefficients, instead of the
  generic ``inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))``.

Inference mode is an affine map per channel (``y = x * scale + shift``).

``activation="relu"`` applies ReLU to the output inside the same op, the
values and gradients of ``relu(batch_norm2d(x))``: BatchNorm followed by ReLU
is how every ResNet block starts. Compiled, the forward writes ``max(y, 0)``
in its one output pass and the backward masks the gradient while it reads it,
recomputing ``y > 0`` from the input: two full-size passes fewer, and no copy
of the output kept for the backward. In NumPy (and in inference mode) it is
the ReLU op's own arithmetic after the normalisation.

Training mode on NCHW NumPy arrays of one float dtype, C-contiguous, runs
compiled kernels (:mod:`ngrad.ops._numba_bn`) when Numba is available. They use
the same formulas, one channel at a time with float64 sums, and are about 3x
faster on ResNet-sized batches. Other inputs take the NumPy code below.

Examples
--------
>>> import ngrad
>>> from ngrad.ops.batchnorm2d import batch_norm2d
>>> x = ngrad.randn(4, 3, 5, 5)
>>> y = batch_norm2d(x, training=True)
>>> abs(float(y.numpy().mean())) < 1e-5, y.shape
(True, (4, 3, 5, 5))
"""
from __future__ import annotations

import numpy

from ngrad.backend import get_array_module, numba_kernels
from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops import _parallel
from ngrad.ops._util import as_tensor
from ngrad.ops.activation import relu as _relu_op, relu_backward_array, relu_forward_array

CHANNELS_FIRST = ("channels_first", "NCHW")
CHANNELS_LAST = ("channels_last", "NHWC")


def _view3(a, channels_last: bool):
    """An image batch as the 3-D view (A, C, B) whose axes 0 and 2 are reduced."""
    if channels_last:
        return a.reshape(-1, a.shape[-1], 1)  # (N*H*W, C, 1)
    return a.reshape(a.shape[0], a.shape[1], -1)  # (N, C, H*W)


def _channel_sum(a3):
    """(A, C, B) -> (C,): contiguous last-axis sums first, then over A."""
    return a3.sum(axis=2).sum(axis=0)


def _channel_dot(a3, b3):
    """(A, C, B), (A, C, B) -> (C,): ``sum(a * b)`` per channel without a temporary."""
    return get_array_module(a3).einsum("acb,acb->c", a3, b3)


def _col(v):
    """(C,) -> (C, 1), broadcasting over the (A, C, B) view."""
    return v[:, None]


def _bn_kernels(channels_last, x, *others):
    """The compiled kernels (:mod:`ngrad.ops._numba_bn`) when they can take these arrays, else None.

    ``x`` must be a C-contiguous NumPy float32 or float64 array in NCHW
    (``channels_last`` False); each of ``others`` None (an absent weight or
    bias) or a C-contiguous NumPy array of x's dtype.
    """
    # runs once per call of the op: plain attribute checks, no generator
    if channels_last or type(x) is not numpy.ndarray or x.dtype.char not in "fd" or not x.flags.c_contiguous:
        return None
    for a in others:
        if a is not None and (type(a) is not numpy.ndarray or a.dtype != x.dtype or not a.flags.c_contiguous):
            return None
    return numba_kernels("ops._numba_bn")


class BatchNorm2d(Function):
    """Batch normalization with the batch's statistics (training mode).

    Shapes: x (N, C, H, W) (or (N, H, W, C) with ``channels_last``); weight,
    bias (C,) or None -> like x. ``stats``, a dict, receives the batch
    ``mean`` and biased ``var`` (C,) and the ``count`` M of values per channel.
    ``relu``: the output is ``max(y, 0)`` (see the module doc).
    """

    name = "batch_norm2d"

    def forward(ctx, x, weight=None, bias=None, eps=1e-5, channels_last=False, stats=None, relu=False):
        x3 = _view3(x, channels_last)  # (A, C, B)
        m = x3.shape[0] * x3.shape[2]
        k = _bn_kernels(channels_last, x, weight, bias)
        mask_source = None  # the NumPy path's ReLU output, for the backward's mask
        if k is None:
            y, mean, var, inv_std = _forward_numpy(x3, weight, bias, eps, m)
            if relu:
                y = mask_source = relu_forward_array(y)
        else:
            y, mean, var, inv_std = _forward_compiled(k, x3, weight, bias, eps, relu)
        if stats is not None:
            stats.update(mean=mean, var=var, count=m)
        ctx.save_for_backward(x, weight, bias if relu else None, mask_source)
        ctx.mean, ctx.inv_std, ctx.m, ctx.channels_last, ctx.relu = mean, inv_std, m, channels_last, relu
        return y.reshape(x.shape)

    def backward(ctx, g):
        x, weight, bias, y = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        k = None
        if ctx.relu and y is None:  # compiled forward: the backward kernel recomputes the ReLU's mask
            g = numpy.ascontiguousarray(g, dtype=x.dtype).reshape(x.shape)
        if g.shape == x.shape:
            k = _bn_kernels(ctx.channels_last, x, g, weight, bias, ctx.mean, ctx.inv_std)
        if k is None:
            if ctx.relu:
                y = y if y is not None else _output_again(ctx, x, weight, bias)
                g = relu_backward_array(g, y.reshape(g.shape))  # the ReLU op's own g * (y > 0)
            gx, gw, gb = _backward_numpy(ctx, x, weight, g, need_x)
        else:
            gx, gw, gb = _backward_compiled(k, ctx, x, weight, bias, g, need_x)
        return gx, gw if need_w else None, gb if need_b else None


def _forward_numpy(x3, weight, bias, eps, m):
    """The training forward in array-module calls: x3 (A, C, B) -> y (A, C, B), mean, var, inv_std (C,)."""
    xp = get_array_module(x3)
    mean = _channel_sum(x3) / m  # (C,)
    xc = x3 - _col(mean)  # (A, C, B), becomes the output
    var = _channel_dot(xc, xc) / m  # (C,) biased
    inv_std = 1.0 / xp.sqrt(var + eps)  # (C,)
    scale = inv_std if weight is None else inv_std * weight
    xc *= _col(scale.astype(xc.dtype, copy=False))
    if bias is not None:
        xc += _col(bias)
    return xc, mean, var, inv_std


def _forward_compiled(k, x3, weight, bias, eps, relu=False):
    """:func:`_forward_numpy` by the compiled kernel (and the ReLU with ``relu``); x3 is the
    (N, C, HW) view of a C-contiguous NCHW array."""
    c = x3.shape[1]
    dtype = x3.dtype
    y = numpy.empty_like(x3)
    mean, var, inv_std = numpy.empty(c, dtype), numpy.empty(c, dtype), numpy.empty(c, dtype)

    def channels(lo, hi):
        k.bn_forward(x3, mean if weight is None else weight, mean if bias is None else bias,  # mean: an unread stand-in
                     weight is not None, bias is not None, float(eps), y, mean, var, inv_std, bool(relu), lo, hi)

    _parallel.run(channels, c, 1, x3.size >= _parallel.MIN_ELEMENTS)  # channels split between BLAS's threads
    return y, mean, var, inv_std


def _output_again(ctx, x, weight, bias):
    """The fused forward's output from x and the saved statistics (the forward's arithmetic):
    for a compiled forward whose backward cannot run compiled (Numba switched off in between)."""
    x3 = _view3(x, ctx.channels_last)
    scale = ctx.inv_std if weight is None else ctx.inv_std * weight
    y = x3 - _col(ctx.mean)
    y *= _col(scale)
    if bias is not None:
        y += _col(bias)
    return relu_forward_array(y)


def _backward_numpy(ctx, x, weight, g, need_x):
    """The training backward in array-module calls: -> gx (like x) or None, gw, gb (C,)."""
    g3, x3 = _view3(g, ctx.channels_last), _view3(x, ctx.channels_last)  # (A, C, B)
    mean, inv_std, m = ctx.mean, ctx.inv_std, ctx.m
    xc = x3 - _col(mean)  # (A, C, B)
    gb = _channel_sum(g3)  # (C,) dbeta
    gw = _channel_dot(g3, xc) * inv_std  # (C,) dgamma = sum(g * x_hat)
    gx = None
    if need_x:
        k = inv_std if weight is None else inv_std * weight  # (C,)
        gx = g3 * _col(k)  # (A, C, B)
        xc *= _col(-(k * inv_std / m) * gw)
        gx += xc
        gx -= _col((k / m) * gb)
        gx = gx.reshape(x.shape)
    return gx, gw, gb


def _backward_compiled(k, ctx, x, weight, bias, g, need_x):
    """:func:`_backward_numpy` by the compiled kernel (the ReLU's mask first when the forward
    fused one), for C-contiguous NCHW ``x`` and ``g`` of one dtype."""
    x3, g3 = _view3(x, False), _view3(g, False)  # (N, C, HW)
    c = x3.shape[1]
    gw, gb = numpy.empty(c, x.dtype), numpy.empty(c, x.dtype)
    gx = numpy.empty_like(x) if need_x else None
    gx3 = numpy.empty((0, 0, 0), x.dtype) if gx is None else _view3(gx, False)  # an empty stand-in: not written
    stand_in = ctx.inv_std  # read by the kernel only where the flag next to it is set

    def channels(lo, hi):
        k.bn_backward(x3, g3, ctx.mean, ctx.inv_std, stand_in if weight is None else weight, weight is not None,
                      stand_in if bias is None else bias, bias is not None, bool(ctx.relu), bool(need_x), gx3, gw, gb,
                      lo, hi)

    _parallel.run(channels, c, 1, x3.size >= _parallel.MIN_ELEMENTS)
    return gx, gw, gb


class BatchNorm2dInference(Function):
    """Batch normalization with fixed statistics: ``y = x * scale + shift`` per channel.

    Shapes: x (N, C, H, W) (or NHWC); weight, bias (C,) or None; ``mean``,
    ``var`` (C,) arrays (the running averages).
    """

    name = "batch_norm2d"

    def forward(ctx, x, weight=None, bias=None, mean=None, var=None, eps=1e-5, channels_last=False):
        xp = get_array_module(x)
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)  # (C,)
        scale = inv_std if weight is None else inv_std * weight
        shift = -mean * scale if bias is None else bias - mean * scale
        y = _view3(x, channels_last) * _col(scale)  # (A, C, B)
        y += _col(shift)
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight)
        ctx.mean, ctx.inv_std, ctx.channels_last = mean, inv_std, channels_last
        return y.reshape(x.shape)

    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g3 = _view3(g, ctx.channels_last)  # (A, C, B)
        scale = ctx.inv_std if weight is None else ctx.inv_std * weight
        gx = (g3 * _col(scale)).reshape(g.shape) if need_x else None
        gw = None
        if need_w:
            xc = _view3(x, ctx.channels_last) - _col(ctx.mean)  # (A, C, B)
            gw = _channel_dot(g3, xc) * ctx.inv_std  # sum(g * x_hat)
        gb = _channel_sum(g3) if need_b else None
        return gx, gw, gb


# ----------------------------------------------------------- functional API
def _channels_last(data_format) -> bool:
    if data_format not in CHANNELS_FIRST + CHANNELS_LAST:
        raise ValueError(f"batch_norm2d: data_format must be 'channels_first' (NCHW) or 'channels_last' (NHWC), "
                         f"got {data_format!r}")
    return data_format in CHANNELS_LAST


def _vector(t, c, what):
    if t is None:
        return None
    t = as_tensor(t)
    if tuple(t.shape) != (c,):
        raise ShapeError(f"batch_norm2d: {what} must have shape ({c},) for {c} channels, got {tuple(t.shape)}")
    return t


def batch_norm2d(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
                 momentum=0.1, eps=1e-5, data_format="channels_first", activation=None):
    """Batch normalization of images per channel (PyTorch's ``F.batch_norm`` on 4-D input).

    In training (or without running statistics) the batch's mean and biased
    variance over (N, H, W) normalise ``x`` and the running averages, when
    given, are updated in place: ``running = (1 - momentum) * running +
    momentum * batch``, with the unbiased batch variance for ``running_var``
    (as PyTorch). Otherwise the running statistics normalise ``x``.

    Parameters
    ----------
    x : Tensor (N, C, H, W), or (N, H, W, C) with ``data_format="channels_last"``
    running_mean, running_var : Tensor (C,) or None
        Buffers, updated in place in training mode.
    weight, bias : Tensor (C,) or None
        gamma and beta.
    training : bool
    momentum : float
        Weight of the batch in the running averages (Keras's ``momentum=0.99``
        is ``momentum=0.01`` here).
    eps : float
        Added to the variance.
    activation : None or 'relu'
        ``'relu'``: ``relu(batch_norm2d(...))`` as one op (same values and
        gradients; see the module doc).

    Returns
    -------
    Tensor, shaped like ``x``.
    """
    x = as_tensor(x)
    last = _channels_last(data_format)
    if activation not in (None, "relu"):
        raise ValueError(f"batch_norm2d: activation must be None or 'relu', got {activation!r}")
    relu = activation == "relu"
    if x.ndim != 4:
        want = "(N, H, W, C)" if last else "(N, C, H, W)"
        raise ShapeError(f"batch_norm2d: expected a 4-D input {want}, got shape {tuple(x.shape)}")
    c = x.shape[3 if last else 1]
    weight, bias = _vector(weight, c, "weight"), _vector(bias, c, "bias")
    rm, rv = _vector(running_mean, c, "running_mean"), _vector(running_var, c, "running_var")
    if not training and rm is not None and rv is not None:
        out = BatchNorm2dInference.apply(x, weight, bias, mean=rm.data.astype(x.dtype, copy=False),
                                         var=rv.data.astype(x.dtype, copy=False), eps=eps, channels_last=last)
        return _relu_op(out) if relu else out
    if x.size // max(c, 1) < 2:
        raise ShapeError(f"batch_norm2d: expected more than 1 value per channel when training, "
                         f"got input of shape {tuple(x.shape)}")
    stats = {}
    out = BatchNorm2d.apply(x, weight, bias, eps=eps, channels_last=last, stats=stats, relu=relu)
    if training:
        _update_running(rm, rv, stats, momentum)
    return out


def _update_running(rm, rv, stats, momentum) -> None:
    """``running = (1 - momentum) * running + momentum * batch`` (unbiased variance), in place."""
    if rm is not None:
        rm.data *= 1 - momentum
        rm.data += momentum * stats["mean"]
    if rv is not None:
        m = stats["count"]
        rv.data *= 1 - momentum
        rv.data += (momentum * m / (m - 1)) * stats["var"]


__all__ = ["BatchNorm2d", "BatchNorm2dInference", "batch_norm2d"]
