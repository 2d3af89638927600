"""The Inception module (Szegedy et al. 2014, GoogLeNet; Course 4 week 2) and a small network of them.

Four branches over the same input, concatenated along the channels::

    1x1 conv                                  -> ch1x1
    1x1 conv (reduce) -> 3x3 conv same        -> ch3x3
    1x1 conv (reduce) -> 5x5 conv same        -> ch5x5
    3x3 max pool stride 1 same -> 1x1 conv    -> pool_proj

every convolution followed by a ReLU. The 1x1 "bottleneck" convolutions cut
the cost of the 3x3 and 5x5 ones (the course's 120M -> 12.4M multiplications
example).

>>> import ngrad
>>> from ngrad.models import InceptionModule
>>> m = InceptionModule(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's inception (3a)
>>> m(ngrad.randn(1, 192, 28, 28)).shape
(1, 256, 28, 28)
"""
from __future__ import annotations

from ngrad import nn
from ngrad.models._util import SequentialModel
from ngrad.nn.layers.conv import Conv2D
from ngrad.nn.layers.pooling import GlobalAvgPool2D, MaxPool2D
from ngrad.ops.shape import concatenate


def _conv_relu(in_channels, out_channels, kernel_size):
    return [Conv2D(in_channels, out_channels, kernel_size, padding="same"), nn.ReLU()]


class InceptionModule(nn.Module):
    """One Inception module: 1x1, 3x3, 5x5 and pooling branches concatenated.

    Parameters
    ----------
    in_channels : int
    ch1x1 : int
        Channels of the 1x1 branch.
    ch3x3_reduce, ch3x3 : int
        Channels of the 1x1 reduction and of the 3x3 convolution.
    ch5x5_reduce, ch5x5 : int
        Same for the 5x5 branch.
    pool_proj : int
        Channels of the 1x1 convolution after the 3x3 max pool.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3_reduce: int, ch3x3: int, ch5x5_reduce: int, ch5x5: int,
                 pool_proj: int):
        super().__init__()
        self._sizes = [int(v) for v in (in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj)]
        self.in_channels = self._sizes[0]
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1x1 = nn.Sequential(*_conv_relu(in_channels, ch1x1, 1))
        self.branch3x3 = nn.Sequential(*_conv_relu(in_channels, ch3x3_reduce, 1), *_conv_relu(ch3x3_reduce, ch3x3, 3))
        self.branch5x5 = nn.Sequential(*_conv_relu(in_channels, ch5x5_reduce, 1), *_conv_relu(ch5x5_reduce, ch5x5, 5))
        self.branch_pool = nn.Sequential(MaxPool2D(3, 1, padding="same"), *_conv_relu(in_channels, pool_proj, 1))

    def forward(self, x):
        branches = [self.branch1x1(x), self.branch3x3(x), self.branch5x5(x), self.branch_pool(x)]  # (N, c_i, H, W)
        return concatenate(branches, axis=1)  # (N, sum c_i, H, W)

    def extra_repr(self) -> str:
        return f"{self.in_channels} -> {self.out_channels}"

    def get_config(self) -> dict:
        names = ("in_channels", "ch1x1", "ch3x3_reduce", "ch3x3", "ch5x5_reduce", "ch5x5", "pool_proj")
        return dict(zip(names, self._sizes))


class InceptionNet(SequentialModel):
    """A small GoogLeNet-style network for small images, outputs logits.

    ::

        Conv 32@3x3 same -> ReLU -> MaxPool 2 -> Inception (-> 80) -> MaxPool 2
        -> Inception (-> 128) -> global average pool -> Dense num_classes

    Shape:
        - Input: (N, in_channels, H, W), H and W at least 4
        - Output: (N, num_classes)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3):
        super().__init__({
            "conv": Conv2D(in_channels, 32, 3, padding="same"), "relu": nn.ReLU(), "pool1": MaxPool2D(2),
            "inception1": InceptionModule(32, 16, 16, 32, 8, 16, 16),
            "pool2": MaxPool2D(2),
            "inception2": InceptionModule(80, 32, 32, 48, 8, 24, 24),
            "gap": GlobalAvgPool2D(),
            "fc": nn.Linear(128, num_classes),
        })
        self.args = {"num_classes": num_classes, "in_channels": in_channels}


__all__ = ["InceptionModule", "InceptionNet"]
