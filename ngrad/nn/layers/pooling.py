"""Pooling and spatial resizing layers: ``MaxPool2D``, ``AvgPool2D``, ``GlobalAvgPool2D``,
``ZeroPadding2D``, ``UpSampling2D``.

Thin modules over :mod:`ngrad.ops.pool` and :mod:`ngrad.ops.upsample`; no
parameters. Images are NCHW (N, C, H, W) by default, NHWC with
``data_format="channels_last"`` (see :mod:`ngrad.nn.layers.conv`).

>>> import ngrad
>>> from ngrad.nn.layers.pooling import MaxPool2D, ZeroPadding2D
>>> MaxPool2D(8, padding="same")(ngrad.randn(2, 8, 64, 64)).shape
(2, 8, 8, 8)
>>> ZeroPadding2D(3)(ngrad.randn(2, 3, 64, 64)).shape
(2, 3, 70, 70)
"""
from __future__ import annotations

from ngrad.nn.layers._image import check_image, data_format_arg, jsonable, padding_arg, pair
from ngrad.nn.module import Module
from ngrad.ops.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from ngrad.ops.upsample import upsample2d, zero_pad2d


def _format_tail(layer) -> str:
    return ", data_format='channels_last'" if layer.data_format == "channels_last" else ""


class _Pool2D(Module):
    """Windowed pooling: kernel, stride (default: the kernel), padding."""

    def __init__(self, kernel_size=2, stride=None, padding="valid", data_format: str = "channels_first"):
        super().__init__()
        owner = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", owner)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", owner)
        self.padding = padding_arg(padding, owner)
        self.data_format = data_format_arg(data_format, owner)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding!r}{_format_tail(self)}"

    def get_config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": jsonable(self.padding), "data_format": self.data_format}


class MaxPool2D(_Pool2D):
    """Max over each ``kernel_size`` window, moved by ``stride`` (Keras's ``MaxPooling2D``).

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).
    padding : 'valid', 'same' (Keras: ``ceil(H / stride)`` outputs; padding never wins) or numbers
    data_format : 'channels_first' or 'channels_last'

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H_out, W_out), ``H_out = (H + pads - kh) // stride + 1``
    """

    def forward(self, x):
        check_image(self, x)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, data_format=self.data_format)


class AvgPool2D(_Pool2D):
    """Mean over each ``kernel_size`` window (Keras's ``AveragePooling2D``).

    ``count_include_pad``: over ``'same'`` padding the mean is taken over the
    real pixels only (Keras); over numeric padding over the whole window
    unless ``count_include_pad=False`` (PyTorch). ``None`` picks that default.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H_out, W_out)
    """

    def __init__(self, kernel_size=2, stride=None, padding="valid", count_include_pad=None,
                 data_format: str = "channels_first"):
        super().__init__(kernel_size, stride, padding, data_format)
        self.count_include_pad = None if count_include_pad is None else bool(count_include_pad)

    def forward(self, x):
        check_image(self, x)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad,
                          data_format=self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "count_include_pad": self.count_include_pad}


class GlobalAvgPool2D(Module):
    """Mean over H and W of every channel (Keras's ``GlobalAveragePooling2D``).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C), or (N, C, 1, 1) with ``keepdims``
    """

    def __init__(self, keepdims: bool = False, data_format: str = "channels_first"):
        super().__init__()
        self.keepdims = bool(keepdims)
        self.data_format = data_format_arg(data_format, type(self).__name__)

    def forward(self, x):
        check_image(self, x)
        return global_avg_pool2d(x, keepdims=self.keepdims, data_format=self.data_format)

    def extra_repr(self) -> str:
        parts = ["keepdims=True"] if self.keepdims else []
        if self.data_format == "channels_last":
            parts.append("data_format='channels_last'")
        return ", ".join(parts)

    def get_config(self) -> dict:
        return {"keepdims": self.keepdims, "data_format": self.data_format}


class ZeroPadding2D(Module):
    """Pad H and W with zeros (Keras's ``ZeroPadding2D``).

    Parameters
    ----------
    padding : int, (ph, pw) or ((top, bottom), (left, right))

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H + top + bottom, W + left + right)
    """

    def __init__(self, padding=1, data_format: str = "channels_first"):
        super().__init__()
        owner = type(self).__name__
        self.padding = padding_arg(padding, owner)
        if isinstance(self.padding, str):
            raise ValueError(f"{owner}: padding must be numbers (int, (ph, pw) or ((top, bottom), (left, right))), "
                             f"got {padding!r}")
        self.data_format = data_format_arg(data_format, owner)

    def forward(self, x):
        check_image(self, x)
        return zero_pad2d(x, self.padding, data_format=self.data_format)

    def extra_repr(self) -> str:
        return f"padding={self.padding}{_format_tail(self)}"

    def get_config(self) -> dict:
        return {"padding": jsonable(self.padding), "data_format": self.data_format}


class UpSampling2D(Module):
    """Repeat every pixel ``size`` times along H and W (Keras's ``UpSampling2D``, nearest neighbour).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H * sh, W * sw)
    """

    def __init__(self, size=2, interpolation: str = "nearest", data_format: str = "channels_first"):
        super().__init__()
        owner = type(self).__name__
        self.size = pair(size, "size", owner)
        if interpolation != "nearest":
            raise NotImplementedError(f"{owner}: interpolation {interpolation!r} is not implemented (only 'nearest')")
        self.interpolation = interpolation
        self.data_format = data_format_arg(data_format, owner)

    def forward(self, x):
        check_image(self, x)
        return upsample2d(x, self.size, data_format=self.data_format)

    def extra_repr(self) -> str:
        return f"size={self.size}{_format_tail(self)}"

    def get_config(self) -> dict:
        return {"size": list(self.size), "interpolation": self.interpolation, "data_format": self.data_format}


__all__ = ["AvgPool2D", "GlobalAvgPool2D", "MaxPool2D", "UpSampling2D", "ZeroPadding2D"]
