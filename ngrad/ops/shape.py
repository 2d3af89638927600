"""Shape ops: reshape, transpose/permute, broadcast_to/expand, squeeze,
unsqueeze, flatten, concatenate, stack, split, pad.

None of them computes anything: their backward puts the gradient back in the
input's layout (reshaping, inverse permutation, summing broadcast axes,
slicing).
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops._util import as_tensor, normalize_axis


def _shape_arg(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        return tuple(shape[0])
    return tuple(shape)


class Reshape(Function):
    def forward(ctx, x, shape=None):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Transpose(Function):
    def forward(ctx, x, axes=None):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, g):
        if ctx.axes is None:
            return g.transpose()
        xp = get_array_module(g)
        return g.transpose(tuple(xp.argsort(xp.asarray(ctx.axes)).tolist()))


class BroadcastTo(Function):
    def forward(ctx, x, shape=None):
        return get_array_module(x).broadcast_to(x, shape)

    def backward(ctx, g):
        return g  # the engine sums the broadcast axes away


class Concatenate(Function):
    """Join tensors along an existing axis. Shapes must agree off ``axis``."""

    def forward(ctx, *xs, axis=0):
        xp = get_array_module(*xs)
        ctx.axis = axis
        ctx.sizes = [x.shape[axis] for x in xs]
        return xp.concatenate(xs, axis=axis)

    def backward(ctx, g):
        xp = get_array_module(g)
        cuts = []
        total = 0
        for n in ctx.sizes[:-1]:
            total += n
            cuts.append(total)
        return tuple(xp.split(g, cuts, axis=ctx.axis))


class Stack(Function):
    """Join same-shaped tensors along a new axis."""

    def forward(ctx, *xs, axis=0):
        xp = get_array_module(*xs)
        ctx.axis = axis
        return xp.stack(xs, axis=axis)

    def backward(ctx, g):
        xp = get_array_module(g)
        n = g.shape[ctx.axis]
        return tuple(xp.squeeze(p, axis=ctx.axis) for p in xp.split(g, n, axis=ctx.axis))


class Pad(Function):
    """Constant padding with NumPy's ``pad_width`` convention."""

    def forward(ctx, x, pad_width=None, value=0.0):
        xp = get_array_module(x)
        ctx.slices = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return xp.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(ctx, g):
        return g[ctx.slices]


# ----------------------------------------------------------- functional API
def reshape(x, *shape):
    """Same data in a new shape (one axis may be -1)."""
    return Reshape.apply(as_tensor(x), shape=_shape_arg(shape))


def transpose(x, *axes):
    """Permute axes (all reversed when none are given)."""
    axes = _shape_arg(axes) if axes else None
    x = as_tensor(x)
    if axes is not None and sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose.apply(x, axes=axes)


permute = transpose


def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    x = as_tensor(x)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose.apply(x, axes=tuple(axes))


def broadcast_to(x, *shape):
    """Repeat size-1 (or missing leading) axes to reach ``shape`` without copying."""
    x = as_tensor(x)
    shape = _shape_arg(shape)
    # torch.expand's -1 means "keep this axis"
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    return BroadcastTo.apply(x, shape=shape)


expand = broadcast_to


def squeeze(x, axis=None):
    """Drop size-1 axes (all of them, or the ones named)."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim) if axis is not None else tuple(i for i, n in enumerate(x.shape) if n == 1)
    for ax in axes:
        if x.shape[ax] != 1:
            raise ShapeError(f"squeeze: axis {ax} has size {x.shape[ax]}, not 1 (shape {x.shape})")
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis):
    """Insert a size-1 axis at ``axis``."""
    x = as_tensor(x)
    nd = x.ndim + 1
    if not -nd <= axis < nd:
        raise ShapeError(f"unsqueeze: axis {axis} is out of range for a result with {nd} axes")
    shape = list(x.shape)
    shape.insert(axis % nd, 1)
    return Reshape.apply(x, shape=tuple(shape))


def flatten(x, start_axis=0, end_axis=-1):
    """Merge axes ``start_axis..end_axis`` (inclusive) into one."""
    x = as_tensor(x)
    if x.ndim == 0:
        return Reshape.apply(x, shape=(1,))
    s, e = start_axis % x.ndim, end_axis % x.ndim
    if s > e:
        raise ShapeError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for shape {x.shape}")
    n = 1
    for d in x.shape[s : e + 1]:
        n *= d
    return Reshape.apply(x, shape=x.shape[:s] + (n,) + x.shape[e + 1 :])


def _check_join(op, xs, axis, same_shape):
    if not xs:
        raise ValueError(f"{op}: needs at least one tensor")
    ref = xs[0].shape
    for t in xs[1:]:
        if same_shape and t.shape != ref:
            raise ShapeError(f"{op}: all tensors must have the same shape, got {ref} and {t.shape}")
        if not same_shape:
            if t.ndim != len(ref):
                raise ShapeError(f"{op}: tensors must have the same number of axes, got {ref} and {t.shape}")
            ax = axis % len(ref)
            if any(a != b for i, (a, b) in enumerate(zip(ref, t.shape)) if i != ax):
                raise ShapeError(f"{op}: shapes {ref} and {t.shape} differ off axis {axis}")


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    xs = [as_tensor(t) for t in tensors]
    _check_join("concatenate", xs, axis, same_shape=False)
    return Concatenate.apply(*xs, axis=axis)


cat = concatenate


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis."""
    xs = [as_tensor(t) for t in tensors]
    _check_join("stack", xs, axis, same_shape=True)
    return Stack.apply(*xs, axis=axis)


def split(x, indices_or_sections, axis=0):
    """Split like ``numpy.split``: into N equal parts, or at the given indices.

    Returns a list of tensors; each is a slice of ``x`` and differentiable.
    """
    x = as_tensor(x)
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise ShapeError(f"split: axis {axis} of size {n} does not divide into {k} equal parts")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0, *indices_or_sections, n]
    lead = (slice(None),) * (axis % x.ndim)
    return [x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


def pad(x, pad_width, value=0.0):
    """Pad with a constant; ``pad_width`` as ``numpy.pad`` (int, pair, or one pair per axis)."""
    x = as_tensor(x)
    xp = get_array_module(x.data)
    pw = xp.broadcast_to(xp.asarray(pad_width, dtype=int), (x.ndim, 2)) if x.ndim else ()
    pw = tuple((int(a), int(b)) for a, b in pw)
    if any(a < 0 or b < 0 for a, b in pw):
        raise ShapeError(f"pad: pad widths must be non-negative, got {pad_width}")
    return Pad.apply(x, pad_width=pw, value=value)
