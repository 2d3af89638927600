"""Residual networks: the course's ResNet-50 with its identity and convolutional blocks,
and small ResNets (basic blocks) that train on a CPU.

The course's blocks (C4W2 "Residual Networks", after He et al. 2015), every
convolution with a bias and every BatchNorm with Keras's defaults::

    IdentityBlock:  x -> [1x1 F1 -> BN -> ReLU -> fxf F2 same -> BN -> ReLU -> 1x1 F3 -> BN] + x -> ReLU
    ConvBlock:      x -> [1x1 F1 stride s -> BN -> ReLU -> fxf F2 same -> BN -> ReLU -> 1x1 F3 -> BN]
                         + [1x1 F3 stride s -> BN] -> ReLU

``ResNet50`` stacks them as the course does (stages of 3, 4, 6 and 3 blocks
with filters [64, 64, 256] ... [512, 512, 2048]). For 64x64x3 images and 6
classes it has exactly the course's 23,600,006 parameters, 53,120 of them
BatchNorm's moving statistics (non-trainable in :func:`ngrad.nn.summary`).

The small ResNets (``resnet8``, ``resnet14``, ``resnet20``) use the basic
block of two 3x3 convolutions without bias, PyTorch's BatchNorm defaults and
global average pooling, so any input size works.

>>> import ngrad
>>> from ngrad.models import resnet8
>>> resnet8(num_classes=6)(ngrad.randn(2, 3, 32, 32)).shape
(2, 6)
"""
from __future__ import annotations

from ngrad import nn
from ngrad.models._util import SequentialModel, check_size, conv_size, keras_dense
from ngrad.models.course import KERAS_BN
from ngrad.nn.layers.conv import Conv2D
from ngrad.nn.layers.normalization_conv import BatchNorm2d, batch_norm_relu
from ngrad.nn.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D, ZeroPadding2D
from ngrad.ops.activation import relu


def _filters(filters, owner: str) -> tuple:
    filters = tuple(int(f) for f in filters)
    if len(filters) != 3 or min(filters) < 1:
        raise ValueError(f"{owner}: filters must be three positive ints [F1, F2, F3], got {list(filters)}")
    return filters


class _Bottleneck(nn.Module):
    """The main path shared by the course's two blocks: 1x1 (stride) -> fxf same -> 1x1, BN after each."""

    def _main_path(self, in_channels, kernel_size, filters, stride, bn) -> None:
        f1, f2, f3 = filters
        self.conv1, self.bn1 = Conv2D(in_channels, f1, 1, stride=stride), BatchNorm2d(f1, **bn)
        self.conv2, self.bn2 = Conv2D(f1, f2, kernel_size, padding="same"), BatchNorm2d(f2, **bn)
        self.conv3, self.bn3 = Conv2D(f2, f3, 1), BatchNorm2d(f3, **bn)

    def _main(self, x):
        h = batch_norm_relu(self.bn1, self.conv1(x))  # (N, F1, H', W')
        h = batch_norm_relu(self.bn2, self.conv2(h))  # (N, F2, H', W')
        return self.bn3(self.conv3(h))  # (N, F3, H', W')


class IdentityBlock(_Bottleneck):
    """The course's ``identity_block``: three convolutions plus the input itself.

    Parameters
    ----------
    in_channels : int
        Must equal ``filters[2]`` (the shortcut adds the input unchanged).
    kernel_size : int
        f, the middle convolution's window.
    filters : (F1, F2, F3)
    bn_momentum, bn_eps : float
        BatchNorm's, Keras's defaults by default.

    Shape:
        - Input: (N, F3, H, W)
        - Output: (N, F3, H, W)
    """

    def __init__(self, in_channels: int, kernel_size: int, filters, bn_momentum: float = KERAS_BN["momentum"],
                 bn_eps: float = KERAS_BN["eps"]):
        super().__init__()
        owner = type(self).__name__
        self.filters = _filters(filters, owner)
        if int(in_channels) != self.filters[2]:
            raise ValueError(f"{owner}: in_channels ({in_channels}) must equal filters[2] ({self.filters[2]}) "
                             f"for the identity shortcut; use ConvBlock to change the channels")
        self.in_channels, self.kernel_size = int(in_channels), int(kernel_size)
        self.bn_momentum, self.bn_eps = bn_momentum, bn_eps
        self._main_path(self.in_channels, self.kernel_size, self.filters, 1, {"momentum": bn_momentum, "eps": bn_eps})

    def forward(self, x):
        return relu(self._main(x) + x)  # (N, F3, H, W)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, kernel_size={self.kernel_size}, filters={list(self.filters)}"

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "kernel_size": self.kernel_size, "filters": list(self.filters),
                "bn_momentum": self.bn_momentum, "bn_eps": self.bn_eps}


class ConvBlock(_Bottleneck):
    """The course's ``convolutional_block``: the main path plus a 1x1 convolution + BN shortcut.

    Parameters
    ----------
    in_channels : int
    kernel_size : int
    filters : (F1, F2, F3)
    stride : int
        Of the first 1x1 convolution and of the shortcut (the course's ``s``).

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, F3, (H - 1) // stride + 1, (W - 1) // stride + 1)
    """

    def __init__(self, in_channels: int, kernel_size: int, filters, stride: int = 2,
                 bn_momentum: float = KERAS_BN["momentum"], bn_eps: float = KERAS_BN["eps"]):
        super().__init__()
        self.filters = _filters(filters, type(self).__name__)
        self.in_channels, self.kernel_size, self.stride = int(in_channels), int(kernel_size), int(stride)
        self.bn_momentum, self.bn_eps = bn_momentum, bn_eps
        bn = {"momentum": bn_momentum, "eps": bn_eps}
        self._main_path(self.in_channels, self.kernel_size, self.filters, self.stride, bn)
        f3 = self.filters[2]
        self.shortcut_conv = Conv2D(self.in_channels, f3, 1, stride=self.stride)
        self.shortcut_bn = BatchNorm2d(f3, **bn)

    def forward(self, x):
        shortcut = self.shortcut_bn(self.shortcut_conv(x))  # (N, F3, H', W')
        return relu(self._main(x) + shortcut)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, kernel_size={self.kernel_size}, filters={list(self.filters)}, "
                f"stride={self.stride}")

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "kernel_size": self.kernel_size, "filters": list(self.filters),
                "stride": self.stride, "bn_momentum": self.bn_momentum, "bn_eps": self.bn_eps}


#: (filters, stride of the first block, identity blocks after it) of the course's stages 2-5
RESNET50_STAGES = (
    ((64, 64, 256), 1, 2),
    ((128, 128, 512), 2, 3),
    ((256, 256, 1024), 2, 5),
    ((512, 512, 2048), 2, 2),
)


def _stage(in_channels, filters, stride, identities) -> nn.Sequential:
    blocks = [ConvBlock(in_channels, 3, filters, stride=stride)]
    blocks += [IdentityBlock(filters[2], 3, filters) for _ in range(identities)]
    return nn.Sequential(*blocks)


class ResNet50(SequentialModel):
    """The course's ``ResNet50(input_shape=(64, 64, 3), classes=6)``, outputs logits (Keras's initialisation).

    ::

        ZeroPadding 3 -> Conv 64@7x7 stride 2 -> BN -> ReLU -> MaxPool 3x3 stride 2
        -> stage2 (ConvBlock s=1 + 2 IdentityBlocks) -> stage3 (s=2, +3) -> stage4 (s=2, +5)
        -> stage5 (s=2, +2) -> AvgPool 2x2 -> Flatten -> Dense num_classes

    Shape:
        - Input: (N, in_channels, image_size, image_size), default (N, 3, 64, 64)
        - Output: (N, num_classes)
    """

    def __init__(self, num_classes: int = 6, in_channels: int = 3, image_size: int = 64):
        s = conv_size(conv_size(image_size, 7, 2, pad=3), 3, 2)  # after the stem
        layers = {"zero_pad": ZeroPadding2D(3), "conv1": Conv2D(in_channels, 64, 7, stride=2),
                  "bn1": BatchNorm2d(64, **KERAS_BN), "relu": nn.ReLU(), "max_pool": MaxPool2D(3, 2)}
        channels = 64
        for i, (filters, stride, identities) in enumerate(RESNET50_STAGES):
            layers[f"stage{i + 2}"] = _stage(channels, filters, stride, identities)
            channels, s = filters[2], conv_size(s, 1, stride)
        s = check_size(s // 2, type(self).__name__, image_size)
        layers.update(avg_pool=AvgPool2D(2), flatten=nn.Flatten(), fc=keras_dense(channels * s * s, num_classes))
        super().__init__(layers)
        self.args = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}


# ------------------------------------------------------------------ small ResNets
class BasicBlock(nn.Module):
    """Two 3x3 convolutions (no bias) with BatchNorm, plus an identity or 1x1 conv + BN shortcut.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, out_channels, (H - 1) // stride + 1, (W - 1) // stride + 1)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = int(in_channels), int(out_channels), int(stride)
        self.conv1 = Conv2D(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2D(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(Conv2D(in_channels, out_channels, 1, stride=stride, bias=False),
                                          BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        h = batch_norm_relu(self.bn1, self.conv1(x))  # (N, out, H', W')
        h = self.bn2(self.conv2(h))  # (N, out, H', W')
        return relu(h + self.shortcut(x))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "stride": self.stride}


class ResNet(SequentialModel):
    """A small ResNet of basic blocks (He et al. 2015's CIFAR family), outputs logits.

    ::

        Conv 3x3 (stride ``stem_stride``) -> BN -> ReLU -> stages of basic blocks
        (the first block of every stage but the first halves H and W) -> global average pool -> Dense

    Parameters
    ----------
    num_classes : int
    in_channels : int
    widths : sequence of int
        Channels of each stage.
    blocks : sequence of int
        Basic blocks per stage (``6 * n + 2`` layers for ``n`` blocks in each of 3 stages).
    stem_stride : int
        2 halves the image in the stem convolution.
    stem_pool : bool
        Follow the stem with a 3x3 max pool of stride 2 (as ImageNet ResNets);
        with ``stem_stride=2`` the blocks of a 64x64 input work on 16x16 maps.

    Shape:
        - Input: (N, in_channels, H, W), any H, W
        - Output: (N, num_classes)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, widths=(16, 32, 64), blocks=(1, 1, 1),
                 stem_stride: int = 1, stem_pool: bool = False):
        widths, blocks = [int(w) for w in widths], [int(b) for b in blocks]
        if len(widths) != len(blocks) or not widths:
            raise ValueError(f"{type(self).__name__}: widths {widths} and blocks {blocks} must have the same length")
        layers = {"conv1": Conv2D(in_channels, widths[0], 3, stride=stem_stride, padding=1, bias=False),
                  "bn1": BatchNorm2d(widths[0]), "relu": nn.ReLU()}
        if stem_pool:
            layers["max_pool"] = MaxPool2D(3, 2, padding=1)
        channels = widths[0]
        for i, (width, n) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            stage = [BasicBlock(channels, width, stride)] + [BasicBlock(width, width) for _ in range(n - 1)]
            layers[f"stage{i + 1}"] = nn.Sequential(*stage)
            channels = width
        layers.update(pool=GlobalAvgPool2D(), fc=nn.Linear(channels, num_classes))
        super().__init__(layers)
        self.args = {"num_classes": num_classes, "in_channels": in_channels, "widths": widths, "blocks": blocks,
                     "stem_stride": stem_stride, "stem_pool": stem_pool}


def resnet8(num_classes: int = 10, in_channels: int = 3, stem_stride: int = 1, stem_pool: bool = False) -> ResNet:
    """ResNet-8: one basic block in each of three stages (16, 32, 64 channels); about 78 000 parameters."""
    return ResNet(num_classes, in_channels, (16, 32, 64), (1, 1, 1), stem_stride, stem_pool)


def resnet14(num_classes: int = 10, in_channels: int = 3, stem_stride: int = 1, stem_pool: bool = False) -> ResNet:
    """ResNet-14: two basic blocks per stage (16, 32, 64 channels)."""
    return ResNet(num_classes, in_channels, (16, 32, 64), (2, 2, 2), stem_stride, stem_pool)


def resnet20(num_classes: int = 10, in_channels: int = 3, stem_stride: int = 1, stem_pool: bool = False) -> ResNet:
    """ResNet-20 (He et al.'s CIFAR-10 network): three basic blocks per stage."""
    return ResNet(num_classes, in_channels, (16, 32, 64), (3, 3, 3), stem_stride, stem_pool)


__all__ = ["BasicBlock", "ConvBlock", "IdentityBlock", "RESNET50_STAGES", "ResNet", "ResNet50", "resnet14",
           "resnet20", "resnet8"]
