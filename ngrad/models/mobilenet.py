"""MobileNetV2 (Sandler et al. 2018; Course 4 week 2): inverted residual blocks and the network.

An inverted residual block widens, filters cheaply and narrows again::

    1x1 conv (expand x t) -> BN -> ReLU6 -> 3x3 depthwise (stride s) -> BN -> ReLU6
    -> 1x1 conv (project, linear) -> BN   (+ x when s == 1 and the channels agree)

No convolution has a bias (BatchNorm follows each). ``MobileNetV2()`` with
its defaults is the ImageNet network of the paper and of Keras (3,538,984
parameters with the 1000-class top, 34,112 of them BatchNorm's moving
statistics); :func:`mobilenet_v2_small` is a narrow, shallow version that
trains on a CPU in minutes (the transfer-learning experiment ``c4w2-transfer``).

>>> import ngrad
>>> from ngrad.models import mobilenet_v2_small
>>> net = mobilenet_v2_small(num_classes=6)
>>> net(ngrad.randn(2, 3, 32, 32)).shape
(2, 6)
>>> net.features(ngrad.randn(2, 3, 32, 32)).shape  # the base without the top
(2, 256, 4, 4)
"""
from __future__ import annotations

from ngrad import nn
from ngrad.models._util import ReLU6, SequentialModel
from ngrad.nn.layers.conv import Conv2D, DepthwiseConv2D
from ngrad.nn.layers.normalization_conv import BatchNorm2d
from ngrad.nn.layers.pooling import GlobalAvgPool2D

#: the paper's blocks: (expansion t, output channels c, repeats n, first stride s)
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                         (6, 160, 3, 2), (6, 320, 1, 1))
#: a small network for 32x32 - 64x64 images
SMALL_SETTINGS = ((1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 64, 2, 2))


def make_divisible(v: float, divisor: int = 8) -> int:
    """``v`` rounded to a multiple of ``divisor``, never more than 10 % below ``v`` (the paper's rule)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class InvertedResidual(nn.Module):
    """MobileNetV2's inverted residual block (expand, depthwise, linear projection).

    Parameters
    ----------
    in_channels, out_channels : int
    stride : int
        Of the depthwise convolution (1 or 2).
    expand_ratio : int
        t: the hidden width is ``in_channels * t``; ``t = 1`` skips the expansion.

    Attributes
    ----------
    use_residual : bool
        ``stride == 1 and in_channels == out_channels``: the input is added to the output.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, expand_ratio: int = 6):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.stride, self.expand_ratio = int(stride), int(expand_ratio)
        if self.stride not in (1, 2):
            raise ValueError(f"{type(self).__name__}: stride must be 1 or 2, got {stride}")
        hidden = self.in_channels * self.expand_ratio
        self.use_residual = self.stride == 1 and self.in_channels == self.out_channels
        if self.expand_ratio != 1:
            self.expand = nn.Sequential(Conv2D(self.in_channels, hidden, 1, bias=False), BatchNorm2d(hidden), ReLU6())
        else:
            self.expand = nn.Identity()
        self.depthwise = nn.Sequential(DepthwiseConv2D(hidden, 3, stride=self.stride, padding="same", bias=False),
                                       BatchNorm2d(hidden), ReLU6())
        self.project = nn.Sequential(Conv2D(hidden, self.out_channels, 1, bias=False), BatchNorm2d(self.out_channels))

    def forward(self, x):
        h = self.expand(x)  # (N, hidden, H, W)
        h = self.depthwise(h)  # (N, hidden, H', W')
        h = self.project(h)  # (N, out, H', W'), linear
        return h + x if self.use_residual else h

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, stride={self.stride}, expand_ratio={self.expand_ratio}"
                + (", residual" if self.use_residual else ""))

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "stride": self.stride,
                "expand_ratio": self.expand_ratio}


def _conv_bn_relu6(in_channels, out_channels, kernel_size, stride=1):
    return [Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding="same", bias=False),
            BatchNorm2d(out_channels), ReLU6()]


class MobileNetV2(SequentialModel):
    """MobileNetV2: ``features`` (the base, Keras's ``include_top=False``), then pool, dropout, classifier.

    Parameters
    ----------
    num_classes : int
    in_channels : int
    width_mult : float
        Keras's ``alpha``: scales every block's output channels (rounded to multiples of 8).
    settings : sequence of (t, c, n, s)
        The inverted residual stages (default: the paper's).
    stem_channels, stem_stride : int
        The first 3x3 convolution (32 channels, stride 2 in the paper).
    last_channels : int
        The final 1x1 convolution (1280 in the paper; scaled when ``width_mult > 1``).
    dropout : float
        Before the classifier.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, num_classes) logits
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0,
                 settings=MOBILENET_V2_SETTINGS, stem_channels: int = 32, stem_stride: int = 2,
                 last_channels: int = 1280, dropout: float = 0.2):
        settings = [tuple(int(v) for v in s) for s in settings]
        channels = make_divisible(stem_channels * width_mult)
        layers = _conv_bn_relu6(in_channels, channels, 3, stem_stride)
        for t, c, n, s in settings:
            out = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        last = make_divisible(last_channels * width_mult) if width_mult > 1.0 else int(last_channels)
        layers += _conv_bn_relu6(channels, last, 1)
        super().__init__({"features": nn.Sequential(*layers), "pool": GlobalAvgPool2D(),
                          "dropout": nn.Dropout(p=dropout), "classifier": nn.Linear(last, num_classes)})
        self.args = {"num_classes": num_classes, "in_channels": in_channels, "width_mult": width_mult,
                     "settings": [list(s) for s in settings], "stem_channels": stem_channels,
                     "stem_stride": stem_stride, "last_channels": last_channels, "dropout": dropout}


def mobilenet_v2_small(num_classes: int = 10, in_channels: int = 3, stem_stride: int = 1,
                       dropout: float = 0.2) -> MobileNetV2:
    """A small MobileNetV2 (about 100 000 parameters): stem 16, four stages up to 64 channels, last conv 256.

    Halves the image three times after the stem (``stem_stride=2`` a fourth
    time, for 64x64 inputs).
    """
    return MobileNetV2(num_classes, in_channels, 1.0, SMALL_SETTINGS, stem_channels=16, stem_stride=stem_stride,
                       last_channels=256, dropout=dropout)


__all__ = ["InvertedResidual", "MOBILENET_V2_SETTINGS", "MobileNetV2", "SMALL_SETTINGS", "make_divisible",
           "mobilenet_v2_small"]
