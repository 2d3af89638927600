"""Neural-network building blocks: ``Module``, ``Parameter``, layers, containers,
image layers (NCHW: ``Conv2D``, ``MaxPool2D``, ``BatchNorm2d``...), initializers
(``ngrad.nn.init``), loss modules, L2 regularization, gradient clipping
(``ngrad.nn.utils``), transfer learning (``ngrad.nn.transfer``) and a
Keras-style ``summary``.

>>> import ngrad
>>> from ngrad import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
>>> model(ngrad.randn(2, 4)).shape
(2, 1)
"""
from ngrad.nn import functional, init, utils
from ngrad.nn.config import from_config, get_layer_class, register_layer, to_config
from ngrad.nn.containers import ModuleDict, ModuleList, Sequential
from ngrad.nn.hooks import RemovableHandle, register_module_forward_hook
from ngrad.nn.layers.activation import ELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ngrad.nn.layers.conv import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from ngrad.nn.layers.dropout import Dropout
from ngrad.nn.layers.linear import Linear
from ngrad.nn.layers.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss
from ngrad.nn.layers.normalization import BatchNorm1d, LayerNorm
from ngrad.nn.layers.normalization_conv import BatchNorm2d
from ngrad.nn.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D, UpSampling2D, ZeroPadding2D
from ngrad.nn.layers.shape import Flatten, Identity
from ngrad.nn.module import IncompatibleKeys, Module
from ngrad.nn.parameter import Parameter
from ngrad.nn.regularization import l2_penalty
from ngrad.nn.summary import summary
from ngrad.nn.utils import clip_grad_norm_, clip_grad_value_
from ngrad.nn import transfer  # noqa: E402  (after the layers it works on)

__all__ = [
    # base
    "Module", "Parameter", "IncompatibleKeys", "RemovableHandle", "register_module_forward_hook",
    # containers
    "Sequential", "ModuleList", "ModuleDict",
    # layers
    "Linear", "Dropout", "BatchNorm1d", "LayerNorm", "Flatten", "Identity",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "Softmax", "LogSoftmax", "Softplus",
    # image layers (NCHW)
    "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "BatchNorm2d",
    "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "ZeroPadding2D", "UpSampling2D",
    # losses
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "L1Loss",
    # configs
    "to_config", "from_config", "get_layer_class", "register_layer",
    # tools
    "summary", "l2_penalty", "clip_grad_norm_", "clip_grad_value_",
    # sub-modules
    "functional", "init", "transfer", "utils",
]
