"""C1W2 Logistic regression with a neural-network mindset: cat vs non-cat.

The course's ``model``: images flattened to 12288 features and divided by
255, ``w`` and ``b`` zero, batch gradient descent on the cross-entropy with
lr 0.005 for 2000 iterations, the cost printed every 100 iterations; train
99.04 %, test 70 %. Then the same model with lr 0.01, 0.001 and 0.0001 for
1500 iterations. Here the model is one ``nn.Linear(12288, 1)`` trained by
``optim.SGD``; everything is deterministic, so the costs agree to the
printed digits.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import nn, optim
from ngrad.data import datasets
from ngrad.reproduce import course, plots
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

LR, ITERATIONS = 0.005, 2000
COSTS = {  # "Cost after iteration i: %f"
    0: "0.693147", 100: "0.584508", 200: "0.466949", 300: "0.376007", 400: "0.331463",
    500: "0.303273", 600: "0.279880", 700: "0.260042", 800: "0.242941", 900: "0.228004",
    1000: "0.214820", 1100: "0.203078", 1200: "0.192544", 1300: "0.183033", 1400: "0.174399",
    1500: "0.166521", 1600: "0.159305", 1700: "0.152667", 1800: "0.146542", 1900: "0.140872",
}
TRAIN_ACC, TEST_ACC = 99.04306220095694, 70.0
SWEEP_ITERATIONS = 1500
SWEEP = {  # lr: (train %, test %), the 2017 notebook's run
    0.01: (99.52153110047847, 68.0),
    0.001: (88.99521531100478, 64.0),
    0.0001: (68.42105263157895, 36.0),
}


def load(data_dir):
    """The cat data as the course prepares it: X (m, 12288) in [0, 1], float64; y (m,)."""
    X_train, y_train, X_test, y_test, _ = datasets.load_cat_vs_noncat(data_dir)
    scale = lambda X: datasets.scale_pixels(datasets.flatten_images(X), dtype=np.float64)  # noqa: E731
    return scale(X_train), y_train, scale(X_test), y_test


def build():
    """``nn.Linear(12288, 1)`` with ``w`` and ``b`` zero: the course's ``initialize_with_zeros``."""
    model = nn.Linear(12288, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    return model


def fit(X, y, lr: float, iterations: int, ctx, log: bool = True):
    """Batch gradient descent of the logistic model; returns ``(model, {i: cost})`` every 100 iterations."""
    model = build()
    X_t, Y = ngrad.tensor(X), course.column(y)  # (m, 12288), (m, 1)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    costs = course.train(lambda: course.bce(model(X_t), Y), optimizer, iterations,
                         ctx if log else course.SILENT, every=100)
    return model, costs


def percent_right(model, X, y) -> float:
    """The course's ``100 - mean(|y_hat - y|) * 100``."""
    return float(100 - np.mean(np.abs(course.predict(model, X) - y)) * 100)


def run(ctx) -> Result:
    result = Result()
    X_train, y_train, X_test, y_test = load(ctx.data_dir)
    ctx.log(f"train {X_train.shape}, test {X_test.shape}; lr {LR}")
    with course.float64():
        iterations = ctx.length(ITERATIONS, quick=101)
        model, costs = fit(X_train, y_train, LR, iterations, ctx)
        result.rows += course.cost_rows(costs, COSTS)
        full = iterations == ITERATIONS
        result.rows += _accuracy_rows("", model, X_train, y_train, X_test, y_test,
                                      (TRAIN_ACC, TEST_ACC) if full else None)
        curves = {f"lr {LR}": (list(costs), list(costs.values()))}
        sweep_iterations = ctx.length(SWEEP_ITERATIONS, quick=10)
        for lr, reference in SWEEP.items():
            ctx.log(f"learning rate {lr}: {sweep_iterations} iterations")
            model, sweep_costs = fit(X_train, y_train, lr, sweep_iterations, ctx, log=False)
            result.rows += _accuracy_rows(f"lr {lr}: ", model, X_train, y_train, X_test, y_test,
                                          reference if sweep_iterations == SWEEP_ITERATIONS else None)
            curves[f"lr {lr}"] = (list(sweep_costs), list(sweep_costs.values()))
    if ctx.plots:
        plots.saved(result, plots.cost_curves(ctx.plot_path("costs"), curves,
                                              "Logistic regression, cat vs non-cat"))
    if iterations != ITERATIONS:
        result.notes.append(f"accuracies are compared only after the course's {ITERATIONS} "
                            f"(sweep: {SWEEP_ITERATIONS}) iterations")
    return result


def _accuracy_rows(prefix, model, X_train, y_train, X_test, y_test, reference):
    train, test = percent_right(model, X_train, y_train), percent_right(model, X_test, y_test)
    if reference is None:
        return [Row.info(f"{prefix}train accuracy %", train), Row.info(f"{prefix}test accuracy %", test)]
    return [Row.accuracy(f"{prefix}train accuracy %", reference[0], train),
            Row.accuracy(f"{prefix}test accuracy %", reference[1], test)]


EXPERIMENT = Experiment(
    id="c1w2-logreg",
    title="logistic regression on cat vs non-cat, lr 0.005 for 2000 iterations, and the learning-rate sweep",
    needs_data=True,
    run=run,
    epochs=ITERATIONS,
    source="C1W2 Logistic Regression; sweep: 2017 notebook",
)
