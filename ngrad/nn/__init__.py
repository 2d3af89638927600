"""Neural-network building blocks: ``Module``, ``Parameter``, layers, containers,
initializers (``ngrad.nn.init``), loss modules, regularization and ``summary``.

>>> import ngrad
>>> from ngrad import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
>>> model(ngrad.randn(2, 4)).shape
(2, 1)
"""
from ngrad.nn import functional, init
from ngrad.nn.config import from_config, get_layer_class, register_layer, to_config
from ngrad.nn.containers import ModuleDict, ModuleList, Sequential
from ngrad.nn.hooks import RemovableHandle, register_module_forward_hook
from ngrad.nn.layers.activation import ELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ngrad.nn.layers.linear import Linear
from ngrad.nn.layers.shape import Flatten, Identity
from ngrad.nn.module import IncompatibleKeys, Module
from ngrad.nn.parameter import Parameter

__all__ = [
    "ELU", "Flatten", "Identity", "IncompatibleKeys", "LeakyReLU", "Linear", "LogSoftmax", "Module", "ModuleDict", "ModuleList",
    "Parameter", "ReLU", "RemovableHandle", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "from_config", "functional", "get_layer_class", "init", "register_layer", "register_module_forward_hook",
    "to_config",
]
