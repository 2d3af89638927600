"""Convolution layers: ``Conv2D``, ``DepthwiseConv2D``, ``SeparableConv2D``, ``Conv2DTranspose``.

Thin modules over :mod:`ngrad.ops.conv`. Layout and conventions:

- Images are NCHW (N, C, H, W), the layout the ops compute in (see
  ``docs/conv_layout.md``); ``data_format="channels_last"`` takes and returns
  NHWC (N, H, W, C), the course's and Keras's layout, at the cost of two
  transposes per layer. For a whole model, transpose the data once instead:
  ``X.transpose(0, 3, 1, 2)`` or :func:`ngrad.ops.conv.to_nchw`.
- Weights are PyTorch's (out_channels, in_channels / groups, kh, kw);
  :func:`ngrad.ops.conv.hwio_to_oihw` turns a Keras/course kernel
  (kh, kw, in, out) into one.
- ``padding`` is ``'valid'`` (the default, as Keras), ``'same'`` (Keras:
  output ``ceil(H / stride)``, the odd pixel at the bottom/right), an int,
  (ph, pw) or ((top, bottom), (left, right)).
- Initialisation follows Keras, the framework of the course: kernels Glorot
  (Xavier) uniform, ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))`` and
  fans ``in/groups * kh * kw`` and ``out * kh * kw``; biases zero. Call
  ``reset_parameters(rng=...)`` to redraw, or any :mod:`ngrad.nn.init` recipe
  (e.g. ``init.kaiming_uniform_(layer.weight, a=5 ** 0.5)`` for PyTorch's).

>>> import ngrad
>>> from ngrad.nn.layers.conv import Conv2D
>>> conv = Conv2D(3, 8, 4, padding="same")
>>> conv(ngrad.randn(2, 3, 64, 64)).shape
(2, 8, 64, 64)
>>> conv.weight.shape, conv.bias.shape
((8, 3, 4, 4), (8,))
"""
from __future__ import annotations

from ngrad.backend import get_default_dtype
from ngrad.creation import zeros
from ngrad.nn import init
from ngrad.nn.layers._image import check_image, data_format_arg, jsonable, padding_arg, pair
from ngrad.nn.module import Module
from ngrad.nn.parameter import Parameter
from ngrad.ops.conv import conv2d, conv_transpose2d


def _positive(value, what: str, owner: str) -> int:
    value = int(value)
    if value < 1:
        raise ValueError(f"{owner}: {what} must be a positive int, got {value}")
    return value


class _Conv(Module):
    """What the convolution layers share: argument checks, bias, init, repr and config."""

    def _setup(self, kernel_size, stride, padding, dilation, data_format) -> None:
        owner = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", owner)
        self.stride = pair(stride, "stride", owner)
        self.padding = padding_arg(padding, owner)
        self.dilation = pair(dilation, "dilation", owner)
        self.data_format = data_format_arg(data_format, owner)

    def _make_bias(self, bias: bool, n: int, dtype) -> None:
        if bias:
            self.bias = Parameter(zeros(n, dtype=dtype))  # (out,)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self, rng=None) -> None:
        """Kernels Glorot uniform, biases zero (Keras's defaults)."""
        for name, p in self._parameters.items():
            if p is None:
                continue
            if name == "bias":
                init.zeros_(p)
            else:
                init.xavier_uniform_(p, rng=rng)

    def _geometry_repr(self) -> str:
        parts = [f"kernel_size={self.kernel_size}"]
        if self.stride != (1, 1):
            parts.append(f"stride={self.stride}")
        parts.append(f"padding={self.padding!r}")
        if self.dilation != (1, 1):
            parts.append(f"dilation={self.dilation}")
        return ", ".join(parts)

    def _tail_repr(self) -> str:
        tail = "" if self.bias is not None else ", bias=False"
        return tail + (", data_format='channels_last'" if self.data_format == "channels_last" else "")

    def _geometry_config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": jsonable(self.padding), "dilation": list(self.dilation)}


class Conv2D(_Conv):
    """2-D convolution (cross-correlation): ``y = conv2d(x, weight) + bias``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : 'valid', 'same', int, (ph, pw) or ((top, bottom), (left, right))
    groups : int
        Split the channels into ``groups`` independent convolutions
        (``groups == in_channels``: depthwise, see :class:`DepthwiseConv2D`).
    bias : bool
    data_format : 'channels_first' (NCHW, default) or 'channels_last' (NHWC)
    dtype : dtype, optional
        Of the parameters (default float32).

    Attributes
    ----------
    weight : Parameter (out_channels, in_channels / groups, kh, kw)
    bias : Parameter (out_channels,) or None

    Shape:
        - Input: (N, C_in, H, W), or (N, H, W, C_in) with ``channels_last``
        - Output: (N, C_out, H_out, W_out), ``H_out = (H + pads - dilation * (kh - 1) - 1) // stride + 1``
          (``ceil(H / stride)`` for ``'same'``)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding="valid", dilation=1,
                 groups: int = 1, bias: bool = True, data_format: str = "channels_first", dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = _positive(in_channels, "in_channels", owner)
        self.out_channels = _positive(out_channels, "out_channels", owner)
        self.groups = _positive(groups, "groups", owner)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{owner}: in_channels ({self.in_channels}) and out_channels ({self.out_channels}) "
                             f"must both be divisible by groups ({self.groups})")
        self._setup(kernel_size, stride, padding, dilation, data_format)
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(zeros(self.out_channels, self.in_channels // self.groups, *self.kernel_size,
                                      dtype=dtype))  # (out, in / groups, kh, kw)
        self._make_bias(bias, self.out_channels, dtype)
        self.reset_parameters()

    def forward(self, x):
        check_image(self, x, self.in_channels)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                      data_format=self.data_format)  # (N, out, Ho, Wo)

    def extra_repr(self) -> str:
        groups = f", groups={self.groups}" if self.groups != 1 else ""
        return f"{self.in_channels}, {self.out_channels}, {self._geometry_repr()}{groups}{self._tail_repr()}"

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, **self._geometry_config(),
                "groups": self.groups, "bias": self.bias is not None, "data_format": self.data_format}


class DepthwiseConv2D(_Conv):
    """Depthwise convolution: each input channel convolved with its own ``depth_multiplier`` kernels.

    ``conv2d`` with ``groups = in_channels``; output channel ``c * depth_multiplier + j``
    is input channel ``c`` through kernel ``j`` (Keras's and PyTorch's order).

    Parameters
    ----------
    in_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : 'valid', 'same' or numbers
    depth_multiplier : int
    bias : bool
    data_format : 'channels_first' or 'channels_last'

    Attributes
    ----------
    weight : Parameter (in_channels * depth_multiplier, 1, kh, kw)
    bias : Parameter (in_channels * depth_multiplier,) or None

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C * depth_multiplier, H_out, W_out)
    """

    def __init__(self, in_channels: int, kernel_size, stride=1, padding="valid", depth_multiplier: int = 1,
                 dilation=1, bias: bool = True, data_format: str = "channels_first", dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = _positive(in_channels, "in_channels", owner)
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier", owner)
        self.out_channels = self.in_channels * self.depth_multiplier
        self._setup(kernel_size, stride, padding, dilation, data_format)
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(zeros(self.out_channels, 1, *self.kernel_size, dtype=dtype))  # (C*mult, 1, kh, kw)
        self._make_bias(bias, self.out_channels, dtype)
        self.reset_parameters()

    def forward(self, x):
        check_image(self, x, self.in_channels)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.in_channels,
                      data_format=self.data_format)  # (N, C*mult, Ho, Wo)

    def extra_repr(self) -> str:
        mult = f", depth_multiplier={self.depth_multiplier}" if self.depth_multiplier != 1 else ""
        return f"{self.in_channels}, {self._geometry_repr()}{mult}{self._tail_repr()}"

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, **self._geometry_config(),
                "depth_multiplier": self.depth_multiplier, "bias": self.bias is not None,
                "data_format": self.data_format}


class SeparableConv2D(_Conv):
    """Depthwise separable convolution: a depthwise ``kh x kw`` convolution, then a pointwise 1x1.

    As Keras's ``SeparableConv2D``: the depthwise step has no bias, the
    pointwise step has one. ``in*mult*kh*kw + in*mult*out (+ out)`` parameters
    instead of ``in*out*kh*kw (+ out)``.

    Attributes
    ----------
    depthwise_weight : Parameter (in_channels * depth_multiplier, 1, kh, kw)
    pointwise_weight : Parameter (out_channels, in_channels * depth_multiplier, 1, 1)
    bias : Parameter (out_channels,) or None

    Shape:
        - Input: (N, C_in, H, W)
        - Output: (N, C_out, H_out, W_out), sized by the depthwise step
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding="valid",
                 depth_multiplier: int = 1, dilation=1, bias: bool = True, data_format: str = "channels_first",
                 dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = _positive(in_channels, "in_channels", owner)
        self.out_channels = _positive(out_channels, "out_channels", owner)
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier", owner)
        self._setup(kernel_size, stride, padding, dilation, data_format)
        dtype = dtype or get_default_dtype()
        mid = self.in_channels * self.depth_multiplier
        self.depthwise_weight = Parameter(zeros(mid, 1, *self.kernel_size, dtype=dtype))  # (C*mult, 1, kh, kw)
        self.pointwise_weight = Parameter(zeros(self.out_channels, mid, 1, 1, dtype=dtype))  # (out, C*mult, 1, 1)
        self._make_bias(bias, self.out_channels, dtype)
        self.reset_parameters()

    def forward(self, x):
        check_image(self, x, self.in_channels)
        fmt = self.data_format
        h = conv2d(x, self.depthwise_weight, None, self.stride, self.padding, self.dilation, self.in_channels,
                   data_format=fmt)  # (N, C*mult, Ho, Wo)
        return conv2d(h, self.pointwise_weight, self.bias, data_format=fmt)  # (N, out, Ho, Wo)

    def extra_repr(self) -> str:
        mult = f", depth_multiplier={self.depth_multiplier}" if self.depth_multiplier != 1 else ""
        return f"{self.in_channels}, {self.out_channels}, {self._geometry_repr()}{mult}{self._tail_repr()}"

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, **self._geometry_config(),
                "depth_multiplier": self.depth_multiplier, "bias": self.bias is not None,
                "data_format": self.data_format}


class Conv2DTranspose(_Conv):
    """Transposed convolution ("deconvolution"): the adjoint of :class:`Conv2D`, upsampling by ``stride``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : 'valid' (0), 'same' (Keras: ``H_out = H * stride``) or numbers (PyTorch's)
    output_padding : int or (int, int)
        Extra rows/columns at the bottom/right with numeric padding (PyTorch's).
    groups : int
    bias : bool

    Attributes
    ----------
    weight : Parameter (in_channels, out_channels / groups, kh, kw) (PyTorch's layout)
    bias : Parameter (out_channels,) or None

    Shape:
        - Input: (N, C_in, H, W)
        - Output: (N, C_out, H_out, W_out), ``H_out = (H - 1) * stride - 2 * padding
          + dilation * (kh - 1) + output_padding + 1`` (``H * stride`` for ``'same'``)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding="valid",
                 output_padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 data_format: str = "channels_first", dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = _positive(in_channels, "in_channels", owner)
        self.out_channels = _positive(out_channels, "out_channels", owner)
        self.groups = _positive(groups, "groups", owner)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{owner}: in_channels ({self.in_channels}) and out_channels ({self.out_channels}) "
                             f"must both be divisible by groups ({self.groups})")
        self._setup(kernel_size, stride, padding, dilation, data_format)
        op = output_padding
        self.output_padding = (op, op) if isinstance(op, int) else tuple(int(v) for v in op)
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(zeros(self.in_channels, self.out_channels // self.groups, *self.kernel_size,
                                      dtype=dtype))  # (in, out / groups, kh, kw)
        self._make_bias(bias, self.out_channels, dtype)
        self.reset_parameters()

    def forward(self, x):
        check_image(self, x, self.in_channels)
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.dilation, self.groups, data_format=self.data_format)  # (N, out, Ho, Wo)

    def extra_repr(self) -> str:
        extra = f", output_padding={self.output_padding}" if any(self.output_padding) else ""
        groups = f", groups={self.groups}" if self.groups != 1 else ""
        return (f"{self.in_channels}, {self.out_channels}, {self._geometry_repr()}{extra}{groups}"
                f"{self._tail_repr()}")

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, **self._geometry_config(),
                "output_padding": list(self.output_padding), "groups": self.groups,
                "bias": self.bias is not None, "data_format": self.data_format}


__all__ = ["Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
