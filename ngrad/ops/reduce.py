"""Reductions over axes: sum, mean, max, min, var, std, logsumexp, argmax, argmin.

Every reduction takes ``axis`` (None for all, an int, or a tuple) and
``keepdims``. Backward broadcasts the output gradient back over the reduced
axes.
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.function import Function
from ngrad.ops._util import as_tensor, expand_reduced, normalize_axis


def _count(shape, axes) -> int:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


class Sum(Function):
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.keepdims = x.shape, keepdims
        ctx.axes = normalize_axis(axis, x.ndim)
        return x.sum(axis=ctx.axes, keepdims=keepdims)

    def backward(ctx, g):
        return expand_reduced(g, ctx.shape, ctx.axes, ctx.keepdims, get_array_module(g))


class Mean(Function):
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.keepdims = x.shape, keepdims
        ctx.axes = normalize_axis(axis, x.ndim)
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    def backward(ctx, g):
        n = _count(ctx.shape, ctx.axes)
        return expand_reduced(g / n, ctx.shape, ctx.axes, ctx.keepdims, get_array_module(g))


class _Extreme(Function):
    """Max or min; ties share the gradient equally (as ``torch.amax``)."""

    reduce_name = "max"

    def forward(ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{ctx.reduce_name}() of an empty tensor")
        axes = normalize_axis(axis, x.ndim)
        out = getattr(x, ctx.reduce_name)(axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp = get_array_module(g)
        mask = x == out
        count = mask.sum(axis=ctx.axes, keepdims=True)
        if not ctx.keepdims and ctx.axes:
            g = xp.expand_dims(g, ctx.axes)
        return mask * (g / count)


class Max(_Extreme):
    name = "max"
    reduce_name = "max"


class Min(_Extreme):
    name = "min"
    reduce_name = "min"


class Var(Function):
    """Variance with ``ddof`` (0 = population variance, NumPy's default)."""

    def forward(ctx, x, axis=None, keepdims=False, ddof=0):
        axes = normalize_axis(axis, x.ndim)
        d = x - x.mean(axis=axes, keepdims=True)
        n = _count(x.shape, axes) - ddof
        if n <= 0:
            raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {_count(x.shape, axes)} values")
        ctx.save_for_backward(d)
        ctx.axes, ctx.keepdims, ctx.n = axes, keepdims, n
        return (d * d).sum(axis=axes, keepdims=keepdims) / n

    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        xp = get_array_module(g)
        if not ctx.keepdims and ctx.axes:
            g = xp.expand_dims(g, ctx.axes)
        return (2.0 / ctx.n) * g * d


class LogSumExp(Function):
    """``log(sum(exp(x)))`` computed with the max shifted out (never overflows)."""

    def forward(ctx, x, axis=None, keepdims=False):
        xp = get_array_module(x)
        axes = normalize_axis(axis, x.ndim)
        m = x.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp = get_array_module(g)
        if not ctx.keepdims and ctx.axes:
            g = xp.expand_dims(g, ctx.axes)
        return g * xp.exp(x - out)


# ----------------------------------------------------------- functional API
def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    return Sum.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes when None)."""
    return Mean.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Largest value over ``axis``; see :func:`maximum` for two tensors."""
    return Max.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Smallest value over ``axis``; see :func:`minimum` for two tensors."""
    return Min.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (NumPy's convention)."""
    return Var.apply(as_tensor(x), axis=axis, keepdims=keepdims, ddof=ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation, ``sqrt(var(x))``."""
    from ngrad.ops.elementwise import Sqrt

    return Sqrt.apply(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))`` without overflow."""
    return LogSumExp.apply(as_tensor(x), axis=axis, keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value (an integer tensor; not differentiable)."""
    from ngrad.tensor import _wrap

    x = as_tensor(x)
    return _wrap(x.data.argmax(axis=axis, keepdims=keepdims), False, None)


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value (an integer tensor; not differentiable)."""
    from ngrad.tensor import _wrap

    x = as_tensor(x)
    return _wrap(x.data.argmin(axis=axis, keepdims=keepdims), False, None)
