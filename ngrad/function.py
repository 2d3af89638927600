"""``Function``: how every differentiable op is written, and the backward walk.

An op is a subclass of :class:`Function` with ``forward`` and ``backward`` side
by side. ``forward`` receives plain arrays (NumPy or CuPy) and returns an
array; ``backward`` receives the gradient of the output and returns one
gradient per positional input (``None`` where an input needs none). The engine
sums gradients over broadcast axes and casts them to each input's dtype, so a
``backward`` may return a gradient in the broadcast output shape.

Examples
--------
>>> import ngrad
>>> class Cube(ngrad.Function):
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     def backward(ctx, grad):
...         (x,) = ctx.saved_tensors
...         return 3 * x ** 2 * grad
>>> x = ngrad.tensor([2.0], requires_grad=True)
>>> Cube.apply(x).sum().backward()
>>> x.grad.numpy()
array([12.], dtype=float32)
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.errors import ShapeError

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad`."""
    return _grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.prev = None

    def __enter__(self):
        global _grad_enabled
        self.prev, _grad_enabled = _grad_enabled, self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Run ops without recording a graph (inference, parameter updates).

    >>> import ngrad
    >>> x = ngrad.ones(2, requires_grad=True)
    >>> with ngrad.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn graph recording back on inside a :class:`no_grad` block."""

    def __init__(self):
        super().__init__(True)


class Function:
    """Base class of every differentiable op.

    Subclasses define ``forward(ctx, *arrays, **params)`` and
    ``backward(ctx, grad)``; both may be plain methods or ``@staticmethod``
    (PyTorch style). Call an op with :meth:`apply`. Inside them ``ctx`` is the
    op's node in the graph: use :meth:`save_for_backward` or plain attributes
    to keep what ``backward`` needs, and ``ctx.needs_input_grad`` to skip
    gradients nobody asked for.
    """

    #: shown in error messages; defaults to the lower-cased class name
    name: str | None = None

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on ``inputs`` (Tensors or constants) and record it.

        Keyword arguments are passed to ``forward`` as non-differentiable
        parameters (axis, shape, ...). Returns a :class:`~ngrad.Tensor`.
        """
        ctx = cls.__new__(cls)
        Tensor_ = Tensor
        needs = tuple(isinstance(x, Tensor_) and x.requires_grad for x in inputs)
        ctx.needs_input_grad = needs
        arrays = [x.data if isinstance(x, Tensor_) else x for x in inputs]
        try:
            out = cls.forward(ctx, *arrays, **params)
        except ShapeError:
            raise
        except ValueError as e:
            raise _shape_error(cls, inputs, e) from e
        if _grad_enabled and True in needs:
            ctx._inputs = inputs
            return _wrap(out, True, ctx)
        return _wrap(out, False, None)


def _op_name(cls) -> str:
    return cls.name or cls.__name__.lower()


def _shape_error(cls, inputs, err) -> ShapeError:
    shapes = " and ".join(str(tuple(getattr(x, "shape", ()))) for x in inputs)
    return ShapeError(f"{_op_name(cls)}: {err} (input shapes {shapes})")


_FREED = (
    "Trying to backward through the graph a second time (or after its saved "
    "arrays were freed). Pass retain_graph=True to the first backward() if you "
    "need to backward through the same graph again."
)


def _topological_order(root):
    """Tensors reachable from ``root`` that need a gradient, parents first.

    Iterative depth-first post-order, so a chain of 100,000 ops does not
    touch Python's recursion limit.
    """
    order = []
    visited = {id(root)}
    stack = [(root, 0)]
    while stack:
        t, i = stack[-1]
        ctx = t._ctx
        if ctx is None:
            stack.pop()
            order.append(t)
            continue
        inputs = ctx.__dict__.get("_inputs")
        if inputs is None:
            raise RuntimeError(_FREED)
        needs = ctx.needs_input_grad
        while i < len(inputs) and (not needs[i] or id(inputs[i]) in visited):
            i += 1
        if i < len(inputs):
            stack[-1] = (t, i + 1)
            visited.add(id(inputs[i]))
            stack.append((inputs[i], 0))
        else:
            stack.pop()
            order.append(t)
    return order


def run_backward(root, grad, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (an array shaped like ``root``) to every leaf.

    Gradients of tensors used more than once are summed; leaves (and tensors
    that called ``retain_grad()``) get them in ``.grad``. Unless
    ``retain_graph``, each node's saved arrays are freed once it has run.
    """
    order = _topological_order(root)
    grads = {id(root): grad}
    handed_out = set()  # ids of arrays already stored in some .grad
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        ctx = t._ctx
        if ctx is None or t._retain:
            _store_grad(t, g, handed_out)
        if ctx is None:
            continue
        in_grads = type(ctx).backward(ctx, g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,) if not isinstance(in_grads, list) else tuple(in_grads)
        inputs, needs = ctx._inputs, ctx.needs_input_grad
        if len(in_grads) != len(inputs):
            raise RuntimeError(
                f"{_op_name(type(ctx))}.backward returned {len(in_grads)} gradients "
                f"for {len(inputs)} inputs"
            )
        for x, gx, need in zip(inputs, in_grads, needs):
            if not need or gx is None:
                continue
            xd = x.data
            if gx.shape != xd.shape:
                gx = _unbroadcast(gx, xd.shape, ctx)
            if gx.dtype != xd.dtype:
                gx = gx.astype(xd.dtype)
            prev = grads.get(id(x))
            grads[id(x)] = gx if prev is None else prev + gx
        if not retain_graph:
            needs_keep = ctx.needs_input_grad
            ctx.__dict__.clear()
            ctx.needs_input_grad = needs_keep


def _store_grad(t, g, handed_out):
    """Accumulate ``g`` into ``t.grad`` with an array nobody else holds."""
    if t.grad is None:
        if id(g) in handed_out or not g.flags.writeable:
            g = get_array_module(g).array(g)  # an owned, writeable copy
        handed_out.add(id(g))
        t.grad = _wrap(g, False, None)
    else:
        t.grad = _wrap(t.grad.data + g, False, None)


def _unbroadcast(g, shape, ctx):
    """Sum ``g`` over the axes that broadcasting added to reach ``shape``."""
    extra = g.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(
            f"{_op_name(type(ctx))}.backward returned a gradient of shape {g.shape} "
            f"for an input of shape {tuple(shape)}"
        )
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != tuple(shape):
        raise RuntimeError(
            f"{_op_name(type(ctx))}.backward returned a gradient of shape {g.shape} "
            f"for an input of shape {tuple(shape)}"
        )
    return g


# Bound at the bottom to break the import cycle tensor <-> function.
from ngrad.tensor import Tensor, _wrap  # noqa: E402
