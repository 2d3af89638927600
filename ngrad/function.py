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

    def __init__(self):  # set directly: entered once per inference call
        self.mode = False
        self.prev = None


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
        # The hot path of every op: kept flat, with no generator or helper calls;
        # one or two tensors and no parameters (relu(a), a + b, a @ b) go straight through.
        ctx = _new(cls)
        n = len(inputs)
        try:
            if n == 2 and not params:
                a, b = inputs
                if isinstance(a, Tensor) and isinstance(b, Tensor):
                    ctx.needs_input_grad = needs = [a.requires_grad, b.requires_grad]
                    out = cls.forward(ctx, a.data, b.data)
                else:
                    needs = _needs(ctx, inputs)
                    out = cls.forward(ctx, *[x.data if isinstance(x, Tensor) else x for x in inputs])
            elif n == 1 and not params and isinstance(inputs[0], Tensor):
                a = inputs[0]
                ctx.needs_input_grad = needs = [a.requires_grad]
                out = cls.forward(ctx, a.data)
            else:
                needs = _needs(ctx, inputs)
                arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
                out = cls.forward(ctx, *arrays, **params) if params else cls.forward(ctx, *arrays)
        except ShapeError:
            raise
        except ValueError as e:
            raise _shape_error(cls, inputs, e) from e
        t = _new(Tensor)
        t.data = out
        t.grad = None
        t._retain = False
        if _grad_enabled and True in needs:
            ctx._inputs = inputs
            t.requires_grad = True
            t._ctx = ctx
        else:
            t.requires_grad = False
            t._ctx = None
        return t


_new = object.__new__


def _needs(ctx, inputs) -> list:
    """``ctx.needs_input_grad``: for each input, whether it is a tensor that requires grad."""
    ctx.needs_input_grad = needs = [isinstance(x, Tensor) and x.requires_grad for x in inputs]
    return needs


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
        try:
            inputs = ctx._inputs
        except AttributeError:
            raise RuntimeError(_FREED) from None
        needs = ctx.needs_input_grad
        n = len(inputs)
        while i < n and (not needs[i] or id(inputs[i]) in visited):
            i += 1
        if i < n:
            stack[-1] = (t, i + 1)
            x = inputs[i]
            visited.add(id(x))
            stack.append((x, 0))
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
    owned = set()  # keys whose summed gradient is an array made here (no one else holds it)
    for t in reversed(order):
        key = id(t)
        g = grads.pop(key, None)
        owned.discard(key)
        if g is None:
            continue
        ctx = t._ctx
        if ctx is None:
            _store_grad(t, g, handed_out)
            continue
        if t._retain:
            _store_grad(t, g, handed_out)
        in_grads = type(ctx).backward(ctx, g)
        if type(in_grads) is not tuple:
            in_grads = tuple(in_grads) if isinstance(in_grads, list) else (in_grads,)
        inputs = ctx._inputs
        if len(in_grads) != len(inputs):
            raise RuntimeError(
                f"{_op_name(type(ctx))}.backward returned {len(in_grads)} gradients "
                f"for {len(inputs)} inputs"
            )
        for x, gx, need in zip(inputs, in_grads, ctx.needs_input_grad):
            if not need or gx is None:
                continue
            xd = x.data
            if gx.shape != xd.shape:
                gx = _unbroadcast(gx, xd.shape, ctx)
            if gx.dtype != xd.dtype:
                gx = gx.astype(xd.dtype)
            key = id(x)
            prev = grads.get(key)
            if prev is None:
                grads[key] = gx
            elif key in owned:
                prev += gx  # an array this walk made: add in place (0-d results are scalars: rebind)
                grads[key] = prev
            else:
                grads[key] = prev + gx
                owned.add(key)
        if not retain_graph:
            ctx.__dict__.clear()  # frees saved arrays; a second backward raises _FREED


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
