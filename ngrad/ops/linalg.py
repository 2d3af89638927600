"""Matrix products: ``matmul`` with NumPy's rules (1-D operands, batched stacks)."""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops._util import const_or_tensor


def _check_matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must be at least 1-d, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(
            f"matmul: inner dimensions differ: {a.shape} @ {b.shape} "
            f"({k_a} columns against {k_b} rows)"
        )


class MatMul(Function):
    """``a @ b``. Shapes: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands as NumPy."""

    def forward(ctx, a, b):
        try:
            # ndarray.dot: the same BLAS product as @ for 2-D operands, with less per-call overhead
            out = a.dot(b) if a.ndim == 2 and b.ndim == 2 else a @ b
        except ValueError:
            _check_matmul(a, b)  # names the shapes that do not fit
            raise
        ctx.save_for_backward(a, b)
        return out

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common dense-layer case
            return (g.dot(b.T) if na else None), (a.T.dot(g) if nb else None)
        xp = get_array_module(g)
        if a.ndim == 1 and b.ndim == 1:  # dot product, g is 0-d
            return (g * b if na else None), (g * a if nb else None)
        a2 = a[None, :] if a.ndim == 1 else a  # (1, k)
        b2 = b[:, None] if b.ndim == 1 else b  # (k, 1)
        g2 = g
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if na:
            ga = g2 @ xp.swapaxes(b2, -1, -2)  # (..., n, k)
            ga = _sum_to(ga, a2.shape, xp).reshape(a.shape)
        if nb:
            gb = xp.swapaxes(a2, -1, -2) @ g2  # (..., k, m)
            gb = _sum_to(gb, b2.shape, xp).reshape(b.shape)
        return ga, gb


def _sum_to(g, shape, xp):
    """Sum the broadcast batch axes of ``g`` down to ``shape``."""
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape[:-2]) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def matmul(a, b):
    """Matrix product ``a @ b`` (batched over leading axes, NumPy's 1-D rules)."""
    return MatMul.apply(*const_or_tensor(a, b))
