"""Losses: binary cross-entropy (on probabilities and on logits), softmax
cross-entropy (integer labels or probability targets), mean squared error, L1.

Every loss takes ``reduction``: ``'mean'`` (default), ``'sum'`` or ``'none'``
(the per-element or per-sample losses). Targets are checked: shapes must match
the prediction, class labels must be integers in range, and BCE targets must
be floating (the course's 0/1 label arrays converted with ``.astype(float)``).
"""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.errors import DTypeError, ShapeError
from ngrad.function import Function
from ngrad.ops._util import as_tensor
from ngrad.ops.activation import log_softmax_array, stable_sigmoid
from ngrad.ops.reduce import Mean, Sum

_LOG_FLOOR = -100.0  # BCE clamps log(p) here, as PyTorch does, so p = 0 or 1 stays finite


def _reduce(loss, reduction: str, op: str):
    if reduction == "mean":
        return Mean.apply(loss)
    if reduction == "sum":
        return Sum.apply(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _target(target, like, op: str, floating: bool):
    """Check and convert a target tensor for loss ``op``."""
    target = as_tensor(target)
    if floating and target.dtype.kind != "f":
        raise DTypeError(
            f"{op}: targets must be floating point (got {target.dtype}); "
            f"convert 0/1 labels with y.astype(ngrad.float32) / .astype(float)"
        )
    if target.shape != like.shape:
        raise ShapeError(
            f"{op}: target shape {target.shape} does not match input shape {like.shape}"
            + (" (a column vector against a flat one? reshape one of them)" if target.size == like.size else "")
        )
    return target


class BinaryCrossEntropy(Function):
    """``-(y log p + (1 - y) log(1 - p))`` with the logs floored at -100."""

    name = "binary_cross_entropy"

    def forward(ctx, p, y):
        xp = get_array_module(p)
        with _ignore_divide(xp):
            log_p = xp.maximum(xp.log(p), _LOG_FLOOR)
            log_q = xp.maximum(xp.log1p(-p), _LOG_FLOOR)
        ctx.save_for_backward(p, y, log_p, log_q)
        return -(y * log_p + (1 - y) * log_q)

    def backward(ctx, g):
        p, y, log_p, log_q = ctx.saved_tensors
        xp = get_array_module(g)
        gp = gy = None
        if ctx.needs_input_grad[0]:
            gp = g * (p - y) / xp.maximum(p * (1 - p), 1e-12)
        if ctx.needs_input_grad[1]:
            gy = g * (log_q - log_p)
        return gp, gy


class BCEWithLogits(Function):
    """``max(z, 0) - z y + log(1 + exp(-|z|))``: BCE of ``sigmoid(z)``, never overflowing."""

    name = "binary_cross_entropy_with_logits"

    def forward(ctx, z, y):
        xp = get_array_module(z)
        ctx.save_for_backward(z, y)
        return xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))

    def backward(ctx, g):
        z, y = ctx.saved_tensors
        xp = get_array_module(g)
        gz = g * (stable_sigmoid(z, xp) - y) if ctx.needs_input_grad[0] else None
        gy = -g * z if ctx.needs_input_grad[1] else None
        return gz, gy


class CrossEntropyLabels(Function):
    """Softmax cross-entropy from logits and integer class labels.

    Shapes: logits (N, C, d1, ...) with classes on ``axis``; labels (N, d1, ...);
    output (N, d1, ...) per-sample losses.
    """

    name = "cross_entropy"

    def forward(ctx, logits, labels, axis=1):
        xp = get_array_module(logits)
        logp = log_softmax_array(logits, axis, xp)
        idx = xp.expand_dims(labels, axis)
        ctx.save_for_backward(logp, idx)
        ctx.axis = axis
        return -xp.take_along_axis(logp, idx, axis=axis).squeeze(axis)

    def backward(ctx, g):
        logp, idx = ctx.saved_tensors
        xp = get_array_module(g)
        g = xp.expand_dims(g, ctx.axis)
        grad = xp.exp(logp) * g  # softmax * g
        xp.put_along_axis(grad, idx, xp.take_along_axis(grad, idx, axis=ctx.axis) - g, axis=ctx.axis)
        return grad, None


class CrossEntropyLabelsReduced(Function):
    """Softmax cross-entropy of (N, C) logits against (N,) labels, reduced to its mean or sum.

    The common classifier case in one node: rows indexed directly instead of
    through ``take_along_axis``, and the reduction folded into the backward.
    The numbers are those of :class:`CrossEntropyLabels` followed by ``Mean``
    or ``Sum``, operation for operation.
    """

    name = "cross_entropy"

    def forward(ctx, logits, labels, mean=True):
        xp = get_array_module(logits)
        logp = log_softmax_array(logits, 1, xp)  # (N, C)
        rows = xp.arange(logits.shape[0])
        ctx.save_for_backward(logp, rows, labels)
        ctx.mean = mean
        losses = -logp[rows, labels]  # (N,)
        return losses.mean() if mean else losses.sum()

    def backward(ctx, g):
        logp, rows, labels = ctx.saved_tensors
        xp = get_array_module(g)
        if ctx.mean:
            g = g / logp.shape[0]
        grad = xp.exp(logp) * g  # softmax * g
        grad[rows, labels] -= g
        return grad, None


class CrossEntropyProbs(Function):
    """Softmax cross-entropy from logits and probability (or one-hot) targets."""

    name = "cross_entropy"

    def forward(ctx, logits, target, axis=1):
        xp = get_array_module(logits)
        logp = log_softmax_array(logits, axis, xp)
        ctx.save_for_backward(logp, target)
        ctx.axis = axis
        return -(target * logp).sum(axis=axis)

    def backward(ctx, g):
        logp, target = ctx.saved_tensors
        xp = get_array_module(g)
        g = xp.expand_dims(g, ctx.axis)
        gz = g * (xp.exp(logp) * target.sum(axis=ctx.axis, keepdims=True) - target) if ctx.needs_input_grad[0] else None
        gt = -g * logp if ctx.needs_input_grad[1] else None
        return gz, gt


class _ignore_divide:
    """``errstate(divide='ignore')`` for whichever array module is in use."""

    def __init__(self, xp):
        self.cm = xp.errstate(divide="ignore") if hasattr(xp, "errstate") else None

    def __enter__(self):
        if self.cm is not None:
            self.cm.__enter__()

    def __exit__(self, *exc):
        if self.cm is not None:
            self.cm.__exit__(*exc)
        return False


# ----------------------------------------------------------- functional API
def binary_cross_entropy(p, y, reduction="mean"):
    """Binary cross-entropy of probabilities ``p`` (in [0, 1]) against targets ``y``.

    Shapes: ``p`` and ``y`` identical (any shape). Prefer
    :func:`binary_cross_entropy_with_logits` on raw scores: it is exact where
    ``sigmoid`` saturates.
    """
    op = "binary_cross_entropy"
    p = as_tensor(p)
    y = _target(y, p, op, floating=True)
    if p.dtype.kind != "f":
        raise DTypeError(f"{op}: input probabilities must be floating point, got {p.dtype}")
    if p.size and (p.data.min() < 0 or p.data.max() > 1):
        raise ValueError(
            f"{op}: input probabilities must lie in [0, 1] (got values in "
            f"[{float(p.data.min()):.4g}, {float(p.data.max()):.4g}]); "
            f"for raw scores use binary_cross_entropy_with_logits"
        )
    return _reduce(BinaryCrossEntropy.apply(p, y), reduction, op)


def binary_cross_entropy_with_logits(z, y, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(z)`` against ``y``, computed stably from logits ``z``.

    Shapes: ``z`` and ``y`` identical (any shape).
    """
    op = "binary_cross_entropy_with_logits"
    z = as_tensor(z)
    y = _target(y, z, op, floating=True)
    return _reduce(BCEWithLogits.apply(z, y), reduction, op)


def cross_entropy(logits, target, axis=1, reduction="mean"):
    """Softmax cross-entropy from raw scores.

    Parameters
    ----------
    logits : Tensor, shape (N, C) or (N, C, d1, ...)
        Unnormalised class scores, classes on ``axis`` (1, as PyTorch; use
        ``axis=-1`` for (N, T, C) sequences).
    target : Tensor
        Either integer class labels shaped like ``logits`` without ``axis``,
        or floating probabilities (e.g. one-hot) shaped like ``logits``.
    reduction : {'mean', 'sum', 'none'}
        'none' returns the per-sample losses (N, d1, ...).
    """
    op = "cross_entropy"
    logits = as_tensor(logits)
    if logits.ndim < 1:
        raise ShapeError(f"{op}: logits must have a class axis, got shape {logits.shape}")
    axis = axis % logits.ndim
    target = as_tensor(target)
    if target.dtype.kind in "iu":
        expected = logits.shape[:axis] + logits.shape[axis + 1 :]
        if target.shape != expected:
            raise ShapeError(
                f"{op}: integer labels must have shape {expected} for logits of shape {logits.shape} "
                f"(classes on axis {axis}), got {target.shape}"
            )
        n_classes = logits.shape[axis]
        if target.size and (target.data.min() < 0 or target.data.max() >= n_classes):
            raise ValueError(
                f"{op}: labels must lie in [0, {n_classes - 1}] for {n_classes} classes, "
                f"got values in [{int(target.data.min())}, {int(target.data.max())}]"
            )
        if logits.ndim == 2 and axis == 1 and reduction in ("mean", "sum"):
            return CrossEntropyLabelsReduced.apply(logits, target, mean=reduction == "mean")
        loss = CrossEntropyLabels.apply(logits, target, axis=axis)
    elif target.dtype.kind == "f":
        target = _target(target, logits, op, floating=True)
        loss = CrossEntropyProbs.apply(logits, target, axis=axis)
    else:
        raise DTypeError(f"{op}: targets must be integer labels or floating probabilities, got {target.dtype}")
    return _reduce(loss, reduction, op)


def mse_loss(y_hat, y, reduction="mean"):
    """Mean squared error ``(y_hat - y)**2``; shapes must match exactly."""
    op = "mse_loss"
    y_hat = as_tensor(y_hat)
    y = _target(y, y_hat, op, floating=True)
    d = y_hat - y
    return _reduce(d * d, reduction, op)


def l1_loss(y_hat, y, reduction="mean"):
    """Mean absolute error ``|y_hat - y|``; shapes must match exactly."""
    op = "l1_loss"
    y_hat = as_tensor(y_hat)
    y = _target(y, y_hat, op, floating=True)
    return _reduce(abs(y_hat - y), reduction, op)
