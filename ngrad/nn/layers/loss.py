"""Loss modules over the losses of ``ngrad.ops.loss``: ``loss_fn = nn.CrossEntropyLoss(); loss_fn(logits, y)``.

Every loss takes ``reduction``: ``'mean'`` (default), ``'sum'`` or ``'none'``.
"""
from __future__ import annotations

from ngrad.nn.module import Module
from ngrad.ops import loss as _loss

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""

    def get_config(self) -> dict:
        return {"reduction": self.reduction}


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (after a sigmoid) against 0/1 targets.

    Shape: input (*) in [0, 1], target (*) floating, same shape -> scalar (or (*) for 'none').
    Prefer :class:`BCEWithLogitsLoss` on raw scores.
    """

    def forward(self, y_hat, y):
        return _loss.binary_cross_entropy(y_hat, y, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(z)``, computed stably from logits ``z``.

    Shape: input (*) logits, target (*) floating, same shape -> scalar (or (*) for 'none').
    """

    def forward(self, z, y):
        return _loss.binary_cross_entropy_with_logits(z, y, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits, with integer labels or probability (one-hot) targets.

    Shape:
        - Input: (N, C) or (N, C, d1, ...), classes on ``axis`` (default 1, as PyTorch)
        - Target: integer labels (N, d1, ...) or floating probabilities shaped like the input
        - Output: scalar, or (N, d1, ...) for reduction 'none'
    """

    def __init__(self, axis: int = 1, reduction: str = "mean"):
        super().__init__(reduction)
        self.axis = int(axis)

    def forward(self, logits, target):
        return _loss.cross_entropy(logits, target, axis=self.axis, reduction=self.reduction)

    def extra_repr(self) -> str:
        return ", ".join(s for s in [f"axis={self.axis}" if self.axis != 1 else "", super().extra_repr()] if s)

    def get_config(self) -> dict:
        return {"axis": self.axis, "reduction": self.reduction}


class MSELoss(_Loss):
    """Mean squared error ``(y_hat - y)**2``. Shape: (*) and (*), same shape -> scalar (or (*))."""

    def forward(self, y_hat, y):
        return _loss.mse_loss(y_hat, y, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|y_hat - y|``. Shape: (*) and (*), same shape -> scalar (or (*))."""

    def forward(self, y_hat, y):
        return _loss.l1_loss(y_hat, y, reduction=self.reduction)
