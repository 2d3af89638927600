"""Shape layers: ``Flatten`` and ``Identity``."""
from __future__ import annotations

from ngrad.errors import ShapeError
from ngrad.nn.module import Module
from ngrad.ops.shape import flatten


class Flatten(Module):
    """Merge axes ``start_axis..end_axis`` into one (images (N, C, H, W) -> (N, C*H*W)).

    Shape:
        - Input: (N, *dims), at least ``start_axis + 1`` axes
        - Output: (N, prod(dims)) with the defaults
    """

    def __init__(self, start_axis: int = 1, end_axis: int = -1):
        super().__init__()
        self.start_axis, self.end_axis = int(start_axis), int(end_axis)

    def forward(self, x):
        if x.ndim <= self.start_axis:
            raise ShapeError(f"{self!r}: expected an input with more than {self.start_axis} axes, "
                             f"got shape {tuple(x.shape)}")
        return flatten(x, self.start_axis, self.end_axis)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"

    def get_config(self) -> dict:
        return {"start_axis": self.start_axis, "end_axis": self.end_axis}


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer).

    Shape: (*) -> (*)
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
