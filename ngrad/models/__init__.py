"""Convolutional networks of Course 4, built from ``ngrad.nn`` layers (NCHW images, logits out).

==========================  ============================================================
model                       what it is
==========================  ============================================================
:class:`LeNet5`             LeNet-5 (61,706 parameters on 32x32x1)
:class:`SignsConvNet`       the course's SIGNS ConvNet (C4W1, 1,310 parameters)
:class:`HappyModel`         the course's Happy-House model (C4W1, 37,633 parameters)
:class:`IdentityBlock`,     the course's ResNet blocks (C4W2)
:class:`ConvBlock`
:class:`ResNet50`           the course's ResNet-50 (23,600,006 parameters on 64x64x3, 6 classes)
:class:`ResNet`,            small ResNets of basic blocks for CPU training
:func:`resnet8` ...
:class:`InceptionModule`,   GoogLeNet's module and a small network of them
:class:`InceptionNet`
:class:`InvertedResidual`,  MobileNetV2's block, the network and a small version
:class:`MobileNetV2`,
:func:`mobilenet_v2_small`
==========================  ============================================================

Every model is a module class registered for ``ngrad.nn.from_config``, so
``ngrad.io.save_model`` / ``load_model`` round-trip them (import
``ngrad.models`` before loading).
"""
from ngrad.models._util import ReLU6
from ngrad.models.course import HappyModel, SignsConvNet
from ngrad.models.inception import InceptionModule, InceptionNet
from ngrad.models.lenet import LeNet5
from ngrad.models.mobilenet import InvertedResidual, MobileNetV2, mobilenet_v2_small
from ngrad.models.resnet import BasicBlock, ConvBlock, IdentityBlock, ResNet, ResNet50, resnet8, resnet14, resnet20

__all__ = [
    "BasicBlock", "ConvBlock", "HappyModel", "IdentityBlock", "InceptionModule", "InceptionNet", "InvertedResidual",
    "LeNet5", "MobileNetV2", "ReLU6", "ResNet", "ResNet50", "SignsConvNet", "mobilenet_v2_small", "resnet14",
    "resnet20", "resnet8",
]
