"""ngrad: a deep-learning library on NumPy alone.

Tensors with reverse-mode autograd, a complete op library, gradient checking,
and (in ``ngrad.nn``, ``ngrad.optim``, ``ngrad.data``) the layers, optimizers
and data tools of the Deep Learning Specialization.

>>> import ngrad
>>> x = ngrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from ngrad.backend import (
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    set_default_dtype,
)
from ngrad import heap as _heap

_heap._from_environment()  # keep freed array memory for reuse (glibc): see ngrad.heap

from ngrad.creation import (
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from ngrad.errors import DTypeError, ShapeError
from ngrad.function import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ngrad.ops.activation import elu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from ngrad.ops.elementwise import (
    abs,
    add,
    cast,
    clip,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    sqrt,
    sub,
    where,
)
from ngrad.ops.index import getitem
from ngrad.ops.linalg import matmul
from ngrad.ops.reduce import argmax, argmin, logsumexp, max, mean, min, std, sum, var
from ngrad.ops.shape import (
    broadcast_to,
    cat,
    concatenate,
    expand,
    flatten,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
)
from ngrad.random import get_generator, manual_seed
from ngrad.tensor import Tensor
from ngrad.testing.gradcheck import gradcheck
# The toolkit, after the core it builds on.
from ngrad import data, nn, optim  # noqa: E402
from ngrad.io import (  # noqa: E402
    load,
    load_checkpoint,
    load_model,
    load_weights,
    save,
    save_checkpoint,
    save_model,
    save_weights,
)
from ngrad.train import Model  # noqa: E402
from ngrad import error_analysis, metrics, tune  # noqa: E402
from ngrad.diagnose import diagnose, diagnose_model  # noqa: E402

clamp = clip

__version__ = "0.1.0"
