"""Elementwise arithmetic: add, sub, mul, div, neg, pow, exp, log, sqrt, abs,
maximum, minimum, clip, where, cast.

All binary ops broadcast like NumPy; the engine sums each gradient back to
its input's shape, so backwards here return gradients in the output shape.
"""
from __future__ import annotations

import numpy

from ngrad.backend import get_array_module
from ngrad.function import Function
from ngrad.ops._util import as_tensor, const_or_tensor


class Add(Function):
    def forward(ctx, a, b):
        return a + b

    def backward(ctx, g):
        return g, g


class Sub(Function):
    def forward(ctx, a, b):
        return a - b

    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    def forward(ctx, a, b):
        ctx.saved_tensors = (a, b)  # save_for_backward, without the call: the hottest op
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    def backward(ctx, g):
        b, out = ctx.saved_tensors
        ga = g / b
        gb = -ga * out if ctx.needs_input_grad[1] else None
        return (ga if ctx.needs_input_grad[0] else None), gb


class Neg(Function):
    def forward(ctx, a):
        return -a

    def backward(ctx, g):
        return -g


class Pow(Function):
    """``a ** b``; the gradient in ``b`` is defined for positive ``a`` (0 elsewhere)."""

    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = g * b * a ** (b - 1) if na else None
        gb = None
        if nb:
            xp = get_array_module(a)
            pos = a > 0
            gb = g * out * xp.log(xp.where(pos, a, 1)) * pos
        return ga, gb


class Exp(Function):
    def forward(ctx, a):
        out = get_array_module(a).exp(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return get_array_module(a).log(a)

    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    def forward(ctx, a):
        out = get_array_module(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return get_array_module(a).abs(a)

    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * get_array_module(a).sign(a)


def _tie_weight(a, b, strict, dtype):
    """Share of the gradient going to ``a``: 1 where ``strict``, 1/2 on ties."""
    w = strict.astype(dtype)
    w[a == b] = 0.5
    return w


class Maximum(Function):
    """Elementwise maximum; on ties the gradient is split equally (as PyTorch)."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_array_module(a, b).maximum(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        w = _tie_weight(a, b, get_array_module(a, b).greater(a, b), g.dtype)
        return g * w, g * (1 - w)


class Minimum(Function):
    """Elementwise minimum; on ties the gradient is split equally (as PyTorch)."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_array_module(a, b).minimum(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        w = _tie_weight(a, b, get_array_module(a, b).less(a, b), g.dtype)
        return g * w, g * (1 - w)


class Clip(Function):
    """Clamp to ``[lo, hi]``; the gradient passes where ``lo <= a <= hi``."""

    def forward(ctx, a, lo=None, hi=None):
        ctx.save_for_backward(a)
        ctx.lo, ctx.hi = lo, hi
        if lo is None and hi is None:
            return a.copy()
        return get_array_module(a).clip(a, lo, hi)

    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        mask = True
        if ctx.lo is not None:
            mask = a >= ctx.lo
        if ctx.hi is not None:
            mask = mask & (a <= ctx.hi)
        return g * mask if mask is not True else g


class Where(Function):
    """``cond ? a : b``; ``cond`` is a boolean array (not differentiable)."""

    def forward(ctx, a, b, cond=None):
        xp = get_array_module(a, b, cond)
        ctx.cond = cond
        return xp.where(cond, a, b)

    def backward(ctx, g):
        xp = get_array_module(g)
        na, nb = ctx.needs_input_grad
        zero = xp.zeros((), dtype=g.dtype)
        ga = xp.where(ctx.cond, g, zero) if na else None
        gb = xp.where(ctx.cond, zero, g) if nb else None
        return ga, gb


class Cast(Function):
    """Change the floating dtype; the engine casts the gradient back."""

    def forward(ctx, a, dtype=None):
        return a.astype(dtype)

    def backward(ctx, g):
        return g


# ----------------------------------------------------------- functional API
def add(a, b):
    """``a + b`` with broadcasting."""
    return Add.apply(*const_or_tensor(a, b))


def sub(a, b):
    """``a - b`` with broadcasting."""
    return Sub.apply(*const_or_tensor(a, b))


def mul(a, b):
    """``a * b`` with broadcasting."""
    return Mul.apply(*const_or_tensor(a, b))


def div(a, b):
    """``a / b`` with broadcasting."""
    return Div.apply(*const_or_tensor(a, b))


def neg(a):
    return Neg.apply(as_tensor(a))


def pow(a, b):  # noqa: A001 - mirrors numpy.power / torch.pow
    """``a ** b``; ``b`` may be a number or a tensor."""
    return Pow.apply(*const_or_tensor(a, b))


def exp(a):
    return Exp.apply(as_tensor(a))


def log(a):
    """Natural logarithm."""
    return Log.apply(as_tensor(a))


def sqrt(a):
    return Sqrt.apply(as_tensor(a))


def abs(a):  # noqa: A001
    return Abs.apply(as_tensor(a))


def maximum(a, b):
    """Elementwise maximum of two tensors (or a tensor and a number)."""
    return Maximum.apply(*const_or_tensor(a, b))


def minimum(a, b):
    """Elementwise minimum of two tensors (or a tensor and a number)."""
    return Minimum.apply(*const_or_tensor(a, b))


def clip(a, min=None, max=None):  # noqa: A002
    """Clamp values to ``[min, max]`` (either bound may be ``None``)."""
    return Clip.apply(as_tensor(a), lo=min, hi=max)


def where(cond, a, b):
    """Pick ``a`` where ``cond`` is true, else ``b`` (both broadcast)."""
    from ngrad.tensor import _plain

    cond = _plain(cond)
    xp = get_array_module(cond)
    cond = xp.asarray(cond)
    if cond.dtype != numpy.bool_:
        cond = cond.astype(bool)
    a, b = const_or_tensor(a, b)
    return Where.apply(a, b, cond=cond)


def cast(a, dtype):
    """``a`` converted to ``dtype``; differentiable when both dtypes are floating."""
    from ngrad.tensor import _wrap

    a = as_tensor(a)
    dt = numpy.dtype(dtype)
    if dt == a.dtype:
        return a
    if dt.kind != "f":
        return _wrap(a.data.astype(dt), False, None)
    return Cast.apply(a, dtype=dt)
