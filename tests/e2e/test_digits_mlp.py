"""End to end: an MLP on scikit-learn's bundled 8x8 digits reaches >= 95 % test accuracy,
and survives a save / load round trip with identical predictions."""
import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.data.preprocessing import Standardizer
from ngrad.io import load_model
from ngrad.train import EarlyStopping, Model

datasets = pytest.importorskip("sklearn.datasets")


def digits_split(test_fraction=0.25, seed=0):
    """(X_train, y_train, X_test, y_test): X (m, 64) float32, y (m,) int64, a fixed shuffle."""
    digits = datasets.load_digits()
    X, y = digits.data.astype(np.float32), digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    X, y = X[order], y[order]
    n_test = int(len(X) * test_fraction)
    return X[n_test:], y[n_test:], X[:n_test], y[:n_test]


def test_mlp_on_digits_reaches_95_percent(tmp_path):
    X_train, y_train, X_test, y_test = digits_split()
    scaler = Standardizer().fit(X_train)  # statistics of the training set only
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    ngrad.manual_seed(0)
    module = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    model = Model(module)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=2e-3)
    history = model.fit(X_train, y_train, epochs=20, batch_size=32, validation_split=0.1, verbose=0, seed=0,
                        callbacks=[EarlyStopping("val_loss", patience=4, restore_best_weights=True)])

    test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
    assert test_acc >= 0.95, f"test accuracy {test_acc:.4f}"
    print(f"digits MLP: test accuracy {test_acc:.4f} after {len(history.epoch)} epochs")
    assert history.history["loss"][-1] < history.history["loss"][0]

    path = tmp_path / "digits.safetensors"
    model.save(path, extra={"standardizer": scaler.get_config()})
    restored, extra = load_model(path, return_extra=True)
    restored_scaler = Standardizer.from_config(extra["standardizer"])
    raw_test = digits_split()[2]
    np.testing.assert_array_equal(Model(restored).predict(restored_scaler.transform(raw_test)),
                                  model.predict(X_test))
