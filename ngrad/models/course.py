"""The Course 4 week 1 models: the SIGNS ConvNet and the Happy-House model.

Both follow the course's Keras code layer for layer (NCHW here; the output
is logits, the course's final softmax / sigmoid left to the loss), with
Keras's initialisation: Glorot-uniform kernels and dense weights, zero biases.

SIGNS ConvNet (``convolutional_model``, 64x64x3 -> 6 classes, 1,310 parameters)::

    Conv2D 8@4x4 same -> ReLU -> MaxPool 8x8 stride 8 same
    -> Conv2D 16@2x2 same -> ReLU -> MaxPool 4x4 stride 4 same -> Flatten -> Dense 6

Happy-House model (``happyModel``, 64x64x3 -> smiling or not, 37,633 parameters,
64 of them BatchNorm's moving statistics)::

    ZeroPadding2D 3 -> Conv2D 32@7x7 -> BatchNorm -> ReLU -> MaxPool 2 -> Flatten -> Dense 1

>>> import ngrad
>>> from ngrad.models import SignsConvNet
>>> SignsConvNet()(ngrad.randn(2, 3, 64, 64)).shape
(2, 6)
"""
from __future__ import annotations

from ngrad import nn
from ngrad.models._util import SequentialModel, check_size, conv_size, keras_dense, same_size
from ngrad.nn.layers.conv import Conv2D
from ngrad.nn.layers.normalization_conv import BatchNorm2d
from ngrad.nn.layers.pooling import MaxPool2D, ZeroPadding2D

#: Keras's BatchNormalization() defaults in ngrad's terms (momentum weighs the batch)
KERAS_BN = {"momentum": 0.01, "eps": 1e-3}


class SignsConvNet(SequentialModel):
    """The course's SIGNS ConvNet (C4W1 "Convolution model application").

    Parameters
    ----------
    num_classes : int
    in_channels : int
    image_size : int

    Shape:
        - Input: (N, in_channels, image_size, image_size), default (N, 3, 64, 64)
        - Output: (N, num_classes) logits
    """

    def __init__(self, num_classes: int = 6, in_channels: int = 3, image_size: int = 64):
        s = check_size(same_size(same_size(image_size, 8), 4), type(self).__name__, image_size)
        super().__init__({
            "conv1": Conv2D(in_channels, 8, 4, padding="same"), "relu1": nn.ReLU(),
            "pool1": MaxPool2D(8, 8, padding="same"),
            "conv2": Conv2D(8, 16, 2, padding="same"), "relu2": nn.ReLU(),
            "pool2": MaxPool2D(4, 4, padding="same"),
            "flatten": nn.Flatten(),
            "fc": keras_dense(16 * s * s, num_classes),
        })
        self.args = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}


class HappyModel(SequentialModel):
    """The course's Happy-House model (C4W1, ``happyModel``): smiling (1) or not (0).

    BatchNorm has Keras's defaults (``momentum=0.01`` in ngrad's terms, ``eps=1e-3``).

    Parameters
    ----------
    in_channels : int
    image_size : int
    probabilities : bool
        End with a sigmoid (the course's ``Dense(1, activation='sigmoid')``,
        for loss ``'bce'``); the default outputs the logit (loss ``'bce_with_logits'``).

    Shape:
        - Input: (N, in_channels, image_size, image_size), default (N, 3, 64, 64)
        - Output: (N, 1)
    """

    def __init__(self, in_channels: int = 3, image_size: int = 64, probabilities: bool = False):
        s = check_size(conv_size(image_size, 7, pad=3) // 2, type(self).__name__, image_size)
        layers = {
            "zero_pad": ZeroPadding2D(3),
            "conv": Conv2D(in_channels, 32, 7),
            "bn": BatchNorm2d(32, **KERAS_BN), "relu": nn.ReLU(),
            "pool": MaxPool2D(2),
            "flatten": nn.Flatten(),
            "fc": keras_dense(32 * s * s, 1),
        }
        if probabilities:
            layers["sigmoid"] = nn.Sigmoid()
        super().__init__(layers)
        self.args = {"in_channels": in_channels, "image_size": image_size, "probabilities": probabilities}


__all__ = ["HappyModel", "KERAS_BN", "SignsConvNet"]
