"""Loss and optimizer names accepted by ``Model.compile``, and target checks.

Targets are checked and converted once per ``fit`` (never per batch):

* ``"cross_entropy"``: integer class labels (N,) or floating one-hot /
  probability targets (N, C); float labels of shape (N,) are an error.
* ``"bce"``, ``"bce_with_logits"``, ``"mse"``, ``"mae"``: numeric targets,
  converted to the default float dtype (0/1 integer labels are fine); a
  target of shape (N,) meets an output of shape (N, 1) (reshaped per batch).
"""
from __future__ import annotations

import numpy

from ngrad.backend import get_default_dtype
from ngrad.tensor import _wrap
from ngrad.errors import DTypeError
from ngrad.ops import loss as L

__all__ = ["get_loss", "get_optimizer", "prepare_targets"]

_ALIASES = {
    "cross_entropy": "cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "bce": "bce",
    "binary_cross_entropy": "bce",
    "binary_crossentropy": "bce",
    "bce_with_logits": "bce_with_logits",
    "binary_cross_entropy_with_logits": "bce_with_logits",
    "mse": "mse",
    "mean_squared_error": "mse",
    "mae": "mae",
    "l1": "mae",
    "mean_absolute_error": "mae",
}
_ELEMENTWISE = {"bce": L.binary_cross_entropy, "bce_with_logits": L.binary_cross_entropy_with_logits,
                "mse": L.mse_loss, "mae": L.l1_loss}


def get_loss(spec):
    """``(name, fn)`` for a loss name or callable; ``fn(y_hat: Tensor, y: Tensor) -> scalar Tensor``.

    ``name`` is the canonical name (``"cross_entropy"``, ``"bce"``,
    ``"bce_with_logits"``, ``"mse"``, ``"mae"``) or ``None`` for a callable
    (a function or a loss module called as ``loss(y_hat, y)``).
    """
    if isinstance(spec, str):
        name = _ALIASES.get(spec.lower())
        if name is None:
            raise ValueError(f"unknown loss {spec!r}; use one of {sorted(set(_ALIASES.values()))} or a callable")
        if name == "cross_entropy":
            return name, L.cross_entropy
        return name, _match_shape(_ELEMENTWISE[name])
    if callable(spec):
        return None, spec
    raise TypeError(f"loss must be a name or a callable loss(y_hat, y), got {type(spec).__name__}")


def _match_shape(fn):
    """Wrap an elementwise loss so targets (N,) meet outputs (N, 1) and vice versa."""

    def loss(y_hat, y):
        if y.shape != y_hat.shape and y.size == y_hat.size:
            y = _wrap(y.data.reshape(y_hat.shape), False, None)
        return fn(y_hat, y)

    loss.__name__ = fn.__name__
    return loss


def prepare_targets(loss_name, y, who: str):
    """Check ``y`` (an ndarray) for loss ``loss_name`` and convert it once; see the module doc."""
    if loss_name is None:
        return y
    if loss_name == "cross_entropy":
        if y.dtype.kind in "iu":
            return y
        if y.dtype.kind == "f" and y.ndim >= 2:
            return y.astype(get_default_dtype(), copy=False)
        raise DTypeError(
            f"{who}: loss 'cross_entropy' takes integer class labels of shape (N,) or floating one-hot "
            f"targets of shape (N, C); got {y.dtype} targets of shape {y.shape}"
            + (" (convert labels with y.astype(int))" if y.dtype.kind in "fb" and y.ndim == 1 else "")
        )
    if y.dtype.kind not in "biuf":
        raise DTypeError(f"{who}: loss {loss_name!r} needs numeric targets, got dtype {y.dtype}")
    if loss_name in ("bce", "bce_with_logits") and y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(
            f"{who}: loss {loss_name!r} needs targets in [0, 1], got values in [{y.min()}, {y.max()}]"
        )
    return y.astype(get_default_dtype(), copy=False)


_OPTIMIZERS = {"sgd": "SGD", "momentum": "Momentum", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}
_NEEDS_LR = {"sgd": 0.01, "momentum": 0.01}  # their constructors have no default lr


def get_optimizer(spec, module, lr=None):
    """An optimizer over ``module.named_parameters()`` from a name, or ``spec`` itself.

    With an optimizer instance, ``lr`` (when given) is set on every group.
    """
    from ngrad import optim

    if isinstance(spec, optim.Optimizer):
        if lr is not None:
            for group in spec.param_groups:
                group["lr"] = lr
        return spec
    if not isinstance(spec, str) or spec.lower() not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {spec!r}; use one of {sorted(_OPTIMIZERS)} or an Optimizer")
    name = spec.lower()
    params = list(module.named_parameters())
    if not params:
        raise ValueError(f"compile: {type(module).__name__} has no parameters to optimize")
    kwargs = {} if lr is None and name not in _NEEDS_LR else {"lr": lr if lr is not None else _NEEDS_LR[name]}
    return getattr(optim, _OPTIMIZERS[name])(params, **kwargs)


def as_numpy_targets(y) -> numpy.ndarray:
    """Targets as an ndarray (Tensors unwrapped)."""
    return numpy.asarray(getattr(y, "data", y))
