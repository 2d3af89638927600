"""C1W4 Deep neural network application: a 2-layer and a 4-layer network on cat vs non-cat.

The course's ``two_layer_model`` (12288-7-1, ReLU then sigmoid; weights
``randn * 0.01`` after ``np.random.seed(1)``) and ``L_layer_model``
(12288-20-7-5-1; weights ``randn / sqrt(n_prev)`` after ``np.random.seed(1)``),
both trained by batch gradient descent with lr 0.0075 for 2500 iterations,
the cost printed every 100 iterations and at the last. Here they are
``course.mlp`` stacks of ``nn.Linear`` layers trained with ``optim.SGD``; the
runs are deterministic, so the costs agree with the printed digits.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import optim
from ngrad.reproduce import c1w2_logreg, course, plots
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

LR, ITERATIONS = 0.0075, 2500
MODELS = {
    "2-layer": {
        "layers": [12288, 7, 1], "recipe": "random",  # randn * 0.01, seed 1
        "train": 1.0, "test": 0.72,
        "costs": {
            0: "0.693049735659989", 100: "0.6464320953428849", 200: "0.6325140647912678",
            300: "0.6015024920354665", 400: "0.5601966311605748", 500: "0.5158304772764729",
            600: "0.4754901313943325", 700: "0.43391631512257495", 800: "0.4007977536203886",
            900: "0.35807050113237976", 1000: "0.3394281538366412", 1100: "0.3052753636196264",
            1200: "0.2749137728213016", 1300: "0.2468176821061484", 1400: "0.19850735037466102",
            1500: "0.1744831811255665", 1600: "0.17080762978096942", 1700: "0.11306524562164715",
            1800: "0.09629426845937152", 1900: "0.0834261795972687", 2000: "0.07439078704319081",
            2100: "0.0663074813226793", 2200: "0.05919329501038171", 2400: "0.04855478562877017",
            2499: "0.04421498215868951",
        },
    },
    "4-layer": {
        "layers": [12288, 20, 7, 5, 1], "recipe": "xavier",  # randn / sqrt(n_prev), seed 1
        "train": 0.9856459330143539, "test": 0.8,
        "costs": {
            0: "0.7717493284237686", 100: "0.6720534400822914", 200: "0.6482632048575212",
            300: "0.6115068816101354", 400: "0.5670473268366111", 500: "0.54013766345478",
            600: "0.5279299569455267", 700: "0.4654773771766851", 800: "0.3691258524959279",
            900: "0.39174697434805344", 1000: "0.3151869888600617", 1100: "0.2726998441789385",
            1200: "0.23741853400268137", 1300: "0.19960120532208647", 1400: "0.18926300388463305",
            1500: "0.1611885466582775", 1600: "0.14821389662363316", 1700: "0.13777487812972944",
            1800: "0.1297401754919012", 1900: "0.12122535068005211", 2000: "0.1138206066863371",
            2400: "0.09287821526472395", 2499: "0.088439943441702",
        },
    },
}
TRAIN_NOTE = "the notebook prints 0.9999999999999998: it sums 209 terms of 1/209"


def build(name: str):
    """The course's network ``name`` ("2-layer" or "4-layer") initialized after ``np.random.seed(1)``."""
    spec = MODELS[name]
    model = course.mlp(spec["layers"], hidden="relu")
    return course.course_init(model, spec["recipe"], rng=np.random.RandomState(1), scale=0.01)


def fit(name: str, X, y, iterations: int, ctx):
    """Train ``name`` as the course does; returns ``(model, {i: cost})``."""
    model = build(name)
    X_t, Y = ngrad.tensor(X), course.column(y)  # (209, 12288), (209, 1)
    optimizer = optim.SGD(model.parameters(), lr=LR)
    costs = course.train(lambda: course.bce(model(X_t), Y), optimizer, iterations, ctx, every=100,
                         fmt="Cost after iteration {}: {!r}", also_last=True)
    return model, costs


def run(ctx) -> Result:
    result = Result()
    X_train, y_train, X_test, y_test = c1w2_logreg.load(ctx.data_dir)
    iterations = ctx.length(ITERATIONS, quick=11)
    full = iterations == ITERATIONS
    curves = {}
    with course.float64():
        for name, spec in MODELS.items():
            ctx.log(f"{name} model {'-'.join(map(str, spec['layers']))}, lr {LR}, {iterations} iterations")
            model, costs = fit(name, X_train, y_train, iterations, ctx)
            result.rows += course.cost_rows(costs, spec["costs"], label=f"{name}: cost it.")
            train, test = course.accuracy(model, X_train, y_train), course.accuracy(model, X_test, y_test)
            ctx.log(f"train accuracy {train!r}, test accuracy {test!r}")
            note = TRAIN_NOTE if name == "2-layer" else ""
            for split, value, reference in (("train", train, spec["train"]), ("test", test, spec["test"])):
                metric = f"{name}: {split} accuracy"
                result.rows.append(Row.accuracy(metric, reference, value, note=note if split == "train" else "")
                                   if full else Row.info(metric, value))
            curves[name] = (list(costs), list(costs.values()))
    if ctx.plots:
        plots.saved(result, plots.cost_curves(ctx.plot_path("costs"), curves,
                                              f"Deep networks on cat vs non-cat, lr {LR}"))
    if not full:
        result.notes.append(f"accuracies are compared only after the course's {ITERATIONS} iterations")
    return result


EXPERIMENT = Experiment(
    id="c1w4-deep",
    title="2-layer 12288-7-1 and 4-layer 12288-20-7-5-1 networks on cat vs non-cat",
    needs_data=True,
    run=run,
    epochs=ITERATIONS,
    source="C1W4 Deep Neural Network Application, v8 / 2021+ notebooks",
)
