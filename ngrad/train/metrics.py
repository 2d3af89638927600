"""Streaming metrics for the training loop: updated per batch, averaged per epoch.

A metric accumulates ``total`` and ``count`` over the batches of an epoch and
reports ``total / count``, so every example weighs the same whatever the
batch sizes (the last, smaller batch counts for what it holds). Updates take
plain arrays: the model's output ``y_hat`` (N, ...) and the targets ``y``.

>>> import numpy as np
>>> acc = Accuracy()
>>> acc.update(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
>>> acc.update(np.array([[1.0, 0.0]]), np.array([0]))
>>> acc.result()
0.6666666666666666
"""
from __future__ import annotations

import math

import numpy

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean", "MeanMetricWrapper", "Metric", "get_metric"]


class Metric:
    """Base of streaming metrics: ``update`` per batch, ``result`` per epoch, ``reset`` between."""

    name = "metric"

    def __init__(self, name: str | None = None):
        if name is not None:
            self.name = name
        self.reset()

    def reset(self) -> None:
        """Forget every update (start of an epoch)."""
        self.total = 0.0
        self.count = 0

    def update(self, y_hat, y) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self) -> float:
        """The average over everything seen since :meth:`reset` (nan before any update)."""
        return self.total / self.count if self.count else math.nan

    def get_state(self) -> list:
        """``[total, count]``, exact through JSON (a resumed epoch continues the same sums)."""
        return [self.total, self.count]

    def set_state(self, state) -> None:
        self.total, self.count = state[0], int(state[1])

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The example-weighted mean of per-batch values (the loss): ``update_value(v, n)``."""

    name = "loss"

    def update_value(self, value: float, n: int) -> None:
        """Add a batch of ``n`` examples whose mean is ``value``."""
        self.total += value * n
        self.count += n


class CategoricalAccuracy(Metric):
    """Fraction of examples whose largest score is the true class.

    Shapes: ``y_hat`` (N, C) scores (logits or probabilities); ``y`` (N,)
    integer labels or (N, C) one-hot / probabilities.
    """

    name = "accuracy"

    def update(self, y_hat, y) -> None:
        pred = y_hat.argmax(axis=-1)
        if y.ndim == y_hat.ndim:
            y = y.argmax(axis=-1)
        self.total += int(numpy.count_nonzero(pred == y))
        self.count += pred.size


class BinaryAccuracy(Metric):
    """Fraction of examples on the right side of ``threshold``.

    Shapes: ``y_hat`` and ``y`` (N,) or (N, 1) (same number of elements).
    ``threshold`` is 0.5 for probabilities and 0 for logits (``from_logits``).
    """

    name = "accuracy"

    def __init__(self, name: str | None = None, threshold: float | None = None, from_logits: bool = False):
        self.threshold = threshold if threshold is not None else (0.0 if from_logits else 0.5)
        super().__init__(name)

    def update(self, y_hat, y) -> None:
        pred = y_hat.reshape(-1) > self.threshold
        self.total += int(numpy.count_nonzero(pred == (y.reshape(-1) > 0.5)))
        self.count += pred.size


class Accuracy(Metric):
    """Accuracy that picks its rule from the output: argmax for (N, C > 1), a threshold otherwise."""

    name = "accuracy"

    def __init__(self, name: str | None = None, from_logits: bool = False):
        self._categorical = CategoricalAccuracy()
        self._binary = BinaryAccuracy(from_logits=from_logits)
        super().__init__(name)

    def update(self, y_hat, y) -> None:
        rule = self._categorical if y_hat.ndim > 1 and y_hat.shape[-1] > 1 else self._binary
        before = rule.total, rule.count
        rule.update(y_hat, y)
        self.total += rule.total - before[0]
        self.count += rule.count - before[1]


class MeanMetricWrapper(Metric):
    """A user function ``fn(y_hat, y) -> float`` (the batch mean), averaged over examples."""

    def __init__(self, fn, name: str | None = None):
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", type(fn).__name__))

    def update(self, y_hat, y) -> None:
        n = len(y_hat) if numpy.ndim(y_hat) else 1
        self.total += float(self.fn(y_hat, y)) * n
        self.count += n


def _mse(y_hat, y):
    return float(numpy.mean((y_hat - y.reshape(y_hat.shape)) ** 2))


def _mae(y_hat, y):
    return float(numpy.mean(numpy.abs(y_hat - y.reshape(y_hat.shape))))


def get_metric(spec, loss_name: str | None = None) -> Metric:
    """A fresh :class:`Metric` from a name, a function or a Metric.

    ``"accuracy"`` (``"acc"``) follows the loss as Keras does: argmax for
    ``cross_entropy``, a 0.5 threshold for ``bce``, 0 for ``bce_with_logits``,
    and the output's shape otherwise. Also ``"binary_accuracy"``,
    ``"categorical_accuracy"``, ``"mse"``, ``"mae"``.
    """
    if isinstance(spec, Metric):
        return spec
    logits = loss_name == "bce_with_logits"
    if spec in ("accuracy", "acc"):
        if loss_name == "cross_entropy":
            return CategoricalAccuracy()
        if loss_name in ("bce", "bce_with_logits"):
            return BinaryAccuracy(from_logits=logits)
        return Accuracy()
    if spec == "binary_accuracy":
        return BinaryAccuracy(name="binary_accuracy", from_logits=logits)
    if spec == "categorical_accuracy":
        return CategoricalAccuracy(name="categorical_accuracy")
    if spec in ("mse", "mean_squared_error"):
        return MeanMetricWrapper(_mse, name="mse")
    if spec in ("mae", "mean_absolute_error"):
        return MeanMetricWrapper(_mae, name="mae")
    if callable(spec):
        return MeanMetricWrapper(spec)
    raise ValueError(
        f"unknown metric {spec!r}; use 'accuracy', 'binary_accuracy', 'categorical_accuracy', "
        f"'mse', 'mae', a Metric or a function fn(y_hat, y) -> float"
    )
