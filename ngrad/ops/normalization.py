"""Normalization: batch norm (training and inference) and layer norm as fused ops.

Each is one graph node with an analytic backward instead of the dozen nodes
of ``(x - mean) / sqrt(var + eps) * gamma + beta`` written with tensor ops.
With ``x_hat = (x - mean) * inv_std`` normalised over ``M`` values, the
gradient through the statistics is (Course 2, week 3; Ioffe & Szegedy 2015)

    dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)),

with ``dx_hat = dy * gamma`` and the means over the normalised axes.
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops._util import as_tensor


def _moments(x, axes):
    """Mean and biased variance over ``axes`` (kept), two-pass for accuracy."""
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    return mean, xc, (xc * xc).mean(axis=axes, keepdims=True)


def _normalized_grad(gx_hat, x_hat, inv_std, axes):
    """d loss / d x for ``x_hat = (x - mean(x)) * inv_std`` normalised over ``axes``."""
    mean_g = gx_hat.mean(axis=axes, keepdims=True)
    mean_gx = (gx_hat * x_hat).mean(axis=axes, keepdims=True)
    return inv_std * (gx_hat - mean_g - x_hat * mean_gx)


def _channel_axes(x):
    """Batch norm's reduced axes (all but the channel axis 1) and the channel broadcast shape."""
    return (0, *range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


class BatchNorm(Function):
    """Batch normalization with the batch's statistics (training mode).

    Shapes: x (N, C) or (N, C, L, ...); weight, bias (C,) or None -> (N, C, ...).
    ``stats``, a dict, receives the batch ``mean`` and biased ``var`` (C,) and
    the ``count`` of values per channel, for the running averages.
    """

    name = "batch_norm"

    def forward(ctx, x, weight=None, bias=None, eps=1e-5, stats=None):
        axes, pshape = _channel_axes(x)
        mean, xc, var = _moments(x, axes)
        inv_std = 1.0 / get_array_module(x).sqrt(var + eps)  # (1, C, 1...)
        x_hat = xc * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.axes, ctx.pshape = axes, pshape
        if stats is not None:
            stats.update(mean=mean.reshape(-1), var=var.reshape(-1), count=x.size // x.shape[1])
        out = x_hat if weight is None else x_hat * weight.reshape(pshape)
        return out if bias is None else out + bias.reshape(pshape)

    def backward(ctx, g):
        x_hat, inv_std, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        gx_hat = g if weight is None else g * weight.reshape(ctx.pshape)
        gx = _normalized_grad(gx_hat, x_hat, inv_std, ctx.axes) if need_x else None
        gw = (g * x_hat).sum(axis=ctx.axes) if need_w else None  # (C,)
        gb = g.sum(axis=ctx.axes) if need_b else None  # (C,)
        return gx, gw, gb


class BatchNormInference(Function):
    """Batch normalization with fixed (running) statistics: an affine map per channel.

    Shapes: x (N, C, ...); weight, bias (C,) or None; ``mean``, ``var`` (C,) arrays.
    """

    name = "batch_norm"

    def forward(ctx, x, weight=None, bias=None, mean=None, var=None, eps=1e-5):
        axes, pshape = _channel_axes(x)
        inv_std = (1.0 / get_array_module(x).sqrt(var + eps)).reshape(pshape)
        x_hat = (x - mean.reshape(pshape)) * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.axes, ctx.pshape = axes, pshape
        out = x_hat if weight is None else x_hat * weight.reshape(pshape)
        return out if bias is None else out + bias.reshape(pshape)

    def backward(ctx, g):
        x_hat, inv_std, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        scale = inv_std if weight is None else inv_std * weight.reshape(ctx.pshape)
        gx = g * scale if need_x else None
        gw = (g * x_hat).sum(axis=ctx.axes) if need_w else None
        gb = g.sum(axis=ctx.axes) if need_b else None
        return gx, gw, gb


class LayerNorm(Function):
    """Layer normalization over the last ``n_axes`` axes of each example.

    Shapes: x (*, *normalized_shape); weight, bias normalized_shape or None -> like x.
    """

    name = "layer_norm"

    def forward(ctx, x, weight=None, bias=None, n_axes=1, eps=1e-5):
        axes = tuple(range(x.ndim - n_axes, x.ndim))
        _, xc, var = _moments(x, axes)
        inv_std = 1.0 / get_array_module(x).sqrt(var + eps)  # (*, 1, ...)
        x_hat = xc * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.axes = axes
        out = x_hat if weight is None else x_hat * weight
        return out if bias is None else out + bias

    def backward(ctx, g):
        x_hat, inv_std, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        lead = tuple(range(g.ndim - len(ctx.axes)))
        gx = _normalized_grad(g if weight is None else g * weight, x_hat, inv_std, ctx.axes) if need_x else None
        gw = (g * x_hat).sum(axis=lead) if need_w else None  # normalized_shape
        gb = g.sum(axis=lead) if need_b else None
        return gx, gw, gb


# ----------------------------------------------------------- functional API
def _param(p, n, what, op):
    if p is None:
        return None
    p = as_tensor(p)
    if p.shape != (n,):
        raise ShapeError(f"{op}: {what} must have shape ({n},), got {p.shape}")
    return p


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over all axes but the channel axis 1 (PyTorch's ``F.batch_norm``).

    In training (or without running statistics) the batch's mean and biased
    variance normalise ``x``, and the running averages, when given, are updated
    in place: ``running = (1 - momentum) * running + momentum * batch`` with the
    unbiased batch variance for ``running_var``. Otherwise the running
    statistics normalise ``x``.

    Shapes: x (N, C) or (N, C, L, ...); running_mean, running_var, weight, bias (C,).
    """
    op = "batch_norm"
    x = as_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected an input of shape (N, C) or (N, C, L), got {x.shape}")
    n_ch = x.shape[1]
    weight, bias = _param(weight, n_ch, "weight", op), _param(bias, n_ch, "bias", op)
    rm, rv = (None if t is None else _param(t, n_ch, name, op) for t, name in
              ((running_mean, "running_mean"), (running_var, "running_var")))
    if not training and rm is not None and rv is not None:
        return BatchNormInference.apply(x, weight, bias, mean=rm.data.astype(x.dtype, copy=False),
                                        var=rv.data.astype(x.dtype, copy=False), eps=eps)
    if x.size // max(n_ch, 1) < 2:
        raise ShapeError(f"{op}: expected more than 1 value per channel when training, got input of shape {x.shape}")
    stats = {}
    out = BatchNorm.apply(x, weight, bias, eps=eps, stats=stats)
    if training and rm is not None:
        rm.data *= 1 - momentum
        rm.data += momentum * stats["mean"]
    if training and rv is not None:
        m = stats["count"]
        rv.data *= 1 - momentum
        rv.data += (momentum * m / (m - 1)) * stats["var"]
    return out


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise each example over its last ``len(normalized_shape)`` axes (PyTorch's ``F.layer_norm``).

    Shapes: x (*, *normalized_shape); weight, bias normalized_shape or None.
    """
    op = "layer_norm"
    x = as_tensor(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(shape) > x.ndim or x.shape[x.ndim - len(shape):] != shape:
        raise ShapeError(f"{op}: expected an input of shape (*, {', '.join(map(str, shape))}), got {x.shape}")
    for p, what in ((weight, "weight"), (bias, "bias")):
        if p is not None and tuple(p.shape) != shape:
            raise ShapeError(f"{op}: {what} must have shape {shape}, got {tuple(p.shape)}")
    weight = None if weight is None else as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    return LayerNorm.apply(x, weight, bias, n_axes=len(shape), eps=eps)


__all__ = ["BatchNorm", "BatchNormInference", "LayerNorm", "batch_norm", "layer_norm"]
