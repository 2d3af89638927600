"""C2W1 Regularization: none, L2 and dropout on the "French football" data.

The course's ``model``: a 2-20-3-1 network (ReLU, ReLU, sigmoid), weights
``randn / sqrt(n_prev)`` after ``np.random.seed(3)``, batch gradient descent
with lr 0.3 for 30 000 iterations, the cost printed every 10 000. Three
runs: no regularization (test 91.5 %), L2 with lambda 0.7 (the cost gains
``lambd / (2 m) * sum ||W||^2``: 93 %) and inverted dropout with keep_prob
0.86 after both hidden layers (95 %).

Here the L2 run adds ``nn.l2_penalty`` to the loss and the dropout runs use
``nn.functional.dropout``. The course's forward pass calls
``np.random.seed(1)`` every time, so it drops the *same* units in every
iteration; given those masks (``mask=``), ngrad reproduces the course's
printed costs. ``nn.Dropout``, which draws new masks at every step as
dropout is meant to, is run as well and compared within a range.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import nn, optim
from ngrad.data import datasets
from ngrad.nn import functional as F
from ngrad.reproduce import course, plots
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

LAYERS, LR, ITERATIONS, LAMBD, KEEP_PROB = [2, 20, 3, 1], 0.3, 30000, 0.7, 0.86
VARIANTS = {  # costs at 0 / 10000 / 20000, train and test accuracy
    "none": ({0: "0.6557412523481002", 10000: "0.1632998752572417", 20000: "0.13851642423262905"},
             0.9478672985781991, 0.915),
    "L2": ({0: "0.6974484493131264", 10000: "0.2684918873282239", 20000: "0.2680916337127301"},
           0.9383886255924171, 0.93),
    "dropout": ({0: "0.6543912405149825", 10000: "0.0610169865749056", 20000: "0.060582435798513114"},
                0.9289099526066351, 0.95),
}
TITLES = {"none": "no regularization", "L2": f"L2, lambda {LAMBD}",
          "dropout": f"dropout, keep_prob {KEEP_PROB} (the course's masks)",
          "nn.Dropout": f"nn.Dropout(keep_prob={KEEP_PROB}), new masks every step"}
FRESH_TOL = 0.03
FRESH_NOTE = ("nn.Dropout draws new masks at every step (from seeded generators) where the course "
              "reuses one pair of masks; the course has no such run, so its accuracies only set the range")


class DropoutNet(nn.Module):
    """The course's 2-20-3-1 network with inverted dropout after both hidden ReLUs.

    ``masks="course"`` drops what the course's ``forward_propagation_with_dropout``
    drops: ``np.random.seed(1)`` and then ``rand(20, m) < keep_prob`` and
    ``rand(3, m) < keep_prob``, the same at every call. ``masks="fresh"`` uses
    ``nn.Dropout`` layers, new masks at every call.

    Shape:
        - Input: (m, 2)
        - Output: (m, 1) logits
    """

    def __init__(self, keep_prob: float, masks: str = "course", seed: int = 1):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(2, 20), nn.Linear(20, 3), nn.Linear(3, 1)
        self.keep_prob, self.masks, self.seed = keep_prob, masks, seed
        if masks == "fresh":
            self.drop1 = nn.Dropout(keep_prob=keep_prob, rng=np.random.default_rng(seed))
            self.drop2 = nn.Dropout(keep_prob=keep_prob, rng=np.random.default_rng(seed + 1))

    def forward(self, x):
        a1 = self.fc1(x).relu()  # (m, 20)
        if self.training:
            rs = np.random.RandomState(self.seed)  # the course reseeds on every forward pass
            a1 = self._drop(a1, rs, 1)
        a2 = self.fc2(a1).relu()  # (m, 3)
        if self.training:
            a2 = self._drop(a2, rs, 2)
        return self.fc3(a2)  # (m, 1)

    def _drop(self, a, rs, layer: int):
        if self.masks == "fresh":
            return getattr(self, f"drop{layer}")(a)
        D = rs.rand(a.shape[1], a.shape[0]) < self.keep_prob  # the course's D[l], (n_l, m)
        return F.dropout(a, keep_prob=self.keep_prob, mask=D.T)


def build(variant: str):
    """The network of ``variant`` (none, L2, dropout, nn.Dropout), initialized as the course does (seed 3)."""
    if variant in ("dropout", "nn.Dropout"):
        model = DropoutNet(KEEP_PROB, masks="course" if variant == "dropout" else "fresh")
    else:
        model = course.mlp(LAYERS, hidden="relu")
    return course.course_init(model, "xavier", rng=np.random.RandomState(3))


def fit(variant: str, X, y, iterations: int, ctx):
    """Train one variant as the course does; returns ``(model, {i: cost})``."""
    model = build(variant)
    X_t, Y = ngrad.tensor(X), course.column(y)  # (211, 2), (211, 1)
    m = X.shape[0]

    def cost():
        J = course.bce(model(X_t), Y)
        return J + nn.l2_penalty(model, LAMBD, m) if variant == "L2" else J

    optimizer = optim.SGD(model.parameters(), lr=LR)
    costs = course.train(cost, optimizer, iterations, ctx, every=10000, fmt="Cost after iteration {}: {!r}")
    model.eval()
    return model, costs


def run(ctx) -> Result:
    result = Result()
    X_train, y_train, X_test, y_test = datasets.load_football(ctx.data_dir)  # (211, 2), (211,), (200, 2), (200,)
    iterations = ctx.length(ITERATIONS, quick=501)
    full = iterations == ITERATIONS
    panels = []
    with course.float64():
        for variant in ("none", "L2", "dropout", "nn.Dropout"):
            ctx.log(f"{TITLES[variant]}: lr {LR}, {iterations} iterations")
            model, costs = fit(variant, X_train, y_train, iterations, ctx)
            train, test = course.accuracy(model, X_train, y_train), course.accuracy(model, X_test, y_test)
            ctx.log(f"On the training set: Accuracy: {train!r}; on the test set: Accuracy: {test!r}")
            result.rows += _rows(variant, costs, train, test, full)
            panels.append((f"{TITLES[variant]}: test {test:.3f}", _predictor(model)))
    if ctx.plots:
        plots.saved(result, plots.decision_boundaries(ctx.plot_path("decision_boundaries"), panels,
                                                      X_train, y_train, step=ctx.grid_step(0.01)))
    if not full:
        result.notes.append(f"accuracies are compared only after the course's {ITERATIONS} iterations")
    return result


def _rows(variant: str, costs: dict, train: float, test: float, full: bool) -> list:
    if variant == "nn.Dropout":
        rows = [Row.info(f"nn.Dropout: cost it. {i}", c) for i, c in costs.items()]
        if not full:
            return rows + [Row.info("nn.Dropout: train accuracy", train), Row.info("nn.Dropout: test accuracy", test)]
        _, train_ref, test_ref = VARIANTS["dropout"]
        return rows + [Row.approx("nn.Dropout: train accuracy", train_ref, train, FRESH_TOL, note=FRESH_NOTE),
                       Row.approx("nn.Dropout: test accuracy", test_ref, test, FRESH_TOL, note=FRESH_NOTE)]
    printed, train_ref, test_ref = VARIANTS[variant]
    rows = course.cost_rows(costs, printed, label=f"{variant}: cost it.")
    for split, value, reference in (("train", train, train_ref), ("test", test, test_ref)):
        metric = f"{variant}: {split} accuracy"
        rows.append(Row.accuracy(metric, reference, value) if full else Row.info(metric, value))
    return rows


def _predictor(model):
    return lambda points: course.predict(model, points)


EXPERIMENT = Experiment(
    id="c2w1-regularization",
    title="no regularization / L2 (lambda 0.7) / dropout (keep 0.86) on the football data",
    needs_data=True,
    run=run,
    epochs=ITERATIONS,
    source="C2W1 Regularization, 2021+ notebook",
)
