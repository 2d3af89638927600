"""Functional forms of layers, activations and losses (``ngrad.nn.functional as F``)."""
from ngrad.nn.layers.dropout import dropout
from ngrad.nn.regularization import l2_penalty
from ngrad.ops.activation import elu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from ngrad.ops.linear_fused import linear
from ngrad.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
)
from ngrad.ops.normalization import batch_norm, layer_norm

__all__ = [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "l1_loss",
    "l2_penalty",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]
