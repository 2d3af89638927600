"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``.

Both give each clipped parameter a new ``.grad`` tensor instead of writing into
the old array: an array handed out by backward may be shared (the engine
copies before storing only when it knows of a second holder), so in-place
scaling could change a gradient somebody else still reads.
"""
from __future__ import annotations

import math

from ngrad.backend import get_array_module
from ngrad.tensor import Tensor, _wrap


def _with_grads(parameters) -> list:
    from ngrad.nn.module import Module

    if isinstance(parameters, Module):
        parameters = parameters.parameters()
    elif isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def grad_norm(parameters, norm_type: float = 2.0) -> float:
    """The ``norm_type``-norm of all gradients together, as if concatenated into one vector."""
    norm_type = float(norm_type)
    norms = [float(get_array_module(p.grad.data).linalg.norm(p.grad.data.ravel(), norm_type))
             for p in _with_grads(parameters)]
    if not norms:
        return 0.0
    if math.isinf(norm_type):
        return max(norms)
    return math.fsum(n**norm_type for n in norms) ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    Parameters
    ----------
    parameters : Module, Tensor or iterable of Tensors
        Parameters without a gradient are skipped.
    max_norm : float
    norm_type : float
        2 (default), 1, any p, or ``float('inf')`` (the largest absolute value).
    error_if_nonfinite : bool
        Raise ``RuntimeError`` when the total norm is nan or inf.

    Returns
    -------
    float
        The total norm before clipping.
    """
    params = _with_grads(parameters)
    total = grad_norm(params, norm_type)
    if not math.isfinite(total):
        if error_if_nonfinite:
            raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}")
        return total
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            g = p.grad.data
            p.grad = _wrap(g * g.dtype.type(coef), False, None)
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``."""
    c = float(clip_value)
    if c < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for p in _with_grads(parameters):
        xp = get_array_module(p.grad.data)
        p.grad = _wrap(xp.clip(p.grad.data, -c, c), False, None)
