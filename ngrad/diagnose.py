"""Bias / variance / data-mismatch diagnosis, as taught in "Structuring Machine Learning Projects".

Line up the errors from the best you could hope for to the data you will be
judged on, and read the gaps between neighbours::

    human-level error   (proxy for Bayes error)
         | avoidable bias
    training error
         | variance
    train-dev error     (same distribution as training, never trained on)
         | data mismatch
    dev error
         | overfitting to the dev set
    test error

The largest gap says what to work on next; each gap has its own remedies
(orthogonalization: one knob per problem). Without a train-dev set the variance
is read as dev - train error.

>>> report = diagnose(human=0.01, train=0.08, dev=0.10)
>>> report.largest, round(report.avoidable_bias, 4), round(report.variance, 4)
('avoidable_bias', 0.07, 0.02)
>>> diagnose(human=0.075, train=0.08, dev=0.10).largest
'variance'
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field

__all__ = ["GAPS", "REMEDIES", "Diagnosis", "diagnose", "diagnose_model"]

#: The gaps in course order (ties go to the earlier one).
GAPS = ("avoidable_bias", "variance", "data_mismatch", "overfitting_dev")

GAP_TITLES = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "overfitting_dev": "overfitting to the dev set",
}

#: The course's remedies for each gap.
REMEDIES = {
    "avoidable_bias": [
        "Train a bigger model (more hidden units, more layers)",
        "Train longer, or use a better optimization algorithm (momentum, RMSprop, Adam)",
        "Try another NN architecture or search the hyperparameters (ngrad.tune)",
    ],
    "variance": [
        "Get more training data",
        "Regularize: L2, dropout, data augmentation",
        "Try another NN architecture or search the hyperparameters (ngrad.tune)",
    ],
    "data_mismatch": [
        "Carry out manual error analysis to understand how training and dev/test data differ "
        "(ngrad.error_analysis)",
        "Make the training data more similar to dev/test, or collect more data like the dev/test sets",
        "Artificial data synthesis (beware: the network may overfit to a synthesized subset "
        "of all possible examples)",
    ],
    "overfitting_dev": [
        "Get a bigger dev set (you have tuned to this one)",
    ],
}

SETS = ("human", "train", "train_dev", "dev", "test")
SET_TITLES = {
    "human": "human-level",
    "train": "training",
    "train_dev": "train-dev",
    "dev": "dev",
    "test": "test",
}


@dataclass
class Diagnosis:
    """Errors, the gaps between them, the largest gap and its remedies.

    All rates are *errors* (lower is better): a higher-is-better metric such as
    accuracy is converted as ``scale - value``; ``given`` keeps the numbers as
    passed. A gap is ``None`` when a set needed for it is missing.
    """

    human: float
    train: float
    dev: float
    train_dev: float | None = None
    test: float | None = None
    avoidable_bias: float | None = None
    variance: float | None = None
    data_mismatch: float | None = None
    overfitting_dev: float | None = None
    largest: str | None = None
    remedies: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    higher_is_better: bool = False
    scale: float = 1.0
    metric: str = "error"
    given: dict = field(default_factory=dict)

    @property
    def gaps(self) -> dict:
        """``{gap name: value}`` for the gaps that could be computed, in course order."""
        return {g: getattr(self, g) for g in GAPS if getattr(self, g) is not None}

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        return asdict(self)

    def __str__(self) -> str:
        fmt = self._format
        lines = [f"Diagnosis ({'errors = ' + self._scale_words() + ' - ' + self.metric if self.higher_is_better else 'error rates'})"]
        rows = [(s, getattr(self, s)) for s in SETS if getattr(self, s) is not None]
        gap_after = {"human": "avoidable_bias", "train": "variance", "train_dev": "data_mismatch", "dev": "overfitting_dev"}
        if self.train_dev is None:
            gap_after["train"] = "variance"
        for i, (s, err) in enumerate(rows):
            extra = f"  ({self.metric} {fmt(self.given[s])})" if self.higher_is_better else ""
            lines.append(f"  {SET_TITLES[s] + ' error':<20}{fmt(err):>8}{extra}")
            gap = gap_after.get(s)
            if i + 1 < len(rows) and gap is not None and getattr(self, gap) is not None:
                mark = "   <- largest" if gap == self.largest else ""
                lines.append(f"  {'':<4}{GAP_TITLES[gap] + ':':<30}{fmt(getattr(self, gap)):>8}{mark}")
        lines.append("")
        if self.largest is None:
            lines.append("No gap left to close: every error is at or below the one before it.")
        else:
            lines.append(f"Largest gap: {GAP_TITLES[self.largest]} ({fmt(self.gaps[self.largest])}). Try:")
            lines += [f"  - {r}" for r in self.remedies]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _format(self, x) -> str:
        if self.scale == 1.0:
            return f"{100 * x:.2f} %"
        if self.scale == 100.0:
            return f"{x:.2f} %"
        return f"{x:.4g}"

    def _scale_words(self) -> str:
        return {1.0: "100 %", 100.0: "100 %"}.get(self.scale, f"{self.scale:g}")


# --------------------------------------------------------------------- API
def diagnose(
    human=None, train=None, train_dev=None, dev=None, test=None, higher_is_better=False, scale=1.0, metric=None
):
    """Diagnose avoidable bias, variance, data mismatch and overfitting to dev.

    Parameters
    ----------
    human : float
        Human-level error (the course's proxy for Bayes error): the best a team
        of experts achieves.
    train, dev : float
        Training and dev error.
    train_dev : float, optional
        Error on a train-dev set (training distribution, not trained on). With
        it, variance = train_dev - train and data mismatch = dev - train_dev;
        without it, variance = dev - train.
    test : float, optional
        Test error: overfitting to dev = test - dev.
    higher_is_better : bool
        The numbers are a metric such as accuracy rather than errors; each is
        converted to an error as ``scale - value`` so the gaps keep their meaning.
    scale : float
        The metric's maximum: 1 for fractions (default), 100 for percentages.
    metric : str, optional
        The metric's name in the report (default ``"error"``, or ``"score"``
        when higher is better).

    Returns
    -------
    Diagnosis
        The errors, gaps, ``largest`` gap, its ``remedies`` and ``notes``.

    Raises
    ------
    ValueError
        A required number is missing, or a number is not finite, negative, or
        above ``scale``.
    """
    given = {"human": human, "train": train, "train_dev": train_dev, "dev": dev, "test": test}
    _check(given, scale)
    errors = {k: (None if v is None else _as_error(v, higher_is_better, scale)) for k, v in given.items()}
    gaps = _gaps(errors)
    largest = _largest(gaps)
    return Diagnosis(
        **errors,
        **gaps,
        largest=largest,
        remedies=list(REMEDIES[largest]) if largest else [],
        notes=_notes(errors, gaps),
        higher_is_better=bool(higher_is_better),
        scale=float(scale),
        metric=metric or ("score" if higher_is_better else "error"),
        given={k: (None if v is None else float(v)) for k, v in given.items()},
    )


def diagnose_model(predict, train, dev, train_dev=None, test=None, human=None, metric="error"):
    """Diagnose a model from its predict function and ``(X, y)`` data sets.

    Parameters
    ----------
    predict : callable
        ``predict(X)`` returns labels, shape ``(m,)`` (or class scores of shape
        ``(m, k)``, reduced by argmax). Tensors are accepted.
    train, dev : (X, y)
        The training and dev sets.
    train_dev, test : (X, y), optional
        A train-dev set and a test set.
    human : float
        Human-level performance in the chosen metric's terms (an error rate for
        ``"error"``, an accuracy for ``"accuracy"``...).
    metric : str or (callable, bool)
        ``"error"`` (misclassification rate, default), ``"accuracy"``, ``"f1"``,
        ``"precision"``, ``"recall"``, or ``(fn(y_true, y_pred), higher_is_better)``.

    Returns
    -------
    Diagnosis
    """
    fn, higher = _metric(metric)
    name = metric if isinstance(metric, str) else getattr(metric[0], "__name__", "score")
    if human is None:
        raise ValueError("diagnose_model needs human= (human-level performance in the metric's terms)")
    sets = {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
    values = {k: (None if xy is None else _evaluate(predict, xy, fn, k)) for k, xy in sets.items()}
    return diagnose(human=human, higher_is_better=higher, metric=name, **values)


# ----------------------------------------------------------------- helpers
def _check(given, scale):
    missing = [k for k in ("human", "train", "dev") if given[k] is None]
    if missing:
        raise ValueError(
            "diagnose needs human=, train= and dev= (missing: " + ", ".join(f"{m}=" for m in missing) + ")"
        )
    if not isinstance(scale, numbers.Real) or not scale > 0:
        raise ValueError(f"scale must be a positive number (1 for fractions, 100 for percentages), got {scale!r}")
    for name, v in given.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"{name}={v!r} is not a finite number")
        if v < 0:
            raise ValueError(f"{name}={v!r} is negative; rates and metrics lie in [0, {scale:g}]")
        if v > scale:
            hint = " (give fractions such as 0.12, or scale=100 for percentages)" if scale == 1 else ""
            raise ValueError(f"{name}={v!r} is outside [0, {scale:g}]{hint}")


def _as_error(v, higher_is_better, scale):
    return float(scale - v) if higher_is_better else float(v)


def _gaps(e):
    reference = e["train_dev"] if e["train_dev"] is not None else e["dev"]
    return {
        "avoidable_bias": e["train"] - e["human"],
        "variance": reference - e["train"],
        "data_mismatch": None if e["train_dev"] is None else e["dev"] - e["train_dev"],
        "overfitting_dev": None if e["test"] is None else e["test"] - e["dev"],
    }


def _largest(gaps):
    """The largest positive gap (ties to the earlier one in course order), else ``None``."""
    best, best_value = None, 0.0
    for name in GAPS:
        value = gaps[name]
        if value is not None and round(value, 12) > round(best_value, 12):
            best, best_value = name, value
    return best


def _notes(e, gaps):
    notes = []
    if gaps["avoidable_bias"] < 0:
        notes.append(
            "training error is below human-level error: human-level is no longer a good estimate of Bayes "
            "error, so avoidable bias is unclear and progress usually slows down"
        )
    if gaps["data_mismatch"] is not None and gaps["data_mismatch"] < 0:
        notes.append("dev error is below train-dev error: the dev/test data is easier than the training data")
    if gaps["overfitting_dev"] is not None and gaps["overfitting_dev"] < 0:
        notes.append("test error is below dev error: no sign of overfitting to the dev set")
    return notes


_METRICS = {
    "error": ("error", False),
    "accuracy": ("accuracy", True),
    "f1": ("f1", True),
    "precision": ("precision", True),
    "recall": ("recall", True),
}


def _metric(metric):
    from ngrad import metrics

    if isinstance(metric, tuple) and len(metric) == 2 and callable(metric[0]):
        return metric[0], bool(metric[1])
    if metric not in _METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {list(_METRICS)} or (fn, higher_is_better)")
    name, higher = _METRICS[metric]
    if name == "error":
        return (lambda y, p: 1.0 - metrics.accuracy(y, p)), False
    return getattr(metrics, name), higher


def _evaluate(predict, xy, fn, name):
    import numpy as np

    from ngrad.function import no_grad

    try:
        X, y = xy
    except (TypeError, ValueError):
        raise ValueError(f"{name}= must be an (X, y) pair") from None
    with no_grad():
        p = np.asarray(predict(X))
    if p.ndim == 2 and p.shape[1] > 1:
        p = p.argmax(axis=1)
    return float(fn(np.asarray(y), p))
