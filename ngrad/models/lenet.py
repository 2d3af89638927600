"""LeNet-5 (LeCun et al. 1998), the network of Course 4 week 2's "classic networks".

::

    conv 6@5x5 -> act -> pool 2 -> conv 16@5x5 -> act -> pool 2 -> flatten
    -> dense 120 -> act -> dense 84 -> act -> dense num_classes (logits)

On 32x32x1 images it has the classic 61,706 parameters. Smaller images
(MNIST's 28x28) get zero padding in the first convolution so the rest of
the network keeps its 32x32 sizes.

>>> import ngrad
>>> from ngrad.models import LeNet5
>>> LeNet5()(ngrad.randn(2, 1, 32, 32)).shape
(2, 10)
>>> sum(p.size for p in LeNet5().parameters())
61706
"""
from __future__ import annotations

from ngrad import nn
from ngrad.models._util import SequentialModel, check_size, conv_size, make_activation
from ngrad.nn.layers.conv import Conv2D
from ngrad.nn.layers.pooling import AvgPool2D, MaxPool2D

POOLS = {"avg": AvgPool2D, "max": MaxPool2D}


class LeNet5(SequentialModel):
    """LeNet-5 on NCHW images; outputs logits.

    Parameters
    ----------
    num_classes : int
    in_channels : int
    image_size : int
        Height and width of the input; below 32 the first convolution pads
        ``(32 - image_size) // 2`` pixels per side.
    activation : {'tanh', 'relu', 'sigmoid'}
        tanh as the paper, relu as most modern versions.
    pooling : {'avg', 'max'}

    Shape:
        - Input: (N, in_channels, image_size, image_size)
        - Output: (N, num_classes)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 32, activation: str = "tanh",
                 pooling: str = "avg"):
        owner = type(self).__name__
        if pooling not in POOLS:
            raise ValueError(f"{owner}: pooling must be 'avg' or 'max', got {pooling!r}")
        pad = max(32 - image_size, 0) // 2
        s = conv_size(image_size, 5, pad=pad) // 2  # after conv1 and pool1
        s = check_size(conv_size(s, 5) // 2, owner, image_size)  # after conv2 and pool2
        act = lambda: make_activation(activation, owner)  # noqa: E731
        pool = POOLS[pooling]
        super().__init__({
            "conv1": Conv2D(in_channels, 6, 5, padding=pad), "act1": act(), "pool1": pool(2),
            "conv2": Conv2D(6, 16, 5), "act2": act(), "pool2": pool(2),
            "flatten": nn.Flatten(),
            "fc1": nn.Linear(16 * s * s, 120), "act3": act(),
            "fc2": nn.Linear(120, 84), "act4": act(),
            "fc3": nn.Linear(84, num_classes),
        })
        self.args = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size,
                     "activation": activation, "pooling": pooling}


__all__ = ["LeNet5"]
