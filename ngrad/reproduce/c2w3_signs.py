"""C2W3 TensorFlow introduction, in ngrad: a 12288-25-12-6 softmax network on SIGNS.

The course builds LINEAR -> RELU -> LINEAR -> RELU -> LINEAR (25, 12, 6
units) in TensorFlow, Glorot-initialized with seed 1, and trains it with
Adam (lr 1e-4) on mini-batches of 32 of the 1080 SIGNS images (12288 pixels
scaled to [0, 1]), softmax cross-entropy on the logits. The 2021+ notebook
trains 100 epochs and prints, every 10, the epoch's total loss divided by m
and the accuracies (epoch 90: train 0.754, test 0.692); the older TF1
notebook trains 1500 epochs (train 0.999, test 0.717): ``--epochs 1500``.

Here: ``course.mlp`` of ``nn.Linear`` layers with ``nn.init.xavier_normal_``
(seed 1), ``optim.Adam``, ``F.cross_entropy`` on integer labels, in float32
like TensorFlow, batches reshuffled every epoch by
``ngrad.data.random_mini_batches`` with the TF1 notebook's seeds 4, 5, ...
None of this is draw-for-draw TensorFlow (its initializer and shuffling use
its own generators), and the training file kept here was rebuilt from the
SIGNS photos (JPEG noise, another order), so the numbers are compared
within a range. And the range is wide: the inputs are not centred, so at
initialization many ReLUs are off for every image, and how many depends on
the draw; over seeds 1-8 the train accuracy after 10 epochs runs from 0.17 to
0.54 (the course's TensorFlow run: 0.36). So the 100-epoch run trains five
seeds and compares their median with the course; longer runs train one.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad import nn, optim
from ngrad.data import datasets, random_mini_batches
from ngrad.nn import functional as F
from ngrad.reproduce import course, plots
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

LAYERS, LR, BATCH, EPOCHS, FIRST_SEED = [12288, 25, 12, 6], 1e-4, 32, 100, 3
SEEDS = (1, 2, 3, 4, 5)  # initializations trained for the course's 100 epochs; the median is compared
# epochs: {epoch: (cost, train accuracy, test accuracy, tolerances)}, what each notebook printed
REFERENCES = {
    100: {  # 2021+ notebook (2023 run)
        0: ((1.8302439, 0.1703704, 0.2), (0.15, 0.1, 0.1)),
        90: ((0.7444287, 0.7537037, 0.6916667), (0.15, 0.06, 0.08)),
    },
    1500: {  # TF1 notebook: final accuracies
        1499: ((None, 0.999074, 0.716667), (None, 0.02, 0.08)),
    },
}
NOTE = ("not draw-for-draw TensorFlow: Glorot weights and batch order come from other generators and the "
        "training file was rebuilt from the SIGNS photos, so the check is a range; with several seeds, "
        "ngrad's number is their median")
TRAIN_ACC_NOTE = ("the 2021+ notebook's train accuracy is a running mean over the epoch's batches; "
                  "ngrad measures the whole set after the epoch")


REBUILT_NOTE = ("this train_signs.h5 was rebuilt from the CS230 SIGNS JPEGs (it lists their file_names), and "
                "those images train slower than the course's: on 120 images of each, with the same seed, the "
                "course's reach 74 % train accuracy in 100 epochs where the rebuilt ones reach 45 %, so ngrad's "
                "numbers here fall below the course's range")


def rebuilt_training_file(data_dir) -> bool:
    """True when ``train_signs.h5`` is the copy rebuilt from JPEGs (it carries a ``file_names`` dataset)."""
    import h5py

    with h5py.File(datasets.find_course_file("train_signs.h5", data_dir), "r") as f:
        return "file_names" in f


def load(data_dir):
    """SIGNS as the course prepares it: X (m, 12288) float32 in [0, 1], labels (m,) 0-5."""
    X_train, y_train, X_test, y_test, _ = datasets.load_signs(data_dir)
    prepare = lambda X: datasets.scale_pixels(datasets.flatten_images(X), dtype=np.float32)  # noqa: E731
    return prepare(X_train), y_train, prepare(X_test), y_test


def build(seed: int = 1):
    """12288-25-12-6 with Glorot-normal weights (``seed``) and zero biases."""
    model = course.mlp(LAYERS, hidden="relu")
    rng = np.random.default_rng(seed)
    for layer in course.linears(model):
        nn.init.xavier_normal_(layer.weight, rng=rng)
        nn.init.zeros_(layer.bias)
    return model


def accuracy(model, X, y) -> float:
    """The share of examples whose largest logit is the label."""
    with ngrad.no_grad():
        return float(np.mean(model(ngrad.tensor(X)).numpy().argmax(axis=1) == y))


def fit(X, y, X_test, y_test, epochs: int, ctx, seed: int = 1):
    """Adam on shuffled mini-batches from initialization ``seed``.

    Returns ``(model, {epoch: (cost, train accuracy, test accuracy)})``, every
    10 epochs (100 for long runs) and at the last.
    """
    model = build(seed)
    optimizer = optim.Adam(model.parameters(), lr=LR)
    history, batch_seed, m = {}, FIRST_SEED, X.shape[0]
    every = 10 if epochs <= 200 else 100
    for epoch in range(epochs):
        batch_seed += 1
        total = 0.0
        for X_batch, y_batch in random_mini_batches(X, y, BATCH, seed=batch_seed, axis=0):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(ngrad.tensor(X_batch)), y_batch)  # mean over the batch
            loss.backward()
            optimizer.step()
            total += loss.item() * X_batch.shape[0]
        if epoch % every == 0 or epoch == epochs - 1:
            history[epoch] = (total / m, accuracy(model, X, y), accuracy(model, X_test, y_test))
            cost, train, test = history[epoch]
            ctx.log(f"Cost after epoch {epoch}: {cost:f}; train accuracy {train:.7f}, test accuracy {test:.7f}")
    return model, history


def run(ctx) -> Result:
    result = Result()
    X_train, y_train, X_test, y_test = load(ctx.data_dir)
    epochs = ctx.length(EPOCHS, quick=1)
    seeds = SEEDS if epochs <= EPOCHS and not ctx.quick else SEEDS[:1]
    ctx.log(f"train {X_train.shape}, test {X_test.shape}; Adam lr {LR}, mini-batch {BATCH}, {epochs} epochs, "
            f"seeds {', '.join(map(str, seeds))}")
    histories = {}
    for seed in seeds:
        ctx.log(f"seed {seed}")
        _, histories[seed] = fit(X_train, y_train, X_test, y_test, epochs, ctx, seed=seed)
    references = REFERENCES.get(epochs, {})
    result.rows += _median_rows(histories, references, running_mean=epochs == EPOCHS)
    if len(seeds) > 1:
        for seed, history in histories.items():
            result.rows += [Row.info(f"seed {seed}: ep. {epochs - 1}: {name} accuracy", history[epochs - 1][k])
                            for k, name in ((1, "train"), (2, "test"))]
    if ctx.plots:
        _plot(ctx, result, histories)
    if references and rebuilt_training_file(ctx.data_dir):
        result.notes.append(REBUILT_NOTE)
    if not references:
        result.notes.append(f"the course's numbers are for {EPOCHS} epochs (2021+ notebook) and 1500 (TF1 notebook); "
                            f"this run trained {epochs}")
    return result


def _median_rows(histories: dict, references: dict, running_mean: bool) -> list:
    """Rows at the first, the last and the course's printed epochs: the median over the seeds."""
    first = next(iter(histories.values()))
    epochs = sorted({min(first), max(first), *(e for e in references if e in first)})
    label = f" (median of {len(histories)} seeds)" if len(histories) > 1 else ""
    rows = []
    for epoch in epochs:
        values = tuple(float(np.median([h[epoch][k] for h in histories.values()])) for k in range(3))
        rows += _rows(epoch, values, references.get(epoch), running_mean, label)
    return rows


def _plot(ctx, result, histories):
    curves = {"cost": {}, "accuracy": {}}
    for seed, history in histories.items():
        xs = list(history)
        curves["cost"][f"seed {seed}"] = (xs, [v[0] for v in history.values()])
        curves["accuracy"][f"seed {seed} train"] = (xs, [v[1] for v in history.values()])
        curves["accuracy"][f"seed {seed} test"] = (xs, [v[2] for v in history.values()])
    plots.saved(result, plots.cost_curves(ctx.plot_path("costs"), curves["cost"],
                                          f"SIGNS 12288-25-12-6, Adam lr {LR}", xlabel="epoch"))
    plots.saved(result, plots.cost_curves(ctx.plot_path("accuracy"), curves["accuracy"], "SIGNS accuracy",
                                          xlabel="epoch", ylabel="accuracy"))


def _rows(epoch: int, values, reference, running_mean: bool, label: str = "") -> list:
    names = (f"ep. {epoch}: cost{label}", f"ep. {epoch}: train accuracy{label}", f"ep. {epoch}: test accuracy{label}")
    if reference is None:
        return [Row.info(name, value) for name, value in zip(names, values)]
    rows = []
    for i, (name, value, ref, tol) in enumerate(zip(names, values, *reference)):
        if ref is None:
            rows.append(Row.info(name, value))
        else:
            note = TRAIN_ACC_NOTE if i == 1 and running_mean else NOTE
            rows.append(Row.approx(name, ref, value, tol, note=note))
    return rows


EXPERIMENT = Experiment(
    id="c2w3-signs",
    title="12288-25-12-6 softmax network on SIGNS with Adam (the course's TensorFlow assignment)",
    needs_data=True,
    run=run,
    epochs=EPOCHS,
    source="C2W3 TensorFlow: 2021+ notebook (100 epochs), TF1 notebook (1500)",
)
