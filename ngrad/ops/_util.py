"""Small helpers shared by the op families."""
from __future__ import annotations

from ngrad.tensor import Tensor, _operand, _to_array, _wrap


def as_tensor(x) -> Tensor:
    """``x`` if it is a Tensor, else a constant Tensor around its data (no copy when possible)."""
    if isinstance(x, Tensor):
        return x
    return _wrap(_to_array(x, copy=False), False, None)


def const_or_tensor(a, b):
    """Make the operands of a binary op: Tensors stay, the other becomes a constant of matching dtype."""
    if isinstance(a, Tensor):
        return a, _operand(b, a)
    if isinstance(b, Tensor):
        return _operand(a, b), b
    a = as_tensor(a)
    return a, _operand(b, a)


def normalize_axis(axis, ndim: int):
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for ax in axis:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for a {ndim}-d tensor")
        out.append(ax % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def expand_reduced(g, shape, axes, keepdims, xp):
    """Broadcast a reduction's gradient ``g`` back to the input ``shape``."""
    if not keepdims and axes:
        g = xp.expand_dims(g, axes)
    return xp.broadcast_to(g, shape)
