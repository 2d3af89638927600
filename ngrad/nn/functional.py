"""Functional forms of layers, activations and losses (``ngrad.nn.functional as F``)."""
from ngrad.nn.layers.dropout import dropout
from ngrad.nn.regularization import l2_penalty
from ngrad.ops.conv import conv2d, conv2d_relu_max_pool2d, conv_transpose2d, to_nchw, to_nhwc
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
from ngrad.ops.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from ngrad.ops.upsample import upsample2d, zero_pad2d

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "conv2d_relu_max_pool2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "elu",
    "global_avg_pool2d",
    "l1_loss",
    "l2_penalty",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
    "to_nchw",
    "to_nhwc",
    "upsample2d",
    "zero_pad2d",
]
