"""C2W2 Optimization methods: mini-batch GD, momentum, Adam and learning-rate decay on the moons.

The course's ``model`` (2023 notebook): a 2-5-2-1 network (ReLU, ReLU,
sigmoid), He weights after ``np.random.seed(3)``, mini-batches of 64 drawn
by ``random_mini_batches`` with seed 11, 12, ... (one per epoch), 5000
epochs, the epoch's summed cost divided by m printed every 1000 epochs.
Optimizers: ``update_parameters_with_gd`` (lr 0.0007: 71.7 %), momentum
(beta 0.9: 71.7 %) and Adam (94.3 %); then decay of the rate: ``update_lr``
(1 / (1 + decay_rate * epoch)) and ``schedule_lr_decay`` (the same every
1000 epochs), with GD, momentum and Adam.

Here: ``optim.SGD``, ``optim.Momentum`` (the course's averaged form),
``optim.Adam``, ``optim.lr_scheduler.InverseTimeDecay`` and
``ScheduledDecay``, batches from ``ngrad.data.random_mini_batches``. The
course sets the rate with ``decay(lr0, i)`` at the *end* of epoch ``i``, so
epoch ``i + 1`` trains with the rate of epoch ``i``: the scheduler is
stepped from the end of epoch 1 on to follow it.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import optim
from ngrad.data import datasets, random_mini_batches
from ngrad.optim import lr_scheduler
from ngrad.reproduce import course, plots
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

LAYERS, EPOCHS, BATCH, FIRST_SEED = [2, 5, 2, 1], 5000, 64, 10
PRINTED = (0, 1000, 2000, 3000, 4000)
# name: (optimizer, lr, decay, course costs at PRINTED epochs, course accuracy)
VARIANTS = {
    "gd": ("gd", 0.0007, None, ("0.702405", "0.668101", "0.635288", "0.600491", "0.573367"), 0.7166666666666667),
    "momentum": ("momentum", 0.0007, None, ("0.702413", "0.668167", "0.635388", "0.600591", "0.573444"),
                 0.7166666666666667),
    "adam": ("adam", 0.0007, None, ("0.702166", "0.167845", "0.141316", "0.138788", "0.136066"), 0.9433333333333334),
    "gd + update_lr": ("gd", 0.1, "update_lr", ("0.701091", "0.661884", "0.658620", "0.656765", "0.655486"),
                       0.6533333333333333),
    "gd + schedule_lr_decay": ("gd", 0.1, "schedule", ("0.701091", "0.127161", "0.120304", "0.117033", "0.117512"),
                               0.9433333333333334),
    "momentum + schedule_lr_decay": ("momentum", 0.1, "schedule",
                                     ("0.702226", "0.128974", "0.125965", "0.123375", "0.123218"), 0.9533333333333334),
    "adam + schedule_lr_decay": ("adam", 0.01, "schedule", ("0.699346", "0.130074", "0.129826", "0.129282", "0.128361"),
                                 0.94),
}
UPDATE_LR_PRINTED = {  # GD + update_lr: "learning rate after epoch %i: %f"
    0: "0.100000", 1000: "0.000100", 2000: "0.000050", 3000: "0.000033", 4000: "0.000025",
}


def build():
    """The course's 2-5-2-1 network, He weights after ``np.random.seed(3)``."""
    return course.course_init(course.mlp(LAYERS, hidden="relu"), "he", rng=np.random.RandomState(3))


def make_optimizer(kind: str, params, lr: float):
    """``optim.SGD``, the course's ``optim.Momentum`` (beta 0.9) or ``optim.Adam`` (0.9, 0.999, 1e-8)."""
    if kind == "gd":
        return optim.SGD(params, lr=lr)
    if kind == "momentum":
        return optim.Momentum(params, lr=lr, beta=0.9)
    return optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)


def make_schedule(decay, optimizer):
    """The course's ``update_lr`` / ``schedule_lr_decay`` (decay_rate 1, interval 1000) as a scheduler."""
    if decay == "update_lr":
        return lr_scheduler.InverseTimeDecay(optimizer, decay_rate=1.0)
    if decay == "schedule":
        return lr_scheduler.ScheduledDecay(optimizer, decay_rate=1.0, time_interval=1000)
    return None


def fit(name: str, X, y, epochs: int, ctx):
    """Train one variant as the course's ``model``; returns (model, {epoch: cost}, {epoch: lr})."""
    kind, lr, decay, _, _ = VARIANTS[name]
    model = build()
    optimizer = make_optimizer(kind, model.parameters(), lr)
    schedule = make_schedule(decay, optimizer)
    Y = course.column(y)  # (300, 1)
    m = X.shape[0]
    costs, rates, seed = {}, {}, FIRST_SEED
    for epoch in range(epochs):
        seed += 1
        cost_total = 0.0
        for X_batch, Y_batch in random_mini_batches(X, Y, BATCH, seed=seed, axis=0):
            optimizer.zero_grad()
            loss = course.bce(model(ngrad.tensor(X_batch)), Y_batch)  # mean over the batch
            loss.backward()
            optimizer.step()
            cost_total += loss.item() * X_batch.shape[0]  # the course sums the batch's losses
        if schedule is not None and epoch >= 1:
            schedule.step()  # the course's decay(lr0, epoch) at the end of epoch `epoch` (>= 1: lr0 either way)
        if epoch % 1000 == 0:
            costs[epoch] = cost_total / m
            rates[epoch] = optimizer.param_groups[0]["lr"]
            ctx.log(f"Cost after epoch {epoch}: {costs[epoch]:f}"
                    + (f"; learning rate after epoch {epoch}: {rates[epoch]:f}" if schedule else ""))
    return model, costs, rates


def run(ctx) -> Result:
    result = Result()
    X, y = datasets.load_moons()  # (300, 2), (300,)
    epochs = ctx.length(EPOCHS, quick=2)
    full = epochs == EPOCHS
    panels, curves = [], {}
    with course.float64():
        for name, (_, lr, decay, printed, reference) in VARIANTS.items():
            ctx.log(f"{name}: lr {lr}, mini-batch {BATCH}, {epochs} epochs")
            model, costs, rates = fit(name, X, y, epochs, ctx)
            acc = course.accuracy(model, X, y)
            ctx.log(f"Accuracy: {acc!r}")
            result.rows += course.cost_rows(costs, dict(zip(PRINTED, printed)), label=f"{name}: cost ep.")
            if decay is not None:
                result.rows += _rate_rows(name, decay, rates)
            result.rows.append(Row.accuracy(f"{name}: accuracy", reference, acc) if full
                               else Row.info(f"{name}: accuracy", acc))
            panels.append((f"{name}: {acc:.3f}", _predictor(model)))
            curves[name] = (list(costs), list(costs.values()))
    result.rows += _decay_function_rows()
    if ctx.plots:
        plots.saved(result, plots.decision_boundaries(ctx.plot_path("decision_boundaries"), panels, X, y,
                                                      step=ctx.grid_step(0.02), ncols=4))
        plots.saved(result, plots.cost_curves(ctx.plot_path("costs"), curves, "Optimizers on the moons",
                                              xlabel="epoch", logy=True))
    if not full:
        result.notes.append(f"accuracies are compared only after the course's {EPOCHS} epochs")
    return result


def _rate_rows(name: str, decay: str, rates: dict) -> list:
    """The rates after each printed epoch; the course's printed ones are known for ``update_lr``."""
    if decay == "update_lr":
        return [Row.printed(f"{name}: lr after ep. {i}", UPDATE_LR_PRINTED[i], r) for i, r in rates.items()]
    return [Row.info(f"{name}: lr after ep. {i}", r) for i, r in rates.items()]


def _decay_function_rows() -> list:
    """The notebook's unit checks of ``update_lr`` and ``schedule_lr_decay``, on ngrad's schedule functions."""
    return [
        Row.printed("update_lr(0.5, epoch 2, decay_rate 1)", "0.16666666666666666",
                    lr_scheduler.inverse_time_decay(2, 0.5, decay_rate=1)),
        Row.printed("schedule_lr_decay(0.5, epoch 10, decay_rate 0.3, interval 100)", "0.5",
                    lr_scheduler.scheduled_decay(10, 0.5, decay_rate=0.3, time_interval=100)),
        Row.printed("schedule_lr_decay(0.5, epoch 100, decay_rate 0.3, interval 100)", "0.3846153846153846",
                    lr_scheduler.scheduled_decay(100, 0.5, decay_rate=0.3, time_interval=100)),
    ]


def _predictor(model):
    return lambda points: course.predict(model, points)


EXPERIMENT = Experiment(
    id="c2w2-optimizers",
    title="mini-batch GD / momentum / Adam and learning-rate decay on the moons",
    needs_data=False,
    run=run,
    epochs=EPOCHS,
    source="C2W2 Optimization Methods, 2023 notebook",
)
