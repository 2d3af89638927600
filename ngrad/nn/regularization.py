"""L2 regularization as Course 2's cost term.

    J_regularized = J + lambd / (2 m) * sum_l ||W[l]||_F^2

:func:`l2_penalty` returns the second term as a differentiable scalar, so
adding it to the loss before ``backward()`` adds the course's
``lambd / m * W[l]`` to each ``dW[l]``.
"""
from __future__ import annotations

from ngrad.creation import tensor
from ngrad.nn.module import Module
from ngrad.tensor import Tensor


def regularized_weights(parameters, weights_only: bool = True) -> list:
    """The tensors an L2 penalty covers: by default the weight matrices (2 axes or more).

    Biases, and BatchNorm's or LayerNorm's gamma and beta, have one axis and
    are left out, as the course regularizes only ``W[1] ... W[L]``.
    ``parameters`` may be a Module, one Tensor, or an iterable of Tensors or
    ``(name, Tensor)`` pairs (``named_parameters()``).
    """
    if isinstance(parameters, Module):
        parameters = parameters.parameters()
    elif isinstance(parameters, Tensor):
        parameters = [parameters]
    params = [p[1] if isinstance(p, tuple) else p for p in parameters]
    return [p for p in params if not weights_only or p.ndim >= 2]


def l2_penalty(parameters, lambd: float, m: int, weights_only: bool = True) -> Tensor:
    """``lambd / (2 m) * sum ||W||^2`` over the weight matrices of ``parameters`` (a Module or tensors).

    Parameters
    ----------
    parameters : Module, Tensor or iterable
        Where the weights are (see :func:`regularized_weights`).
    lambd : float
        The regularization strength (the course's ``lambd``).
    m : int
        The number of training examples the loss averages over (the batch size
        for a mini-batch loss).
    weights_only : bool
        Leave 1-axis parameters (biases, normalization gains) out. ``False``
        penalizes every parameter, like PyTorch's ``weight_decay``.

    Returns
    -------
    Tensor
        A differentiable scalar (0 when there is nothing to penalize).

    >>> import ngrad
    >>> from ngrad import nn
    >>> layer = nn.Linear(2, 1, bias=True)
    >>> with ngrad.no_grad():
    ...     layer.weight[...] = 1.0
    >>> round(float(nn.l2_penalty(layer, lambd=0.7, m=10)), 6)  # 0.7 / 20 * (1 + 1)
    0.07
    """
    if m <= 0:
        raise ValueError(f"l2_penalty: m (the number of examples) must be positive, got {m}")
    weights = regularized_weights(parameters, weights_only)
    if not weights:
        return tensor(0.0)
    total = None
    for W in weights:
        sq = (W * W).sum()
        total = sq if total is None else total + sq
    return total * (lambd / (2.0 * m))
