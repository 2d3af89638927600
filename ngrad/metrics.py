"""Evaluation metrics on label arrays, NumPy only.

"Structuring Machine Learning Projects" asks for a *single-number evaluation
metric* (F1, the harmonic mean of precision and recall, rather than the two
separately) and, when several things matter, one *optimizing* metric plus
*satisficing* constraints (:func:`select_model`).

Inputs are array-likes (NumPy arrays, ngrad Tensors, lists) of one label per
example; shapes like ``(m, 1)`` or the course's ``(1, m)`` are flattened. The
conventions follow scikit-learn: confusion-matrix rows are true labels and
columns predicted labels, and an undefined ratio (no predicted positive for
precision) counts as ``zero_division`` (0.0).

>>> y_true = [1, 0, 1, 1, 0, 1]
>>> y_pred = [1, 0, 0, 1, 1, 1]
>>> precision(y_true, y_pred), recall(y_true, y_pred), round(f1(y_true, y_pred), 4)
(0.75, 0.75, 0.75)
>>> confusion_matrix(y_true, y_pred)
array([[1, 1],
       [1, 3]])
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Selection",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "confusion_matrix_table",
    "f1",
    "plot_confusion_matrix",
    "precision",
    "precision_recall_f1",
    "recall",
    "roc_auc",
    "select_model",
]

AVERAGES = ("binary", "macro", "micro", "weighted", None)


# ----------------------------------------------------------------- inputs
def _labels_1d(a, name):
    """``a`` as a 1-D NumPy array (Tensors and ``(m, 1)``/``(1, m)`` shapes accepted)."""
    arr = np.asarray(a)
    if arr.ndim > 1 and sum(d > 1 for d in arr.shape) <= 1:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must hold one label per example (1-D), got shape {arr.shape}")
    return arr


def _pair(y_true, y_pred, second="y_pred"):
    t, p = _labels_1d(y_true, "y_true"), _labels_1d(y_pred, second)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} examples but {second} has {len(p)}")
    if len(t) == 0:
        raise ValueError("metrics of an empty set are undefined (0 examples)")
    return t, p


def _class_labels(y_true, y_pred, labels):
    if labels is not None:
        return np.asarray(labels)
    return np.unique(np.concatenate([y_true, y_pred]))


# ----------------------------------------------------------------- metrics
def accuracy(y_true, y_pred):
    """Fraction of examples whose predicted label equals the true one."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, labels=None, normalize=None):
    """Counts ``C[i, j]`` of examples with true label ``labels[i]`` predicted as ``labels[j]``.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (m,)
    labels : sequence, optional
        Row/column order; default the sorted union of both arrays.
    normalize : {None, "true", "pred", "all"}
        Divide by row sums (recall per class on the diagonal), column sums
        (precision per class) or the total.

    Returns
    -------
    ndarray, shape (k, k)
    """
    t, p = _pair(y_true, y_pred)
    labels = _class_labels(t, p, labels)
    k = len(labels)
    ti, t_ok = _positions(labels, t)
    pi, p_ok = _positions(labels, p)
    keep = t_ok & p_ok
    cm = np.bincount(ti[keep] * k + pi[keep], minlength=k * k).reshape(k, k)
    return _normalize(cm, normalize)


def _positions(labels, values):
    """Index of each value in ``labels`` and whether it is there at all."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    pos = np.clip(np.searchsorted(sorted_labels, values), 0, max(len(labels) - 1, 0))
    found = sorted_labels[pos] == values if len(labels) else np.zeros(len(values), bool)
    return order[pos], np.asarray(found, dtype=bool)


def _normalize(cm, how):
    if how is None:
        return cm
    axis = {"true": 1, "pred": 0, "all": None}
    if how not in axis:
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {how!r}")
    total = cm.sum(axis=axis[how], keepdims=axis[how] is not None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(cm / total)


def precision_recall_f1(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """Precision, recall and F1 together (see :func:`precision`)."""
    tp, n_pred, n_true, support = _counts(y_true, y_pred, average, pos_label, labels)
    if average == "micro":  # pool the counts over classes first
        tp, n_pred, n_true = (np.array([x.sum()]) for x in (tp, n_pred, n_true))
    prec = _ratio(tp, n_pred, zero_division)
    rec = _ratio(tp, n_true, zero_division)
    f = _ratio(2 * tp, n_pred + n_true, zero_division)
    return tuple(_average(x, average, support) for x in (prec, rec, f))


def precision(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """Precision: of the examples predicted positive, the fraction truly positive.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (m,)
    average : {"binary", "macro", "micro", "weighted", None}
        ``"binary"``: the score of ``pos_label`` alone (two classes at most).
        ``"macro"``: unweighted mean of the per-class scores. ``"micro"``: from
        the counts pooled over classes (equals accuracy for single-label data).
        ``"weighted"``: per-class scores weighted by support. ``None``: the
        per-class array, in ``labels`` order.
    pos_label : label
        The positive class for ``average="binary"``.
    labels : sequence, optional
        Classes to include (default the sorted union of both arrays).
    zero_division : float
        Value of an undefined ratio (no predicted positive).
    """
    return precision_recall_f1(y_true, y_pred, average, pos_label, labels, zero_division)[0]


def recall(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """Recall: of the truly positive examples, the fraction predicted positive (see :func:`precision`)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, labels, zero_division)[1]


def f1(y_true, y_pred, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """F1 = 2 P R / (P + R), the harmonic mean of precision and recall (see :func:`precision`)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, labels, zero_division)[2]


def _counts(y_true, y_pred, average, pos_label, labels):
    """Per-class true positives, predicted counts, true counts and support."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    t, p = _pair(y_true, y_pred)
    if average == "binary":
        present = np.unique(np.concatenate([t, p]))
        if len(present) > 2:
            raise ValueError(
                f"average='binary' needs two classes but the labels hold {len(present)} "
                f"({present.tolist()[:10]}); use average='macro', 'micro' or 'weighted'"
            )
        if len(present) == 2 and pos_label not in present.tolist():
            raise ValueError(f"pos_label={pos_label!r} is not a label; the labels are {present.tolist()}")
        labels = [pos_label]
    chosen = _class_labels(t, p, labels)
    everything = np.unique(np.concatenate([t, p, chosen]))
    cm = confusion_matrix(t, p, labels=everything)
    rows, _ = _positions(everything, chosen)
    tp = np.diag(cm)[rows].astype(float)
    n_pred, n_true = cm.sum(axis=0)[rows].astype(float), cm.sum(axis=1)[rows].astype(float)
    return tp, n_pred, n_true, n_true


def _ratio(num, den, zero_division):
    out = np.full(np.shape(num), float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def _average(scores, average, support):
    if average in ("binary", "micro"):
        return float(scores[0])
    if average is None:
        return scores
    if average == "macro":
        return float(np.mean(scores))
    if average == "weighted":
        total = support.sum()
        return float(np.sum(scores * support) / total) if total > 0 else 0.0
    raise AssertionError(average)


def roc_auc(y_true, y_score, pos_label=None):
    """Area under the ROC curve of a binary classifier from its scores.

    Equals the probability that a random positive scores higher than a random
    negative, ties counting one half (the trapezoidal area scikit-learn reports).

    Parameters
    ----------
    y_true : array_like, shape (m,)
        Two classes.
    y_score : array_like, shape (m,)
        Scores, probabilities or logits of the positive class.
    pos_label : label, optional
        The positive class; needed unless the labels are {0, 1}, {-1, 1} or bools.
    """
    t, s = _pair(y_true, y_score, "y_score")
    classes = np.unique(t)
    if len(classes) != 2:
        raise ValueError(
            f"roc_auc needs both classes in y_true, got {classes.tolist()}: "
            "the ROC AUC is undefined with one class"
        )
    pos = _positive_label(classes, pos_label)
    s = s.astype(float)
    if not np.all(np.isfinite(s)):
        raise ValueError("roc_auc: y_score holds NaN or infinite values")
    is_pos = t == pos
    ranks = _average_ranks(s)
    n_pos, n_neg = is_pos.sum(), (~is_pos).sum()
    return float((ranks[is_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _positive_label(classes, pos_label):
    if pos_label is not None:
        if pos_label not in classes.tolist():
            raise ValueError(f"pos_label={pos_label!r} is not among the labels {classes.tolist()}")
        return pos_label
    if set(classes.tolist()) <= {0, 1} or set(classes.tolist()) <= {-1, 1}:
        return classes[-1]
    raise ValueError(f"labels {classes.tolist()} are not {{0, 1}} or {{-1, 1}}: give pos_label=")


def _average_ranks(x):
    """1-based ranks of ``x``, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.r_[True, xs[1:] != xs[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(x)] - 1
    ranks = np.empty(len(x))
    ranks[order] = (first[group] + last[group]) / 2 + 1
    return ranks


# ----------------------------------------------------------------- reports
def confusion_matrix_table(y_true, y_pred, labels=None, names=None, normalize=None):
    """The confusion matrix as a text table (rows: true labels, columns: predicted).

    >>> print(confusion_matrix_table([0, 1, 1], [0, 1, 0], names=["benign", "malignant"]))
    true \\ predicted  benign  malignant
    benign                 1          0
    malignant              1          1
    """
    t, p = _pair(y_true, y_pred)
    labels = _class_labels(t, p, labels)
    cm = confusion_matrix(t, p, labels=labels, normalize=normalize)
    names = [str(n) for n in (labels.tolist() if names is None else names)]
    if len(names) != len(labels):
        raise ValueError(f"names has {len(names)} entries for {len(labels)} labels")
    cells = [[f"{v:.2f}" if normalize else str(int(v)) for v in row] for row in cm]
    head = "true \\ predicted"
    w0 = max(len(head), *(len(n) for n in names))
    widths = [max(len(n), *(len(r[j]) for r in cells)) for j, n in enumerate(names)]
    lines = [head.ljust(w0) + "".join("  " + n.rjust(w) for n, w in zip(names, widths))]
    for n, row in zip(names, cells):
        lines.append(n.ljust(w0) + "".join("  " + c.rjust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def classification_report(y_true, y_pred, labels=None, names=None, zero_division=0.0):
    """Per-class precision, recall, F1 and support, with macro and weighted averages, as text."""
    t, p = _pair(y_true, y_pred)
    labels = _class_labels(t, p, labels)
    names = [str(n) for n in (labels.tolist() if names is None else names)]
    args = dict(labels=labels, zero_division=zero_division)
    per_class = precision_recall_f1(t, p, average=None, **args)
    support = confusion_matrix(t, p, labels=labels).sum(axis=1)
    w = max(12, *(len(n) for n in names))
    lines = [f"{'':{w}}  precision     recall         f1    support"]
    for i, n in enumerate(names):
        lines.append(f"{n:>{w}}  " + "".join(f"{s[i]:9.4f}  " for s in per_class) + f"{support[i]:9d}")
    lines.append("")
    lines.append(f"{'accuracy':>{w}}  {'':9}  {'':9}  {accuracy(t, p):9.4f}  {len(t):9d}")
    for avg in ("macro", "weighted"):
        scores = precision_recall_f1(t, p, average=avg, **args)
        lines.append(f"{avg + ' avg':>{w}}  " + "".join(f"{s:9.4f}  " for s in scores) + f"{len(t):9d}")
    return "\n".join(lines)


def plot_confusion_matrix(y_true, y_pred, path, labels=None, names=None, normalize=None, title=None):
    """Save the confusion matrix as a PNG heat map at ``path`` (needs matplotlib).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    t, p = _pair(y_true, y_pred)
    labels = _class_labels(t, p, labels)
    cm = confusion_matrix(t, p, labels=labels, normalize=normalize)
    names = [str(n) for n in (labels.tolist() if names is None else names)]
    k = len(labels)
    fig = new_figure(figsize=(1.2 + 0.9 * k, 1.0 + 0.8 * k))
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xticks=range(k), yticks=range(k), xticklabels=names, yticklabels=names)
    ax.set(xlabel="predicted label", ylabel="true label", title=title or "Confusion matrix")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{cm[i, j]:.2f}" if normalize else str(int(cm[i, j]))
            ax.text(j, i, text, ha="center", va="center", color="white" if cm[i, j] > threshold else "black")
    fig.tight_layout()
    return save_figure(fig, path)


def new_figure(figsize):
    """A matplotlib ``Figure`` drawn by the Agg canvas, outside pyplot (no global backend change).

    Raises an ``ImportError`` naming the ``plot`` extra when matplotlib is missing.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('plotting needs matplotlib: pip install "ngrad[plot]"') from e
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, dpi=100):
    """Write ``fig`` as a PNG at ``path`` (parent folders created); returns the ``Path``."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


# ------------------------------------------------------------ model choice
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq, "!=": operator.ne}


@dataclass
class Selection:
    """The outcome of :func:`select_model`.

    Attributes
    ----------
    name : str or int
        The chosen candidate's name (its key, its ``"name"`` entry, or its index).
    metrics : dict
        Its metrics.
    index : int
        Its position among the candidates.
    rejected : dict
        ``{name: [reasons]}`` for every candidate that failed a satisficing metric.
    """

    name: object
    metrics: dict
    index: int
    rejected: dict = field(default_factory=dict)

    def __str__(self):
        lines = [f"selected {self.name!r}: " + ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                                                        for k, v in self.metrics.items())]
        for name, reasons in self.rejected.items():
            lines.append(f"rejected {name!r}: " + "; ".join(reasons))
        return "\n".join(lines)


def select_model(candidates, optimizing="f1", satisficing=None, maximize=True):
    """Pick the best candidate on one optimizing metric among those meeting every constraint.

    The course's recipe for several things that matter: keep the one you care
    most about as the *optimizing* metric and turn the others into *satisficing*
    thresholds ("accuracy, subject to running time <= 100 ms").

    Parameters
    ----------
    candidates : mapping or sequence
        ``{name: {metric: value}}``, or a list of metric dicts (a ``"name"`` entry
        names one, else its index does).
    optimizing : str
        The metric to maximize (or to minimize with ``maximize=False``).
    satisficing : dict, optional
        ``{metric: (op, threshold)}`` with ``op`` one of ``<= < >= > == !=``.
    maximize : bool
        Maximize (default) or minimize the optimizing metric. Ties go to the
        first candidate.

    Returns
    -------
    Selection

    Raises
    ------
    ValueError
        A candidate lacks a named metric, an operator is unknown, or no candidate
        meets every constraint (the message lists why each failed).

    Examples
    --------
    >>> chosen = select_model(
    ...     {"A": {"accuracy": 0.90, "latency_ms": 80},
    ...      "B": {"accuracy": 0.92, "latency_ms": 95},
    ...      "C": {"accuracy": 0.95, "latency_ms": 1500}},
    ...     optimizing="accuracy", satisficing={"latency_ms": ("<=", 100)})
    >>> chosen.name, chosen.rejected
    ('B', {'C': ['latency_ms = 1500 fails <= 100']})
    """
    named = _named_candidates(candidates)
    constraints = _constraints(satisficing)
    for name, metrics in named:
        _require_metrics(name, metrics, [optimizing, *constraints])
    rejected, feasible = {}, []
    for i, (name, metrics) in enumerate(named):
        reasons = [
            f"{metric} = {metrics[metric]:g} fails {op} {limit:g}"
            for metric, (op, limit) in constraints.items()
            if not _OPS[op](metrics[metric], limit)
        ]
        if reasons:
            rejected[name] = reasons
        else:
            feasible.append(i)
    if not feasible:
        detail = "; ".join(f"{n!r}: {', '.join(r)}" for n, r in rejected.items())
        raise ValueError(f"no candidate meets every satisficing constraint ({detail})")
    sign = 1.0 if maximize else -1.0
    best = max(feasible, key=lambda i: (sign * float(named[i][1][optimizing]), -i))
    name, metrics = named[best]
    return Selection(name=name, metrics=dict(metrics), index=best, rejected=rejected)


def _named_candidates(candidates):
    if hasattr(candidates, "items"):
        named = [(k, v) for k, v in candidates.items()]
    else:
        named = [(c.get("name", i) if hasattr(c, "get") else i, c) for i, c in enumerate(candidates)]
    if not named:
        raise ValueError("select_model needs at least one candidate")
    for name, metrics in named:
        if not hasattr(metrics, "keys"):
            raise TypeError(f"candidate {name!r} must be a dict of metrics, got {type(metrics).__name__}")
    return named


def _constraints(satisficing):
    constraints = dict(satisficing or {})
    for metric, rule in constraints.items():
        if not (isinstance(rule, (tuple, list)) and len(rule) == 2 and rule[0] in _OPS):
            raise ValueError(
                f"satisficing[{metric!r}] must be (op, threshold) with op in {list(_OPS)}, got {rule!r}"
            )
    return constraints


def _require_metrics(name, metrics, wanted):
    for metric in wanted:
        if metric not in metrics:
            have = ", ".join(sorted(k for k in metrics if k != "name")) or "none"
            raise ValueError(f"unknown metric {metric!r}: candidate {name!r} has {have}")
