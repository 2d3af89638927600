"""Error analysis, as taught in "Structuring Machine Learning Projects".

1. Collect the dev-set mistakes (:func:`find_mistakes`, :func:`mistakes_from_model`).
2. Look at them: a PNG grid of misclassified images (:func:`mistakes_gallery`) or
   a CSV of misclassified rows for tabular and text data (:func:`mistakes_csv`).
   High-confidence mistakes are flagged: the label may be wrong, not the model.
3. Tag each mistake in a spreadsheet, one 0/1 column per category ("dog",
   "great cat", "blurry", "incorrectly labeled"), and count them
   (:func:`error_analysis_table`). A category's share of the mistakes times the
   dev error is the *ceiling* on what fixing it can gain: if 5 % of the mistakes
   are dogs and the dev error is 10 %, a perfect dog fix gives 9.5 % at best.

>>> m = find_mistakes([0, 1, 1, 0], scores=[0.1, 0.3, 0.8, 0.95])
>>> [(x.index, x.true, x.predicted, round(x.confidence, 2), x.possibly_mislabeled) for x in m]
[(1, 1, 0, 0.7, False), (3, 0, 1, 0.95, True)]
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ngrad.metrics import _labels_1d

__all__ = [
    "ErrorAnalysis",
    "Mistake",
    "error_analysis_table",
    "find_mistakes",
    "mistakes_csv",
    "mistakes_from_model",
    "mistakes_gallery",
]

#: Columns :func:`mistakes_csv` writes that are not user tags.
RESERVED_COLUMNS = ("id", "index", "true", "predicted", "confidence", "possibly_mislabeled")

_TRUE_MARKS = {"1", "1.0", "x", "yes", "y", "true", "t", "\u2713", "\u2714", "\u2715", "\u2717"}
_FALSE_MARKS = {"", "0", "0.0", "no", "n", "false", "f", "-"}
_NOTE_COLUMNS = {"comment", "comments", "note", "notes", "remarks", "text"}


@dataclass
class Mistake:
    """One misclassified example.

    Attributes
    ----------
    index : int
        Position in the dev set.
    true, predicted
        The true and the predicted label.
    confidence : float or None
        The model's probability for its (wrong) prediction, when scores were given.
    possibly_mislabeled : bool
        ``confidence >= mislabeled_threshold``: worth checking the label itself.
    """

    index: int
    true: object
    predicted: object
    confidence: float | None = None
    possibly_mislabeled: bool = False


# ------------------------------------------------------------- mistakes
def find_mistakes(y_true, y_pred=None, scores=None, classes=None, mislabeled_threshold=0.9):
    """The dev-set examples a model gets wrong.

    Parameters
    ----------
    y_true : array_like, shape (m,)
        True labels.
    y_pred : array_like, shape (m,), optional
        Predicted labels; derived from ``scores`` when omitted.
    scores : array_like, shape (m,) or (m, k), optional
        Probabilities: of the positive class (binary, threshold 0.5) or of each
        class (rows of a softmax). They give each mistake its confidence.
    classes : sequence, optional
        The label of each score column (default ``0 .. k-1``; ``(0, 1)`` for
        binary scores).
    mislabeled_threshold : float
        Mistakes at least this confident are flagged ``possibly_mislabeled``.

    Returns
    -------
    list of Mistake
        In dev-set order.
    """
    t = _labels_1d(y_true, "y_true")
    if y_pred is None and scores is None:
        raise ValueError("find_mistakes needs y_pred= (labels) or scores= (probabilities)")
    pred, conf = _predictions(t, y_pred, scores, classes)
    wrong = np.flatnonzero(pred != t)
    return [
        Mistake(
            index=int(i),
            true=t[i].item(),
            predicted=pred[i].item(),
            confidence=None if conf is None else float(conf[i]),
            possibly_mislabeled=bool(conf is not None and conf[i] >= mislabeled_threshold),
        )
        for i in wrong
    ]


def mistakes_from_model(predict, X, y, classes=None, mislabeled_threshold=0.9):
    """:func:`find_mistakes` from ``predict(X)``.

    ``predict`` returns labels (integers, booleans, strings) or probabilities
    (floats: shape ``(m,)`` for the positive class, ``(m, k)`` per class).
    """
    from ngrad.function import no_grad

    with no_grad():
        out = np.asarray(predict(X))
    if out.dtype.kind == "f":
        return find_mistakes(y, scores=out, classes=classes, mislabeled_threshold=mislabeled_threshold)
    return find_mistakes(y, y_pred=out, mislabeled_threshold=mislabeled_threshold)


def _predictions(t, y_pred, scores, classes):
    """(predicted labels, confidence or None)."""
    if scores is None:
        p = _labels_1d(y_pred, "y_pred")
        _same_length(t, p, "y_pred")
        return p, None
    s = _scores(scores, len(t))
    if s.ndim == 1:
        cls = np.asarray((0, 1) if classes is None else classes)
        if len(cls) != 2:
            raise ValueError(f"binary scores need two classes (negative, positive), got {cls.tolist()}")
        s = np.stack([1.0 - s, s], axis=1)
    else:
        cls = np.arange(s.shape[1]) if classes is None else np.asarray(classes)
        if len(cls) != s.shape[1]:
            raise ValueError(f"scores have {s.shape[1]} columns but classes has {len(cls)} labels")
    if y_pred is None:
        col = s.argmax(axis=1)
        return cls[col], s[np.arange(len(col)), col]
    p = _labels_1d(y_pred, "y_pred")
    _same_length(t, p, "y_pred")
    col = np.array([_column(cls, v) for v in p.tolist()])
    return p, s[np.arange(len(col)), col]


def _scores(scores, m):
    s = np.asarray(scores, dtype=float)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim not in (1, 2) or s.shape[0] != m:
        raise ValueError(f"scores must have shape ({m},) or ({m}, k), got {s.shape}")
    if not np.all((s >= 0) & (s <= 1)):
        raise ValueError("scores must be probabilities in [0, 1]; apply sigmoid or softmax to logits first")
    return s


def _column(classes, label):
    hits = np.flatnonzero(classes == label)
    if len(hits) == 0:
        raise ValueError(f"predicted label {label!r} is not among classes {classes.tolist()}")
    return hits[0]


# --------------------------------------------------------------- looking
def mistakes_gallery(images, mistakes, path, class_names=None, max_images=25, ncols=5, image_shape=None, title=None):
    """Save a PNG grid of misclassified images, each titled with its labels and confidence.

    Parameters
    ----------
    images : array_like
        The dev images, ``(m, H, W)``, ``(m, H, W, C)``, ``(m, C, H, W)`` or flat
        ``(m, H*W*C)`` with ``image_shape``.
    mistakes : list of Mistake
        From :func:`find_mistakes`; ``index`` points into ``images``.
    path : str or Path
        Where to write the PNG.
    class_names : sequence or mapping, optional
        Names for the labels.
    max_images, ncols : int
        At most ``max_images`` mistakes, flagged (possibly mislabeled) ones first.
    image_shape : tuple, optional
        ``(H, W)`` or ``(H, W, C)`` to unflatten rows.

    Returns
    -------
    pathlib.Path
    """
    from ngrad.metrics import new_figure, save_figure

    images = np.asarray(images)
    chosen = sorted(mistakes, key=lambda x: (not x.possibly_mislabeled, x.index))[:max_images]
    ncols = max(1, min(ncols, len(chosen)))
    nrows = max(1, -(-len(chosen) // ncols))
    fig = new_figure(figsize=(2.4 * ncols, 2.9 * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    if not chosen:
        axes[0, 0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    for ax, mk in zip(axes.ravel(), chosen):
        img, style = _displayable(images[mk.index], image_shape)
        ax.imshow(img, **style)
        ax.set_title(_caption(mk, class_names), fontsize=8, color="red" if mk.possibly_mislabeled else "black")
    fig.suptitle(title or f"{len(mistakes)} mistakes (red: confident, possibly mislabeled)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / (2.9 * nrows + 0.4)))
    return save_figure(fig, path)


def _displayable(img, image_shape):
    """(image as H x W or H x W x C in [0, 1], imshow keyword arguments)."""
    img = np.asarray(img, dtype=float)
    if image_shape is not None:
        img = img.reshape(image_shape)
    if img.ndim == 3 and img.shape[0] in (1, 3, 4) and img.shape[-1] not in (1, 3, 4):
        img = np.moveaxis(img, 0, -1)  # channels first -> last
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3):
        raise ValueError(f"cannot show an image of shape {img.shape}; pass image_shape=(H, W[, C])")
    lo, hi = img.min(), img.max()
    if lo < 0 or hi > 1:  # 0-255 pixels or standardized inputs
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img, ({"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if img.ndim == 2 else {})


def _caption(mk, class_names):
    name = lambda v: str(class_names[v]) if class_names is not None else str(v)  # noqa: E731
    text = f"#{mk.index} true: {name(mk.true)}\npred: {name(mk.predicted)}"
    if mk.confidence is not None:
        text += f" ({mk.confidence:.2f})"
    return text


def mistakes_csv(mistakes, path, X=None, feature_names=None, texts=None, class_names=None, categories=(), ids=None):
    """Write the mistakes as a CSV to inspect (and tag) in a spreadsheet.

    Columns: ``id``, ``index``, ``true``, ``predicted``, ``confidence``,
    ``possibly_mislabeled``, then the example's features (``X``) or ``text``,
    then one empty column per tag category for you to fill with 0/1 marks and
    read back with :func:`error_analysis_table`.

    Parameters
    ----------
    mistakes : list of Mistake
    path : str or Path
    X : array_like, shape (m, n), optional
        Tabular dev features.
    feature_names : sequence of str, optional
        Their column names (default ``x0, x1, ...``).
    texts : sequence of str, optional
        Text examples (one per dev example).
    class_names : sequence or mapping, optional
        Names for the labels.
    categories : sequence of str
        Empty tag columns to add ("dog", "blurry", "incorrectly labeled").
    ids : sequence, optional
        An id per dev example (default its index).

    Returns
    -------
    pathlib.Path
    """
    feats = None if X is None else np.asarray(X).reshape(len(X), -1)
    names = list(feature_names) if feature_names is not None else (
        [] if feats is None else [f"x{j}" for j in range(feats.shape[1])]
    )
    if feats is not None and len(names) != feats.shape[1]:
        raise ValueError(f"feature_names has {len(names)} names for {feats.shape[1]} features")
    header = list(RESERVED_COLUMNS) + names + (["text"] if texts is not None else []) + list(categories)
    label = (lambda v: class_names[v]) if class_names is not None else (lambda v: v)
    rows = []
    for mk in mistakes:
        row = [mk.index if ids is None else ids[mk.index], mk.index, label(mk.true), label(mk.predicted),
               "" if mk.confidence is None else f"{mk.confidence:.6g}", int(mk.possibly_mislabeled)]
        row += [] if feats is None else [f"{v:.6g}" if isinstance(v, float) else v for v in feats[mk.index].tolist()]
        row += [] if texts is None else [texts[mk.index]]
        rows.append(row + [""] * len(categories))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --------------------------------------------------------------- counting
@dataclass
class ErrorAnalysis:
    """Per-category counts of tagged mistakes and the ceiling each offers.

    Attributes
    ----------
    rows : list of dict
        ``{"category", "count", "percent", "ceiling"}`` per category, in CSV
        order; ``percent`` is the share of the mistakes (0..100) and ``ceiling``
        the most the dev error can fall by fixing the category entirely
        (``None`` without ``dev_error_rate``).
    n_mistakes : int
        Mistakes the percentages refer to.
    dev_error_rate : float or None
    """

    rows: list
    n_mistakes: int
    dev_error_rate: float | None = None
    untagged: int = 0
    ids: dict = field(default_factory=dict)

    @property
    def largest(self):
        """The category with the most mistakes (the first one on ties)."""
        return max(self.rows, key=lambda r: r["count"])["category"] if self.rows else None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self):
        rate = "" if self.dev_error_rate is None else f", dev error {100 * self.dev_error_rate:.2f} %"
        head = ["category", "count", "% of mistakes"] + ([] if self.dev_error_rate is None else ["ceiling"])
        body = [
            [r["category"], str(r["count"]), f"{r['percent']:.1f} %"]
            + ([] if r["ceiling"] is None else [f"{100 * r['ceiling']:.2f} %"])
            for r in self.rows
        ]
        widths = [max(len(str(c)) for c in col) for col in zip(head, *body)]
        fmt = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths))
        )
        lines = [f"Error analysis of {self.n_mistakes} dev-set mistakes{rate}", fmt(head)]
        lines += [fmt(cells) for cells in body]
        notes = ["categories may overlap: one mistake can carry several marks"]
        if self.dev_error_rate is not None:
            notes.append("ceiling: how much the dev error falls if the category is fixed entirely")
        if self.untagged:
            notes.append(f"{self.untagged} mistakes carry no mark")
        return "\n".join(lines + [f"({n})" for n in notes])


def error_analysis_table(tags_csv, total_dev_errors=None, dev_error_rate=None, categories=None, verbose=True):
    """Count tagged mistakes per category, as in the course's error-analysis spreadsheet.

    Parameters
    ----------
    tags_csv : str, Path or file-like
        A CSV with a header row; the first column identifies the mistake, and each
        category column holds a mark per mistake (1/0, x, yes, a check mark;
        blank means 0). Other columns (comments, features, the columns
        :func:`mistakes_csv` writes) are ignored.
    total_dev_errors : int, optional
        The number of mistakes the percentages refer to, when the CSV lists
        only the tagged ones. Defaults to the number of rows.
    dev_error_rate : float, optional
        Overall dev error (e.g. 0.10); gives each category's ceiling.
    categories : sequence of str, optional
        The category columns; default every column whose cells are all marks,
        except those :func:`mistakes_csv` writes.
    verbose : bool
        Print the table (default).

    Returns
    -------
    ErrorAnalysis
    """
    header, records = _read_csv(tags_csv)
    cats = _categories(header, records, categories)
    n_rows = len(records)
    n = n_rows if total_dev_errors is None else _check_total(total_dev_errors, n_rows)
    if dev_error_rate is not None and not (0 <= dev_error_rate <= 1):
        raise ValueError(f"dev_error_rate must be a fraction in [0, 1], got {dev_error_rate!r}")
    marks = {c: [_mark(r[c], r[header[0]], c) for r in records] for c in cats}
    rows = []
    for c in cats:
        count = int(sum(marks[c]))
        share = count / n if n else 0.0
        rows.append({
            "category": c,
            "count": count,
            "percent": 100.0 * share,
            "ceiling": None if dev_error_rate is None else share * dev_error_rate,
        })
    untagged = sum(1 for i in range(n_rows) if not any(marks[c][i] for c in cats))
    ids = {c: [r[header[0]] for r, m in zip(records, marks[c]) if m] for c in cats}
    result = ErrorAnalysis(rows=rows, n_mistakes=n, dev_error_rate=dev_error_rate, untagged=untagged, ids=ids)
    if verbose:
        print(result)
    return result


def _read_csv(source):
    if hasattr(source, "read"):
        text = source.read()
    else:
        text = Path(source).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if len(header) < 2:
        raise ValueError("the tags CSV needs a header: an id column, then one column per category")
    if len(set(header)) != len(header):
        raise ValueError(f"the tags CSV repeats a column name: {header}")
    reader.fieldnames = header
    records = [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    if not records:
        raise ValueError("the tags CSV has no rows (one row per examined mistake)")
    return header, records


def _categories(header, records, categories):
    if categories is not None:
        missing = [c for c in categories if c not in header]
        if missing:
            raise ValueError(f"categories {missing} are not columns of the CSV (columns: {header})")
        return list(categories)
    found = [
        c for c in header[1:]
        if c not in RESERVED_COLUMNS and c.lower() not in _NOTE_COLUMNS and all(r[c].lower() in _TRUE_MARKS | _FALSE_MARKS for r in records)
    ]
    if not found:
        raise ValueError(f"no column of 0/1 marks found among {header[1:]}; name them with categories=")
    return found


def _mark(value, row_id, column):
    v = value.lower()
    if v in _TRUE_MARKS:
        return True
    if v in _FALSE_MARKS:
        return False
    raise ValueError(f"row {row_id!r}, column {column!r}: {value!r} is not a mark (use 1/0, x or blank)")


def _check_total(total, n_rows):
    if int(total) != total or total < n_rows:
        raise ValueError(
            f"total_dev_errors={total!r} must be a whole number at least the {n_rows} rows of the CSV"
        )
    return int(total)


def _same_length(t, p, name):
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} examples but {name} has {len(p)}")
