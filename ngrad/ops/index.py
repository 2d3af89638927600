"""Indexing and slicing: ``x[index]`` for basic and integer-array indices.

Basic indices (ints, slices, ``None``, ``...``) and boolean masks select each
element at most once, so backward writes the gradient into a zero array.
Integer-array indices may repeat an element (``W[[0, 0, 1]]``, embedding
look-ups), so backward scatter-adds.
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops._util import as_tensor


def plain_index(index):
    """Replace Tensors inside an index by their arrays."""
    from ngrad.tensor import Tensor

    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _has_int_array(index) -> bool:
    """True when the index contains an integer array or list (may repeat elements)."""
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        if isinstance(p, list):
            return True
        if getattr(p, "ndim", 0) > 0 and p.dtype.kind in "iu":
            return True
    return False


class GetItem(Function):
    name = "getitem"

    def forward(ctx, x, index=None):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        try:
            return x[index]
        except IndexError as e:
            raise ShapeError(f"getitem: {e} (tensor shape {x.shape})") from e

    def backward(ctx, g):
        xp = get_array_module(g)
        gx = xp.zeros(ctx.shape, dtype=g.dtype)
        if _has_int_array(ctx.index):
            xp.add.at(gx, ctx.index, g)
        else:
            gx[ctx.index] = g
        return gx


def getitem(x, index):
    """``x[index]``, differentiable."""
    x = as_tensor(x)
    return GetItem.apply(x, index=plain_index(index))
