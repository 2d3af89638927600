"""Functional forms of activations and losses (``ngrad.nn.functional as F``)."""
from ngrad.ops.activation import elu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from ngrad.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "elu",
    "l1_loss",
    "leaky_relu",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]
