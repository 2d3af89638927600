"""C1W3 Planar data classification with one hidden layer: the flower.

The course's ``nn_model``: 2 inputs, ``n_h`` tanh units, one sigmoid output;
weights ``randn * 0.01`` drawn after ``np.random.seed(2)`` (the v6c notebook's
``initialize_parameters``), biases zero; batch gradient descent with lr 1.2
for 10 000 iterations, the cost printed every 1000. The 2021+ notebook seeds
3 instead, which changes the costs; both are run. scikit-learn's
``LogisticRegressionCV`` is the linear baseline (47 %), and hidden sizes
1, 2, 3, 4, 5, 20, 50 are trained for 5000 iterations each.

Here the network is ``nn.Linear(2, n_h) -> nn.Tanh() -> nn.Linear(n_h, 1)``
trained with ``optim.SGD``. The run is deterministic, but with lr 1.2 the last
thousands of iterations amplify rounding: the course's own copies print
0.219454 to 0.219504 at iteration 8000, so those two costs (and the sweep's
largest networks) are compared within the copies' spread.
"""
from __future__ import annotations

import warnings

import numpy as np

import ngrad
from ngrad import optim
from ngrad.data import datasets
from ngrad.reproduce import course, plots
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

LR, ITERATIONS, N_H = 1.2, 10000, 4
COSTS_V6C = {  # seed 2; "Cost after iteration i: %f"
    0: "0.693048", 1000: "0.288083", 2000: "0.254385", 3000: "0.233864",
    4000: "0.226792", 5000: "0.222644", 6000: "0.219731", 7000: "0.217504",
}
SPREAD_V6C = {8000: (0.219479, 5e-5), 9000: (0.2185855, 5e-5)}  # copies print 0.219454-0.219504, 0.218558-0.218613
COSTS_2021 = {0: "0.693162", 1000: "0.258625"}  # seed 3
SPREAD_2021 = {9000: (0.218483, 1e-4)}
ACCURACY_V6C, ACCURACY_2021, BASELINE = 90, 90.75, 47  # v6c and the baseline print "%d"
SWEEP_ITERATIONS = 5000
SWEEP = {1: 67.5, 2: 67.25, 3: 90.75, 4: 90.5, 5: 91.25, 20: 90.5, 50: 90.75}  # v6c notebook
SWEEP_SPREAD = {20: 1.0, 50: 1.0}  # course copies: 90.0-91.0 and 90.25-90.75
SPREAD_NOTE = ("lr 1.2 amplifies rounding late in training and the course's own copies disagree here "
               "(it. 8000: 0.219454-0.219504, it. 9000: 0.218558-0.218613, n_h 20: 90.0-91.0 %, "
               "n_h 50: 90.25-90.75 %), so the check allows about twice their spread")


def build(n_h: int, seed: int):
    """2 -> ``n_h`` tanh -> 1 with the course's ``randn * 0.01`` weights after ``np.random.seed(seed)``."""
    model = course.mlp([2, n_h, 1], hidden="tanh")
    return course.course_init(model, "random", rng=np.random.RandomState(seed), scale=0.01)


def fit(X, y, n_h: int, iterations: int, seed: int, ctx, log: bool = True):
    """The course's ``nn_model``: returns ``(model, {i: cost})``, costs every 1000 iterations."""
    model = build(n_h, seed)
    X_t, Y = ngrad.tensor(X), course.column(y)  # (400, 2), (400, 1)
    optimizer = optim.SGD(model.parameters(), lr=LR)
    costs = course.train(lambda: course.bce(model(X_t), Y), optimizer, iterations,
                         ctx if log else course.SILENT, every=1000)
    return model, costs


def baseline(X, y):
    """scikit-learn's ``LogisticRegressionCV`` with the course's defaults; returns (classifier, accuracy %)."""
    try:
        from sklearn.linear_model import LogisticRegressionCV
    except ImportError as e:  # pragma: no cover - sklearn is in the data extra
        raise ImportError('c1w3-planar: the baseline needs scikit-learn (pip install "ngrad[data]")') from e
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # newer releases announce changed defaults
        clf = LogisticRegressionCV().fit(X, y)
    return clf, float(np.mean(clf.predict(X) == y) * 100)


def run(ctx) -> Result:
    result = Result()
    X, y = datasets.load_planar_dataset()  # (400, 2), (400,)
    clf, lr_accuracy = baseline(X, y)
    ctx.log(f"logistic regression baseline: {lr_accuracy:g} % of the points right")
    result.rows.append(Row.accuracy("logistic regression accuracy % (printed %d)", BASELINE, int(lr_accuracy)))
    iterations = ctx.length(ITERATIONS, quick=1001)
    full = iterations == ITERATIONS
    with course.float64():
        ctx.log(f"n_h = {N_H}, lr {LR}, {iterations} iterations, init after np.random.seed(2) (v6c)")
        model, costs = fit(X, y, N_H, iterations, seed=2, ctx=ctx)
        result.rows += course.cost_rows(costs, COSTS_V6C, label="v6c cost it.",
                                        approx=SPREAD_V6C, approx_note=SPREAD_NOTE)
        accuracy = course.accuracy(model, X, y) * 100
        result.rows += _final("v6c accuracy % (printed %d)", ACCURACY_V6C, int(accuracy), full)
        result.rows.append(Row.info("v6c accuracy %", accuracy))
        ctx.log(f"n_h = {N_H}, init after np.random.seed(3) (2021+ notebook)")
        model_2021, costs_2021 = fit(X, y, N_H, iterations, seed=3, ctx=ctx)
        result.rows += course.cost_rows(costs_2021, COSTS_2021, label="2021+ cost it.",
                                        approx=SPREAD_2021, approx_note=SPREAD_NOTE)
        result.rows += _final("2021+ accuracy %", ACCURACY_2021, course.accuracy(model_2021, X, y) * 100, full)
        sweep_iterations = ctx.length(SWEEP_ITERATIONS, quick=100)
        sweep_full = sweep_iterations == SWEEP_ITERATIONS
        panels = []
        for n_h, reference in SWEEP.items():
            sweep_model, _ = fit(X, y, n_h, sweep_iterations, seed=2, ctx=ctx, log=False)
            acc = course.accuracy(sweep_model, X, y) * 100
            ctx.log(f"Accuracy for {n_h} hidden units: {acc} %")
            result.rows += _final(f"sweep n_h={n_h} accuracy %", reference, acc, sweep_full,
                                  tol=SWEEP_SPREAD.get(n_h))
            panels.append((f"hidden layer of size {n_h}", _predictor(sweep_model)))
        if ctx.plots:
            _plot(ctx, result, X, y, clf, model, costs, panels)
    if not full:
        result.notes.append(f"accuracies are compared only after the course's {ITERATIONS} "
                            f"(sweep: {SWEEP_ITERATIONS}) iterations")
    return result


def _final(metric, reference, value, full: bool, tol=None):
    if not full:
        return [Row.info(metric, value)]
    if tol is not None:
        return [Row.approx(metric, reference, value, tol, note=SPREAD_NOTE)]
    return [Row.accuracy(metric, reference, value)]


def _predictor(model):
    return lambda points: course.predict(model, points)


def _plot(ctx, result, X, y, clf, model, costs, panels):
    plots.saved(result, plots.decision_boundaries(
        ctx.plot_path("decision_boundary"),
        [("logistic regression (scikit-learn)", clf.predict), (f"hidden layer of size {N_H}", _predictor(model))],
        X, y, step=ctx.grid_step(0.02)))
    plots.saved(result, plots.decision_boundaries(ctx.plot_path("hidden_sizes"), panels, X, y,
                                                  step=ctx.grid_step(0.02)))
    plots.saved(result, plots.cost_curves(ctx.plot_path("costs"), {"n_h = 4": (list(costs), list(costs.values()))},
                                          "One hidden layer on the flower, lr 1.2"))


EXPERIMENT = Experiment(
    id="c1w3-planar",
    title="one tanh hidden layer on the flower: costs, accuracy, logistic-regression baseline, hidden sizes",
    needs_data=False,
    run=run,
    epochs=ITERATIONS,
    source="C1W3 Planar data, v6c notebook (seed 2) and 2021+ (seed 3)",
)
