"""Predicting with a model directory written by ``ngrad train``."""
from __future__ import annotations

import csv
import os

import numpy as np

from ngrad.tabular.table import MISSING, Table, TabularError, _names, read_csv

__all__ = ["TabularModel", "load_tabular_model", "predict_csv", "write_csv"]

MODEL_FILE, CONFIG_FILE, CURVE_FILE = "model.safetensors", "config.json", "learning_curve.png"


class TabularModel:
    """A trained network with what it needs to read new rows: features, scaling, labels.

    Parameters
    ----------
    module : nn.Module
        Maps standardized features (m, n) to scores (m, 1) or (m, C).
    meta : dict
        :func:`train_csv`'s metadata (task, target, features, classes, standardizers).
    """

    def __init__(self, module, meta: dict):
        from ngrad.data.preprocessing import Standardizer

        self.module, self.meta = module, meta
        self.x_std = Standardizer.from_config(meta["standardizer"])
        y_cfg = meta.get("target_standardizer")
        self.y_std = Standardizer.from_config(y_cfg) if y_cfg else None

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def features(self) -> list:
        return self.meta["features"]

    @property
    def classes(self):
        return self.meta["classes"]

    def scores(self, X) -> np.ndarray:
        """Raw network outputs for raw features ``X`` (m, n): (m, 1) or (m, C)."""
        from ngrad.train import Model

        return Model(self.module).predict(self.x_std.transform(np.asarray(X, dtype=np.float64)),
                                          batch_size=1024).astype(np.float64)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (m, C), columns in the order of ``classes``."""
        s = self.scores(X)
        if s.shape[1] == 1:
            p1 = _sigmoid(s[:, 0])
            return np.stack([1.0 - p1, p1], axis=1)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict_values(self, X) -> np.ndarray:
        """Regression predictions (m,) in the target's units."""
        return self.y_std.inverse_transform(self.scores(X)).reshape(-1)

    def score(self, X, y) -> dict:
        """``{"accuracy"}`` for class indices ``y`` (m,), or ``{"mse", "mae"}`` for values."""
        if self.task == "classification":
            return {"accuracy": float(np.mean(self.predict_proba(X).argmax(axis=1) == y))}
        err = self.predict_values(X) - y
        return {"mse": float(np.mean(err ** 2)), "mae": float(np.mean(np.abs(err)))}

    def features_of(self, table: Table) -> np.ndarray:
        """The model's feature columns of ``table``, shape (m, n); names any that are missing."""
        missing = [f for f in self.features if f not in table.columns]
        if missing:
            raise TabularError(
                f"{table.name}: missing feature column{'s' if len(missing) > 1 else ''} {_names(missing)} "
                f"that the model was trained on; the columns are {_names(table.columns)}")
        return table.matrix(self.features)


def _sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def load_tabular_model(model_dir) -> TabularModel:
    """The model that ``ngrad train`` saved in ``model_dir``."""
    from ngrad.io import CorruptFileError, load_model

    path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isdir(model_dir):
        raise TabularError(f"{model_dir}: no such model directory (train one with: ngrad train ... --out {model_dir})")
    if not os.path.isfile(path):
        raise TabularError(f"{model_dir}: no {MODEL_FILE} in it; is it a directory written by ngrad train?")
    try:
        module, meta = load_model(path, return_extra=True)
    except (CorruptFileError, ValueError) as e:
        raise TabularError(f"{path}: cannot load the model: {e}") from None
    if meta.get("format") != "ngrad.tabular":
        raise TabularError(f"{path}: not a model written by ngrad train (no tabular metadata)")
    return TabularModel(module, meta)


def predict_csv(model_dir, csv_path):
    """Predict every row of a CSV with the model in ``model_dir``.

    Returns
    -------
    header : list of str
        The target's name, then ``probability_<label>`` per class for classification.
    rows : list of list of str
        One per CSV row: the predicted label (as written in the training CSV) or value.
    score : dict or None
        Accuracy, or MSE and MAE, when the CSV also holds the target column.
    """
    tabular = load_tabular_model(model_dir)
    table = read_csv(csv_path)
    X = tabular.features_of(table)  # (m, n)
    target = tabular.meta["target"]
    if tabular.task == "classification":
        P = tabular.predict_proba(X)  # (m, C)
        labels = [tabular.classes[i] for i in P.argmax(axis=1)]
        header = [target] + [f"probability_{c}" for c in tabular.classes]
        rows = [[label] + [f"{p:.6g}" for p in probs] for label, probs in zip(labels, P)]
    else:
        values = tabular.predict_values(X)
        header, rows = [target], [[f"{v:.8g}"] for v in values]
    return header, rows, _score_if_labelled(tabular, table, rows)


def _score_if_labelled(tabular: TabularModel, table: Table, rows):
    target = tabular.meta["target"]
    if target not in table.columns:
        return None
    truth = table.column(target)
    if any(v.lower() in MISSING for v in truth):
        return None
    if tabular.task == "classification":
        return {"accuracy": float(np.mean([r[0] == t for r, t in zip(rows, truth)]))}
    try:
        err = np.array([float(r[0]) for r in rows]) - np.array([float(t) for t in truth])
    except ValueError:
        return None
    return {"mse": float(np.mean(err ** 2)), "mae": float(np.mean(np.abs(err)))}


def write_csv(header, rows, out=None) -> None:
    """Write rows as CSV to the path ``out`` (atomically), or to standard output."""
    import io
    import sys

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if out is None:
        sys.stdout.write(buf.getvalue())
        return
    from ngrad.io import atomic_write

    atomic_write(out, buf.getvalue().encode())
