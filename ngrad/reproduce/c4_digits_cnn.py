"""A ConvNet on scikit-learn's bundled 8x8 digits: Course 4's recipe on data that ships with the library.

No course file is needed: the 1,797 handwritten digits of scikit-learn
(pixels 0-16) are split 80 / 20 (stratified, seed 0), scaled to [0, 1] and
shaped as one-channel 8x8 images. The network is the course's pattern
(convolution, ReLU, max pool, twice, then a dense layer)::

    Conv2D 16@3x3 same -> ReLU -> MaxPool 2 -> Conv2D 32@3x3 same -> ReLU -> MaxPool 2
    -> Flatten -> Dense 10

trained with Adam (lr 0.005, batch 32). Scikit-learn's logistic regression on
the flattened pixels is the baseline. The course has no number for this data
set, so every row is informational.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import nn
from ngrad.data import datasets
from ngrad.nn.layers.conv import Conv2D
from ngrad.nn.layers.pooling import MaxPool2D
from ngrad.reproduce import c4_common
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

EPOCHS, BATCH, LR, SEED = 20, 32, 0.005, 0


def digits_cnn(num_classes: int = 10) -> nn.Sequential:
    """The two-block ConvNet for 1x8x8 images (about 6 000 parameters)."""
    return nn.Sequential({
        "conv1": Conv2D(1, 16, 3, padding="same"), "relu1": nn.ReLU(), "pool1": MaxPool2D(2),  # (N, 16, 4, 4)
        "conv2": Conv2D(16, 32, 3, padding="same"), "relu2": nn.ReLU(), "pool2": MaxPool2D(2),  # (N, 32, 2, 2)
        "flatten": nn.Flatten(), "fc": nn.Linear(32 * 2 * 2, num_classes),
    })


def load():
    """``X_train (m, 1, 8, 8)`` in [0, 1] float32, ``y_train (m,)``, and the test split."""
    X_train, y_train, X_test, y_test = datasets.load_digits(test_fraction=0.2, seed=SEED)
    images = lambda X: (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)  # noqa: E731
    return images(X_train), y_train, images(X_test), y_test


def baseline(X_train, y_train, X_test, y_test) -> float:
    """Scikit-learn's logistic regression on the flattened pixels."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000).fit(X_train.reshape(len(X_train), -1), y_train)
    return float(clf.score(X_test.reshape(len(X_test), -1), y_test))


def run(ctx) -> Result:
    result = Result()
    X_train, y_train, X_test, y_test = load()
    if ctx.quick:
        X_train, y_train = c4_common.quick_subset(X_train, y_train, 20)
    epochs = ctx.length(EPOCHS, quick=2)
    ngrad.manual_seed(SEED)
    model = digits_cnn()
    params = sum(p.size for p in model.parameters())
    ctx.log(f"digits: train {X_train.shape}, test {X_test.shape}; CNN of {params} parameters, {epochs} epochs")
    history, seconds = c4_common.train(model, X_train, y_train, X_test, y_test, epochs, BATCH, LR, ctx, seed=SEED,
                                       every=5, prefix="  ")
    result.rows += [
        Row.info("CNN parameters", params),
        Row.info(f"CNN: train accuracy (eval mode) after {epochs} epochs", c4_common.accuracy(model, X_train, y_train)),
        Row.info(f"CNN: test accuracy after {epochs} epochs", c4_common.accuracy(model, X_test, y_test)),
        Row.info("logistic regression (scikit-learn): test accuracy", baseline(X_train, y_train, X_test, y_test)),
        Row.info("CNN: seconds per epoch", float(np.median(seconds))),
    ]
    return result


EXPERIMENT = Experiment(
    id="c4-digits-cnn",
    title="a two-block ConvNet on scikit-learn's bundled 8x8 digits",
    needs_data=False,
    run=run,
    epochs=EPOCHS,
    source="Course 4's ConvNet recipe; no course numbers for this data set",
)
