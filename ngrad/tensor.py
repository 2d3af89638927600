"""``Tensor``: an array (NumPy or CuPy) that remembers how it was made.

A tensor holds its array in ``.data``. When it ``requires_grad``, every op on
it records a node (a :class:`~ngrad.Function` instance, ``.grad_fn``) so that
:meth:`Tensor.backward` can walk the graph in reverse and leave gradients in
the leaves' ``.grad``.

Floating data gets the default dtype (float32; see
``ngrad.set_default_dtype``) unless ``dtype=`` says otherwise; integer and
boolean data keep their kind (labels, indices, masks).
"""
from __future__ import annotations

import numpy

from ngrad import backend
from ngrad.errors import DTypeError


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Parameters
    ----------
    data : array_like or Tensor
        Copied into a new array.
    dtype : dtype, optional
        Defaults to ``ngrad.get_default_dtype()`` for floating data.
    requires_grad : bool
        Record ops on this tensor so gradients can flow back to it.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain", "__weakref__", "__dict__")
    __array_ufunc__ = None  # make ndarray (op) Tensor defer to Tensor's reflected operators

    def __init__(self, data, dtype=None, requires_grad=False):
        self.data = _to_array(data, dtype, copy=True)
        self.grad = None
        self.requires_grad = False
        self._ctx = None
        self._retain = False
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op node that produced this tensor, or ``None`` for leaves."""
        return self._ctx

    @property
    def T(self) -> "Tensor":
        """All axes reversed (the matrix transpose for 2-D tensors)."""
        return _sh.transpose(self)

    # --------------------------------------------------------- conversions
    def numpy(self):
        """The data as a NumPy array (a view for NumPy data; copied from a GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors convert to a Python number, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data.item())

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__  # __eq__ is elementwise, identity stays the hash

    def __repr__(self):
        body = numpy.array2string(self.numpy(), separator=", ", prefix="tensor(", threshold=200)
        extra = ""
        if self.dtype not in (backend.get_default_dtype(), numpy.dtype(numpy.int64), numpy.dtype(numpy.bool_)):
            extra += f", dtype={self.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (only leaves; only floating dtypes)."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise DTypeError(
                f"only floating-point tensors can require gradients, this one is {self.dtype}; "
                f"convert it first, e.g. t.astype(ngrad.float32)"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) works on leaves only; use .detach() for the others")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        self._retain = True
        return self

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph."""
        return _wrap(self.data, False, None)

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf.

        Parameters
        ----------
        gradient : array_like or Tensor, optional
            d(something)/d(self), shaped like ``self``. Required unless this
            tensor has exactly one element.
        retain_graph : bool
            Keep the saved arrays so backward can run through the graph again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph; "
                "create its inputs with requires_grad=True (and not inside ngrad.no_grad())"
            )
        xp = backend.get_array_module(self.data)
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for one-element outputs, "
                    f"this one has shape {self.shape}; pass gradient= of that shape"
                )
            g = xp.ones(self.shape, dtype=self.dtype)
        else:
            g = gradient.data if isinstance(gradient, Tensor) else xp.asarray(gradient, dtype=self.dtype)
            if g.shape != self.shape:
                raise ValueError(f"backward(): gradient has shape {g.shape}, expected {self.shape}")
        run_backward(self, g, retain_graph=retain_graph)

    # -------------------------------------------------------------- dtype
    def astype(self, dtype) -> "Tensor":
        """A copy cast to ``dtype``; differentiable between floating dtypes."""
        return _ew.cast(self, dtype)

    to = astype

    def float(self) -> "Tensor":
        return _ew.cast(self, numpy.float32)

    def double(self) -> "Tensor":
        return _ew.cast(self, numpy.float64)

    # ---------------------------------------------------------- operators
    def __add__(self, other):
        return _add(self, other if isinstance(other, Tensor) else _operand(other, self))

    def __radd__(self, other):
        return _add(_operand(other, self), self)

    def __sub__(self, other):
        return _sub(self, other if isinstance(other, Tensor) else _operand(other, self))

    def __rsub__(self, other):
        return _sub(_operand(other, self), self)

    def __mul__(self, other):
        return _mul(self, other if isinstance(other, Tensor) else _operand(other, self))

    def __rmul__(self, other):
        return _mul(_operand(other, self), self)

    def __truediv__(self, other):
        return _div(self, other if isinstance(other, Tensor) else _operand(other, self))

    def __rtruediv__(self, other):
        return _div(_operand(other, self), self)

    def __pow__(self, other):
        return _pow(self, other if isinstance(other, Tensor) else _operand(other, self))

    def __rpow__(self, other):
        return _pow(_operand(other, self), self)

    def __matmul__(self, other):
        return _matmul(self, other if isinstance(other, Tensor) else _operand(other, self))

    def __rmatmul__(self, other):
        return _matmul(_operand(other, self), self)

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs.apply(self)

    # comparisons: elementwise, boolean, never differentiable
    def __lt__(self, other):
        return _wrap(self.data < _plain(other), False, None)

    def __le__(self, other):
        return _wrap(self.data <= _plain(other), False, None)

    def __gt__(self, other):
        return _wrap(self.data > _plain(other), False, None)

    def __ge__(self, other):
        return _wrap(self.data >= _plain(other), False, None)

    def __eq__(self, other):
        return _wrap(self.data == _plain(other), False, None)

    def __ne__(self, other):
        return _wrap(self.data != _plain(other), False, None)

    def any(self, axis=None, keepdims=False) -> "Tensor":
        return _wrap(self.data.any(axis=axis, keepdims=keepdims), False, None)

    def all(self, axis=None, keepdims=False) -> "Tensor":
        return _wrap(self.data.all(axis=axis, keepdims=keepdims), False, None)

    # --------------------------------------------------------- elementwise
    def exp(self):
        return _ew.Exp.apply(self)

    def log(self):
        return _ew.Log.apply(self)

    def sqrt(self):
        return _ew.Sqrt.apply(self)

    def abs(self):
        return _ew.Abs.apply(self)

    def clip(self, min=None, max=None):
        return _ew.clip(self, min, max)

    clamp = clip

    def maximum(self, other):
        return _ew.maximum(self, other)

    def minimum(self, other):
        return _ew.minimum(self, other)

    # --------------------------------------------------------- activations
    def sigmoid(self):
        return _act.Sigmoid.apply(self)

    def tanh(self):
        return _act.Tanh.apply(self)

    def relu(self):
        return _act.ReLU.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        return _act.LeakyReLU.apply(self, negative_slope=negative_slope)

    def elu(self, alpha=1.0):
        return _act.ELU.apply(self, alpha=alpha)

    def softplus(self):
        return _act.Softplus.apply(self)

    def softmax(self, axis=-1):
        return _act.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        return _act.LogSoftmax.apply(self, axis=axis)

    # ---------------------------------------------------------- reductions
    def sum(self, axis=None, keepdims=False):
        return _red.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _red.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _red.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _red.Min.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _red.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _red.std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def logsumexp(self, axis=None, keepdims=False):
        return _red.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _red.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _red.argmin(self, axis=axis, keepdims=keepdims)

    # --------------------------------------------------------------- shape
    def reshape(self, *shape):
        return _sh.reshape(self, *shape)

    view = reshape

    def transpose(self, *axes):
        return _sh.transpose(self, *axes)

    def permute(self, *axes):
        return _sh.transpose(self, *axes)

    def swapaxes(self, axis1, axis2):
        return _sh.swapaxes(self, axis1, axis2)

    def expand(self, *shape):
        return _sh.broadcast_to(self, *shape)

    broadcast_to = expand

    def squeeze(self, axis=None):
        return _sh.squeeze(self, axis)

    def unsqueeze(self, axis):
        return _sh.unsqueeze(self, axis)

    def flatten(self, start_axis=0, end_axis=-1):
        return _sh.flatten(self, start_axis, end_axis)

    def pad(self, pad_width, value=0.0):
        return _sh.pad(self, pad_width, value=value)

    def split(self, indices_or_sections, axis=0):
        return _sh.split(self, indices_or_sections, axis)

    def __getitem__(self, index):
        return _ix.getitem(self, index)

    def __setitem__(self, index, value):
        from ngrad.function import is_grad_enabled

        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                "in-place assignment to a tensor that requires grad would break its gradient; "
                "do it inside `with ngrad.no_grad():` or build a new tensor (e.g. with ngrad.where)"
            )
        self.data[_ix.plain_index(index)] = _plain(value)


def _wrap(data, requires_grad, ctx):
    """Make a Tensor around ``data`` without copying or converting (internal)."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._ctx = ctx
    t._retain = False
    return t


_new = object.__new__


def _plain(x):
    """The array inside a Tensor, or ``x`` itself."""
    return x.data if isinstance(x, Tensor) else x


_SCALARS = (int, float, bool)


def _operand(other, like: Tensor):
    """Turn the other operand of a binary op into a Tensor or a constant.

    Python numbers stay Python numbers (NumPy then keeps ``like``'s dtype);
    arrays of floating data take ``like``'s floating dtype.
    """
    if isinstance(other, Tensor) or type(other) in _SCALARS:
        return other
    xp = backend.get_array_module(like.data)
    arr = xp.asarray(other)
    if arr.dtype.kind == "f" and like.data.dtype.kind == "f" and arr.dtype != like.data.dtype:
        arr = arr.astype(like.data.dtype)
    elif arr.dtype.kind not in "biuf":
        raise DTypeError(f"cannot combine a tensor with data of dtype {arr.dtype}")
    return arr


def _to_array(data, dtype=None, copy=True):
    """Convert user data to an array following ngrad's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.get_array_module(data)
    arr = xp.array(data, copy=copy) if copy else xp.asarray(data)
    if dtype is not None:
        dt = numpy.dtype(dtype)
        if arr.dtype != dt:
            arr = arr.astype(dt)
    elif arr.dtype.kind == "f":
        dt = backend.get_default_dtype()
        if arr.dtype != dt:
            arr = arr.astype(dt)
    elif arr.dtype.kind not in "biuc":
        raise DTypeError(f"cannot make a tensor from data of dtype {arr.dtype} ({type(data).__name__})")
    return arr


# Bound at the bottom: these modules import Tensor from here.
from ngrad.function import run_backward  # noqa: E402
from ngrad.ops import activation as _act  # noqa: E402
from ngrad.ops import elementwise as _ew  # noqa: E402
from ngrad.ops import index as _ix  # noqa: E402
from ngrad.ops import linalg as _la  # noqa: E402
from ngrad.ops import reduce as _red  # noqa: E402
from ngrad.ops import shape as _sh  # noqa: E402

# Bound op entry points for the operators' hot path.
_add, _sub, _mul, _div, _pow = _ew.Add.apply, _ew.Sub.apply, _ew.Mul.apply, _ew.Div.apply, _ew.Pow.apply
_matmul = _la.MatMul.apply
