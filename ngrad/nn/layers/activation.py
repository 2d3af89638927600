"""Activation layers: thin modules over the activation ops (``ngrad.ops.activation``).

Shape:
    - Input: (*), any shape
    - Output: (*), same shape as the input
"""
from __future__ import annotations

from ngrad.nn.module import Module
from ngrad.ops import activation as _act


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, stable for large ``|x|``. Shape: (*) -> (*)."""

    def forward(self, x):
        return _act.Sigmoid.apply(x)


class Tanh(Module):
    """Hyperbolic tangent. Shape: (*) -> (*)."""

    def forward(self, x):
        return _act.Tanh.apply(x)


class ReLU(Module):
    """``max(x, 0)``. Shape: (*) -> (*)."""

    def forward(self, x):
        return _act.relu(x)


class LeakyReLU(Module):
    """``x`` for ``x > 0``, else ``negative_slope * x``. Shape: (*) -> (*)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return _act.LeakyReLU.apply(x, negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def get_config(self) -> dict:
        return {"negative_slope": self.negative_slope}


class ELU(Module):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``. Shape: (*) -> (*)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):
        return _act.ELU.apply(x, alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class Softplus(Module):
    """``log(1 + exp(x))``, stable for large ``|x|``. Shape: (*) -> (*)."""

    def forward(self, x):
        return _act.Softplus.apply(x)


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``axis`` (default the last). Shape: (*) -> (*)."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = int(axis)

    def forward(self, x):
        return _act.Softmax.apply(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"

    def get_config(self) -> dict:
        return {"axis": self.axis}


class LogSoftmax(Softmax):
    """``log(softmax(x))`` along ``axis`` via log-sum-exp. Shape: (*) -> (*)."""

    def forward(self, x):
        return _act.LogSoftmax.apply(x, axis=self.axis)
