"""Malignant-tumour detection: data, the MLP, its training loop and the tuning objective.

The data is scikit-learn's bundled Wisconsin breast-cancer set (569 tumours,
30 features). The positive class is *malignant* (scikit-learn codes it 0; here
it is 1), so precision, recall and F1 speak of malignant cases: recall is the
share of malignant tumours the model catches.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import metrics, nn, optim
from ngrad.data import datasets
from ngrad.data.loader import DataLoader
from ngrad.data.preprocessing import Standardizer
from ngrad.data.split import train_dev_test_split

#: Train / dev / test fractions (a small data set: the older 60 / 20 / 20 rule).
FRACTIONS = (0.6, 0.2, 0.2)
#: Share of the training split held out as a train-dev set (same distribution as train).
TRAIN_DEV = 0.1
#: Default hyperparameters, before any tuning.
DEFAULTS = {"lr": 1e-3, "hidden": 16, "layers": 1, "beta1": 0.9, "weight_decay": 0.0, "epochs": 60,
            "batch_size": 32, "seed": 0}


# ------------------------------------------------------------------ data
def load_data(seed=0):
    """Stratified train / train-dev / dev / test sets, standardized with training statistics.

    Returns
    -------
    dict
        ``{"train": (X, y), "train_dev": ..., "dev": ..., "test": ...}`` with X
        float32 (m, 30) and y float32 (m,), 1 = malignant; plus ``"feature_names"``.
    """
    X, y_sklearn = datasets.load_breast_cancer()
    y = (y_sklearn == 0).astype(np.float32)  # 1 = malignant
    parts = train_dev_test_split(X, y, fractions=FRACTIONS, stratify=y, train_dev=TRAIN_DEV, seed=seed)
    X_tr, X_tdv, X_dv, X_te, y_tr, y_tdv, y_dv, y_te = parts
    scaler = Standardizer().fit(X_tr)  # training statistics only
    f32 = lambda a: scaler.transform(a).astype(np.float32)  # noqa: E731
    from sklearn.datasets import load_breast_cancer

    return {
        "train": (f32(X_tr), y_tr),
        "train_dev": (f32(X_tdv), y_tdv),
        "dev": (f32(X_dv), y_dv),
        "test": (f32(X_te), y_te),
        "feature_names": list(load_breast_cancer().feature_names),
    }


# ------------------------------------------------------------------ model
def build_model(n_features=30, hidden=16, layers=1):
    """``layers`` x [Linear -> ReLU] of width ``hidden``, then Linear -> 1 logit."""
    blocks, width = [], n_features
    for _ in range(int(layers)):
        blocks += [nn.Linear(width, int(hidden)), nn.ReLU()]
        width = int(hidden)
    return nn.Sequential(*blocks, nn.Linear(width, 1))


def fit(params, X, y):
    """Train an MLP with Adam on BCE-with-logits; returns the module.

    Parameters
    ----------
    params : dict
        ``lr``, ``hidden``, ``layers``, ``beta1``, ``weight_decay``, ``epochs``,
        ``batch_size``, ``seed`` (missing ones from :data:`DEFAULTS`).
    X : ndarray, shape (m, 30)
    y : ndarray, shape (m,)
    """
    p = {**DEFAULTS, **params}
    ngrad.manual_seed(int(p["seed"]))
    model = build_model(X.shape[1], p["hidden"], p["layers"])
    loss_fn = nn.BCEWithLogitsLoss()
    opt = optim.Adam(model.named_parameters(), lr=p["lr"], betas=(p["beta1"], 0.999),
                     weight_decay=p["weight_decay"])
    loader = DataLoader(X, y[:, None], batch_size=int(p["batch_size"]), shuffle=True, seed=int(p["seed"]))
    model.train()
    for _ in range(int(p["epochs"])):
        for xb, yb in loader:
            logits = model(ngrad.tensor(xb))  # (B, 1)
            loss = loss_fn(logits, ngrad.tensor(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def predict_proba(model, X):
    """P(malignant) for each row of ``X``, shape (m,)."""
    with ngrad.no_grad():
        z = model(ngrad.tensor(X)).numpy()[:, 0].astype(np.float64)  # (m,)
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # a sigmoid that cannot overflow


def predict(model, X, threshold=0.5):
    """1 (malignant) where P(malignant) >= ``threshold``."""
    return (predict_proba(model, X) >= threshold).astype(np.int64)


def evaluate(model, X, y):
    """Error, precision, recall and F1 for malignant cases, and ROC AUC."""
    y_hat = predict(model, X)
    p, r, f = metrics.precision_recall_f1(y.astype(np.int64), y_hat, pos_label=1)
    return {
        "error": 1.0 - metrics.accuracy(y.astype(np.int64), y_hat),
        "precision": p,
        "recall": r,
        "f1": f,
        "auc": metrics.roc_auc(y, predict_proba(model, X)),
        "m": len(y),
    }


def n_parameters(model):
    return int(sum(p.size for p in model.parameters()))


# ------------------------------------------------------------------ tuning
def objective(params):
    """A tuning trial: train on the training split, score on the dev split.

    Returns ``dev_f1`` (the optimizing metric), ``dev_recall`` (a satisficing
    one: malignant tumours must not be missed), ``dev_precision``,
    ``dev_error`` and ``n_params``.
    """
    data = load_data(seed=int(params.get("data_seed", 0)))
    X, y = data["train"]
    model = fit(params, X, y)
    dev = evaluate(model, *data["dev"])
    return {
        "dev_f1": dev["f1"],
        "dev_recall": dev["recall"],
        "dev_precision": dev["precision"],
        "dev_error": dev["error"],
        "n_params": n_parameters(model),
    }


def search_space(epochs=60):
    """The course's way to search: log scales for rates, ``1 - beta`` on a log scale."""
    from ngrad import tune

    return {
        "lr": tune.loguniform(1e-4, 3e-2),
        "hidden": tune.randint(4, 65),
        "layers": tune.choice([1, 2]),
        "beta1": tune.one_minus_loguniform(0.8, 0.99),
        "weight_decay": tune.loguniform(1e-6, 1e-2),
        "epochs": int(epochs),
        "batch_size": 32,
        "seed": 0,
    }
