"""Activations: sigmoid, tanh, relu, leaky_relu, elu, softplus, softmax, log_softmax.

Each is written to stay finite for finite inputs of any magnitude: sigmoid
and softplus go through ``exp(-|x|)``, softmax and log_softmax shift out the
max, elu never evaluates ``exp`` of a large positive number.
"""
from __future__ import annotations

import numpy

from ngrad import function as _function
from ngrad.backend import get_array_module, numba_kernels
from ngrad.function import Function
from ngrad.ops._util import as_tensor
from ngrad.tensor import Tensor, _wrap

# Below this many elements NumPy's call is as cheap as the compiled kernel's dispatch.
RELU_KERNEL_MIN_SIZE = 4096


def stable_sigmoid(x, xp):
    """``1 / (1 + exp(-x))`` without overflow: both branches through ``e = exp(-|x|)``."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    def forward(ctx, x):
        out = stable_sigmoid(x, get_array_module(x))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return g * s * (1 - s)


class Tanh(Function):
    def forward(ctx, x):
        out = get_array_module(x).tanh(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        return g * (1 - t * t)


class ReLU(Function):
    name = "relu"

    def forward(ctx, x):
        out = relu_forward_array(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return relu_backward_array(g, out)


# 0-d zeros of each float dtype: NumPy's maximum against one is cheaper than against the Python
# int 0 (no scalar conversion on every call), a third of a small array's ReLU.
_ZEROS = {numpy.dtype(t): numpy.zeros((), dtype=t) for t in ("float16", "float32", "float64")}


def relu_forward_array(x):
    """``maximum(x, 0)`` of an array (NaN stays NaN); compiled for large float arrays."""
    if type(x) is numpy.ndarray and x.size < RELU_KERNEL_MIN_SIZE:
        zero = _ZEROS.get(x.dtype)
        return numpy.maximum(x, 0 if zero is None else zero)
    k = _relu_kernels(x)
    if k is None:
        return get_array_module(x).maximum(x, 0)
    out = numpy.empty_like(x)  # one pass instead of NumPy's maximum, same values
    k.relu_forward(x.ravel(), out.ravel())
    return out


def relu_backward_array(g, out):
    """``g * (out > 0)`` for the forward's output ``out`` (an infinite or NaN g where off gives NaN)."""
    k = _relu_kernels(g, out)
    if k is None:
        return g * (out > 0)
    gx = numpy.empty_like(out)
    k.relu_backward(g.ravel(), out.ravel(), gx.ravel())
    return gx


def _relu_kernels(a, b=None):
    """The compiled ReLU kernels when they can take these arrays (NumPy, C-contiguous, one float
    dtype and shape, at least RELU_KERNEL_MIN_SIZE elements), else None."""
    if type(a) is not numpy.ndarray or a.size < RELU_KERNEL_MIN_SIZE or a.dtype.char not in "fd":
        return None
    if not a.flags.c_contiguous:
        return None
    if b is not None and (type(b) is not numpy.ndarray or b.dtype != a.dtype or b.shape != a.shape
                          or not b.flags.c_contiguous):
        return None
    return numba_kernels("ops._numba_act")


class LeakyReLU(Function):
    name = "leaky_relu"

    def forward(ctx, x, negative_slope=0.01):
        xp = get_array_module(x)
        pos = x > 0
        ctx.save_for_backward(pos)
        ctx.slope = negative_slope
        return xp.where(pos, x, x * negative_slope)

    def backward(ctx, g):
        (pos,) = ctx.saved_tensors
        return get_array_module(g).where(pos, g, g * ctx.slope)


class ELU(Function):
    name = "elu"

    def forward(ctx, x, alpha=1.0):
        xp = get_array_module(x)
        pos = x > 0
        out = xp.where(pos, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(pos, out)
        ctx.alpha = alpha
        return out

    def backward(ctx, g):
        pos, out = ctx.saved_tensors
        return get_array_module(g).where(pos, g, g * (out + ctx.alpha))


class Softplus(Function):
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``."""

    def forward(ctx, x):
        xp = get_array_module(x)
        ctx.save_for_backward(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * stable_sigmoid(x, get_array_module(x))


def softmax_array(x, axis, xp):
    """Softmax of an array along ``axis`` with the max shifted out."""
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_array(x, axis, xp):
    """Log-softmax of an array along ``axis`` via log-sum-exp."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


class Softmax(Function):
    def forward(ctx, x, axis=-1):
        out = softmax_array(x, axis, get_array_module(x))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return s * (g - (g * s).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    name = "log_softmax"

    def forward(ctx, x, axis=-1):
        out = log_softmax_array(x, axis, get_array_module(x))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        xp = get_array_module(g)
        return g - xp.exp(out) * g.sum(axis=ctx.axis, keepdims=True)


# ----------------------------------------------------------- functional API
def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, stable for large ``|x|``."""
    return Sigmoid.apply(as_tensor(x))


def tanh(x):
    return Tanh.apply(as_tensor(x))


def relu(x):
    """``max(x, 0)``; gradient 0 at 0 (as PyTorch)."""
    if not _function._grad_enabled and type(x) is Tensor:  # inference: the array alone, no graph node
        return _wrap(relu_forward_array(x.data), False, None)
    return ReLU.apply(as_tensor(x))


def leaky_relu(x, negative_slope=0.01):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    return LeakyReLU.apply(as_tensor(x), negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return ELU.apply(as_tensor(x), alpha=alpha)


def softplus(x):
    """``log(1 + exp(x))``, stable for large ``|x|``."""
    return Softplus.apply(as_tensor(x))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``."""
    return Softmax.apply(as_tensor(x), axis=axis)


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, via log-sum-exp."""
    return LogSoftmax.apply(as_tensor(x), axis=axis)
