"""``Parameter``: a tensor that a :class:`~ngrad.nn.Module` learns."""
from __future__ import annotations

from ngrad.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A leaf tensor registered by a module when assigned as its attribute.

    A ``Parameter`` is a :class:`~ngrad.Tensor` with ``requires_grad=True`` by
    default; ops on it return plain tensors. Built from a Tensor it shares that
    tensor's array (as PyTorch does); other data (lists, NumPy arrays) is copied
    and floating data gets the default dtype.

    >>> import ngrad
    >>> W = ngrad.nn.Parameter(ngrad.zeros(3, 2))
    >>> W.requires_grad, W.shape
    (True, (3, 2))
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = ()
        self.data = data.data if isinstance(data, Tensor) else _to_array(data, copy=True)
        self.grad = None
        self.requires_grad = False
        self._ctx = None
        self._retain = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
