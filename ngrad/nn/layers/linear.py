"""``Linear``: the dense layer ``y = x @ W.T + b``."""
from __future__ import annotations

import math

from ngrad import function as _function
from ngrad.backend import get_default_dtype
from ngrad.creation import zeros
from ngrad.errors import ShapeError
from ngrad.nn import init
from ngrad.nn.module import Module
from ngrad.nn.parameter import Parameter
from ngrad.ops.linear_fused import Linear as _LinearOp
from ngrad.ops.linear_fused import affine as _affine
from ngrad.tensor import Tensor, _wrap


class Linear(Module):
    """Fully connected layer: ``y = x @ W.T + b``.

    ``weight`` is shaped (out_features, in_features), the course's ``W[l]``
    (n_l, n_{l-1}) and PyTorch's layout; examples are rows (the course stacks
    them as columns: its ``Z = W @ A + b`` is this layer's output transposed).
    Initialised as PyTorch: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias;
    call an :mod:`ngrad.nn.init` recipe (e.g. ``init.course_he_``) to change it.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learn an additive bias (shape (out_features,)).
    dtype : dtype, optional
        Of the parameters (default float32).

    Shape:
        - Input: (*, in_features)
        - Output: (*, out_features)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(zeros(self.out_features, self.in_features, dtype=dtype))  # (out, in)
        if bias:
            self.bias = Parameter(zeros(self.out_features, dtype=dtype))  # (out,)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self, rng=None) -> None:
        """U(-1/sqrt(in_features), 1/sqrt(in_features)) for weight and bias, as PyTorch."""
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        init.uniform_(self.weight, -bound, bound, rng=rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x):
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(f"{self!r}: expected input of shape (*, {self.in_features}), got {tuple(x.shape)}")
        if not _function._grad_enabled and type(x) is Tensor:  # inference: the arrays alone, no graph node
            b = self.bias
            return _wrap(_affine(x.data, self.weight.data, None if b is None else b.data), False, None)
        return _LinearOp.apply(x, self.weight, self.bias)  # (*, out)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def get_config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.bias is not None}
