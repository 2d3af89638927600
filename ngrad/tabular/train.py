"""Training an MLP on a CSV's rows: settings, data preparation, the network, saving."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ngrad.tabular.predict import CONFIG_FILE, CURVE_FILE, MODEL_FILE, TabularModel
from ngrad.tabular.table import TASKS, Table, TabularError, encode_labels, infer_task, read_csv

__all__ = ["MIN_ROWS", "TrainResult", "TrainSettings", "build_mlp", "train_csv"]

MIN_ROWS = 10  # data rows a training CSV needs at the least

@dataclass
class TrainSettings:
    """What ``ngrad train`` trains, with the command's defaults.

    Attributes
    ----------
    hidden : tuple of int
        Units of each hidden layer (Linear -> [BatchNorm1d] -> ReLU -> [Dropout]);
        empty for a linear (logistic / softmax / linear-regression) model.
    epochs, batch_size : int
    optimizer : {"adam", "sgd", "momentum", "rmsprop"}
    lr : float, optional
        Learning rate (default: the optimizer's own; 0.01 for sgd and momentum).
    dropout : float
        Drop probability after each hidden layer (0 for none).
    l2 : float
        The course's L2 strength ``lambd``: ``lambd / (2 m) * sum ||W||^2`` per batch of m rows.
    batch_norm : bool
        BatchNorm1d after each hidden Linear layer.
    val_split : float
        Fraction of rows held out for validation (stratified for classification); 0 for none.
    task : {"classification", "regression"}, optional
        Default: from the target column (see :func:`infer_task`).
    seed : int
        Seeds the split, the initial weights, dropout and shuffling.
    """

    hidden: tuple = (64, 32)
    epochs: int = 50
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float | None = None
    dropout: float = 0.0
    l2: float = 0.0
    batch_norm: bool = False
    val_split: float = 0.2
    task: str | None = None
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`TabularError` for a setting out of range."""
        problems = [
            (any(int(h) < 1 for h in self.hidden), f"hidden sizes must be positive, got {self.hidden}"),
            (self.epochs < 1, f"epochs must be at least 1, got {self.epochs}"),
            (self.batch_size < 1, f"batch size must be at least 1, got {self.batch_size}"),
            (self.optimizer not in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.lr is not None and not self.lr > 0, f"learning rate must be positive, got {self.lr}"),
            (not 0 <= self.dropout < 1, f"dropout must lie in [0, 1), got {self.dropout}"),
            (not self.l2 >= 0, f"l2 must be non-negative, got {self.l2}"),
            (not 0 <= self.val_split < 1, f"validation split must lie in [0, 1), got {self.val_split}"),
            (self.task not in (None, *TASKS), f"task must be classification or regression, got {self.task!r}"),
        ]
        for bad, message in problems:
            if bad:
                raise TabularError(message)


OPTIMIZERS = ("adam", "sgd", "momentum", "rmsprop")


@dataclass
class _Data:
    """A training CSV made numeric: features X (m, n) and targets y (m,)."""

    X: np.ndarray
    y: np.ndarray
    features: list
    target: str
    task: str
    classes: list | None = None


def _training_data(table: Table, target: str, task: str | None) -> _Data:
    table.index(target)
    if len(table) < MIN_ROWS:
        raise TabularError(f"{table.name}: {len(table)} data rows; training needs at least {MIN_ROWS}")
    features = [c for c in table.columns if c != target]
    if not features:
        raise TabularError(f"{table.name}: no feature columns besides the target {target!r}")
    values = table.column(target)
    _check_present(table, target, values)
    task = task or infer_task(values)
    if task == "classification":
        classes, y = encode_labels(values)
        if len(classes) < 2:
            raise TabularError(f"{table.name}: target {target!r} has a single class ({classes[0]!r}); "
                               f"classification needs at least two")
    else:
        classes, y = None, table.numeric(target, "target")
    return _Data(table.matrix(features), y, features, target, task, classes)


def _check_present(table: Table, column: str, values) -> None:
    for v, line in zip(values, table.lines):
        if v.lower() in ("", "nan"):
            raise TabularError(f"{table.name}: missing value (NaN) in target column {column!r} at line {line}"
                               f" ({repr(v) if v else 'an empty cell'}); drop the rows without a target")


def _split(data: _Data, fraction: float, seed: int):
    """Row indices ``(train, validation)``; validation is empty for ``fraction == 0``."""
    m = len(data.y)
    if not fraction:
        return np.arange(m), np.arange(0)
    from ngrad.data.split import train_dev_split

    stratify = data.y if data.task == "classification" and np.bincount(data.y).min() >= 2 else None
    try:
        train, val = train_dev_split(np.arange(m), fraction=fraction, stratify=stratify, seed=seed)
    except ValueError as e:
        raise TabularError(f"cannot hold out {fraction:g} of {m} rows for validation: {e}") from None
    return train, val


# ===================================================================== model
def build_mlp(n_in: int, hidden, n_out: int, dropout: float = 0.0, batch_norm: bool = False):
    """``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]`` per hidden layer, then ``Linear(n_out)``.

    Shape: ``(m, n_in) -> (m, n_out)`` raw scores (logits, or standardized values).
    """
    from ngrad import nn

    layers, width = [], n_in
    for units in hidden:
        layers.append(nn.Linear(width, int(units)))
        if batch_norm:
            layers.append(nn.BatchNorm1d(int(units)))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = int(units)
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _head(data: _Data):
    """``(n_out, loss name, targets for training, target standardizer)`` for the task."""
    from ngrad.backend import get_default_dtype
    from ngrad.data.preprocessing import Standardizer

    if data.task == "regression":
        return 1, "mse", None, Standardizer()
    if len(data.classes) == 2:
        return 1, "bce_with_logits", get_default_dtype(), None
    return len(data.classes), "cross_entropy", np.int64, None


def _compile(model, loss_name: str, settings: TrainSettings, y_scale: float) -> None:
    """Compile with the named loss, plus the course's L2 term when ``settings.l2`` > 0."""
    from ngrad import nn
    from ngrad.train.losses import get_loss
    from ngrad.train.metrics import BinaryAccuracy, CategoricalAccuracy, MeanMetricWrapper

    if loss_name == "mse":
        def mae(y_hat, y):  # in the target's own units
            return float(np.mean(np.abs(y_hat.reshape(-1) - y.reshape(-1)))) * y_scale
        metrics = [MeanMetricWrapper(mae, name="mae")]
    elif loss_name == "bce_with_logits":
        metrics = [BinaryAccuracy(from_logits=True)]
    else:
        metrics = [CategoricalAccuracy()]
    loss = loss_name
    if settings.l2:
        base, module, lambd = get_loss(loss_name)[1], model.module, settings.l2

        def loss(y_hat, y):
            return base(y_hat, y) + nn.l2_penalty(module, lambd, m=y_hat.shape[0])
    model.compile(optimizer=settings.optimizer, loss=loss, metrics=metrics, lr=settings.lr)


# ===================================================================== training
@dataclass
class TrainResult:
    """What :func:`train_csv` produced.

    Attributes
    ----------
    metrics : dict
        ``{"train": {...}, "validation": {...}}``: accuracy, or mse and mae, in the target's units.
    history : ngrad.train.History
    paths : dict
        ``{"model": ..., "config": ..., "learning_curve": ... or None}``.
    task : str
    """

    metrics: dict
    history: object
    paths: dict
    task: str
    notes: list = field(default_factory=list)


def train_csv(csv_path, target: str, out_dir, settings: TrainSettings | None = None,
              verbose: int = 1, log=None) -> TrainResult:
    """Train an MLP on a CSV's rows to predict column ``target``; save it in ``out_dir``.

    Parameters
    ----------
    csv_path : str or os.PathLike
        A comma-separated file with a header row; every column but the target is a numeric feature.
    target : str
        The column to predict.
    out_dir : str or os.PathLike
        Receives ``model.safetensors``, ``config.json`` and ``learning_curve.png``.
    settings : TrainSettings, optional
    verbose : {0, 1, 2}
        As ``Model.fit``: 1 draws a progress bar.
    log : callable, optional
        Called with a one-line description of the data before training starts.

    Raises
    ------
    TabularError
        For bad input, naming the column, value and line.
    """
    import ngrad
    from ngrad.data.preprocessing import Standardizer
    from ngrad.train import Model

    settings = settings or TrainSettings()
    settings.check()
    data = _training_data(read_csv(csv_path), target, settings.task)
    train, val = _split(data, settings.val_split, settings.seed)
    if log is not None:
        log(_describe(data, csv_path, train, val))
    x_std = Standardizer().fit(data.X[train])
    n_out, loss_name, y_dtype, y_std = _head(data)
    y_fit = _fit_targets(data.y, train, y_dtype, y_std)
    ngrad.manual_seed(settings.seed)
    module = build_mlp(len(data.features), settings.hidden, n_out, settings.dropout, settings.batch_norm)
    model = Model(module)
    _compile(model, loss_name, settings, float(y_std.std[0]) if y_std else 1.0)
    X = x_std.transform(data.X)  # (m, n) standardized
    validation = (X[val], y_fit[val]) if len(val) else None
    history = model.fit(X[train], y_fit[train], epochs=settings.epochs, batch_size=settings.batch_size,
                        validation_data=validation, verbose=verbose, seed=settings.seed)
    tabular = TabularModel(module, _metadata(data, x_std, y_std))
    metrics = {"train": tabular.score(data.X[train], data.y[train])}
    if len(val):
        metrics["validation"] = tabular.score(data.X[val], data.y[val])
    info = {"csv": os.path.basename(os.fspath(csv_path)), "rows": len(data.y),
            "train_rows": len(train), "validation_rows": len(val)}
    paths, notes = _save(out_dir, tabular, settings, metrics, info, history)
    return TrainResult(metrics, history, paths, data.task, notes)


def _describe(data: _Data, csv_path, train, val) -> str:
    kind = f"{len(data.classes)} classes" if data.classes else "regression"
    kind = "classification, " + kind if data.classes else kind
    rows = (f"{len(data.y)} rows ({len(train)} train, {len(val)} validation)" if len(val)
            else f"{len(data.y)} rows (all for training, no validation split)")
    return (f"{os.fspath(csv_path)}: {rows}, {len(data.features)} features -> "
            f"{data.target!r} ({kind})")


def _fit_targets(y, train, y_dtype, y_std):
    """Training targets: class indices, 0/1 floats, or values standardized on the training rows."""
    if y_std is None:
        return y.astype(y_dtype)
    y_std.fit(y[train].reshape(-1, 1))
    return y_std.transform(y.reshape(-1, 1)).reshape(-1)


def _metadata(data: _Data, x_std, y_std) -> dict:
    return {
        "format": "ngrad.tabular",
        "version": 1,
        "task": data.task,
        "target": data.target,
        "features": data.features,
        "classes": data.classes,
        "standardizer": x_std.get_config(),
        "target_standardizer": y_std.get_config() if y_std else None,
    }


def _save(out_dir, tabular, settings: TrainSettings, metrics: dict, info: dict, history):
    from ngrad.io import atomic_write, save_model

    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, file) for name, file in
             (("model", MODEL_FILE), ("config", CONFIG_FILE), ("learning_curve", CURVE_FILE))}
    save_model(tabular.module, paths["model"], extra=tabular.meta)
    config = {**tabular.meta, "settings": {**asdict(settings), "hidden": list(settings.hidden)},
              "data": info, "metrics": metrics}
    atomic_write(paths["config"], (json.dumps(config, indent=2) + "\n").encode())
    notes = []
    try:
        history.plot(paths["learning_curve"], title=f"{info['csv']}: {tabular.meta['target']}")
    except ImportError as e:
        paths["learning_curve"] = None
        notes.append(f"learning curve not drawn: {e}")
    return paths, notes
