"""What the experiments share: the course's precision, networks, initializations and loops.

The course writes every network in NumPy, in float64, with examples as
columns (``Z = W @ X + b``). Here the same networks are ngrad modules with
examples as rows (``Z = X @ W.T + b``): ``nn.Linear``'s weight is shaped
(out, in) exactly like the course's ``W[l]``, so the course's draws
``np.random.seed(s); W = np.random.randn(n_l, n_prev) * scale`` land in the
same places, drawn from a ``numpy.random.RandomState(s)`` that leaves NumPy's
global generator alone.
"""
from __future__ import annotations

import contextlib

import numpy as np

import ngrad
from ngrad import nn
from ngrad.nn import functional as F
from ngrad.nn import init
from ngrad.reproduce.report import Row

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


@contextlib.contextmanager
def float64():
    """Run the block with float64 as ngrad's default dtype (the course's NumPy precision)."""
    before = ngrad.get_default_dtype()
    ngrad.set_default_dtype(ngrad.float64)
    try:
        yield
    finally:
        ngrad.set_default_dtype(before)


# ------------------------------------------------------------------ networks
def mlp(layer_dims, hidden: str = "relu") -> nn.Sequential:
    """The course's ``[LINEAR -> hidden] * (L - 1) -> LINEAR``; the last layer gives logits.

    ``layer_dims`` is the course's list ``[n_x, n_1, ..., n_L]``. The sigmoid
    of the output is left to the loss (``binary_cross_entropy_with_logits``)
    and to :func:`probabilities`.
    """
    layers = []
    for l in range(1, len(layer_dims)):
        layers.append(nn.Linear(layer_dims[l - 1], layer_dims[l]))
        if l < len(layer_dims) - 1:
            layers.append(ACTIVATIONS[hidden]())
    return nn.Sequential(*layers)


def linears(model) -> list:
    """The ``nn.Linear`` layers of ``model`` in order: the course's layers 1..L."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def course_init(model, recipe: str, rng=None, scale: float = 0.01):
    """Initialize ``model``'s linear layers as the course does, drawing W[1], W[2], ... in order.

    Parameters
    ----------
    recipe : {"zeros", "random", "he", "xavier"}
        ``zeros``: all zero; ``random``: ``randn * scale`` (0.01, or 10 for
        C2W1's "large" weights); ``he``: ``randn * sqrt(2 / n_prev)``;
        ``xavier``: ``randn / sqrt(n_prev)`` (the course's ``initialize_parameters_deep``).
    rng : numpy.random.RandomState
        Stands for the course's ``np.random.seed(s)``; biases are zeros and draw nothing.
    """
    for layer in linears(model):
        W = layer.weight  # (n_l, n_prev), the course's W[l]
        if recipe == "zeros":
            init.zeros_(W)
        elif recipe == "random":
            init.course_random_(W, scale=scale, rng=rng)
        elif recipe == "he":
            init.course_he_(W, rng=rng)
        elif recipe == "xavier":
            _divided_normal_(W, rng)
        else:
            raise ValueError(f"course_init: unknown recipe {recipe!r} (zeros, random, he or xavier)")
        init.zeros_(layer.bias)
    return model


def _divided_normal_(W, rng):
    """``W = randn(n_l, n_prev) / sqrt(n_prev)``, divided as the course does.

    ``init.course_xavier_`` multiplies by ``sqrt(1 / n_prev)`` instead, which
    differs from the course's division in the last bit of about half the
    weights; dividing keeps the course's float64 digits.
    """
    with ngrad.no_grad():
        W.data[...] = rng.randn(*W.shape) / np.sqrt(W.shape[1])
    return W


# --------------------------------------------------------- loss and predicting
def bce(logits, y):
    """The course's cross-entropy cost ``-mean(y log a + (1 - y) log(1 - a))``, ``a = sigmoid(logits)``.

    Computed from the logits, so its gradient is the course's ``dZ = A - Y``
    exactly and a saturated sigmoid never takes ``log(0)``.
    """
    return F.binary_cross_entropy_with_logits(logits, y)


def probabilities(model, X) -> np.ndarray:
    """``sigmoid(model(X))`` as a NumPy array (m, 1), without recording a graph."""
    with ngrad.no_grad():
        was_training = model.training
        model.eval()
        a = ngrad.sigmoid(model(ngrad.tensor(X))).numpy()
        model.train(was_training)
    return a


def predict(model, X) -> np.ndarray:
    """The course's ``predict``: 1 where the probability is above 0.5; shape (m,)."""
    return (probabilities(model, X) > 0.5).astype(np.int64).reshape(-1)


def accuracy(model, X, y) -> float:
    """The course's ``np.mean(p == y)`` for labels ``y`` (m,)."""
    return float(np.mean(predict(model, X) == np.asarray(y).reshape(-1)))


def column(y) -> np.ndarray:
    """Labels (m,) as the float64 column (m, 1) the loss compares with the logits."""
    return np.asarray(y, dtype=np.float64).reshape(-1, 1)


# ----------------------------------------------------------------- training
class _Silent:
    """Stands in for a context where a loop's progress lines are not wanted (sweeps)."""

    def log(self, message: str) -> None:
        pass


SILENT = _Silent()


def train(loss_fn, optimizer, iterations: int, ctx, every: int, fmt: str = "Cost after iteration {}: {:f}",
          also_last: bool = False) -> dict:
    """Full-batch gradient descent as the course's loops: cost, backward, update; print every ``every``.

    ``loss_fn()`` returns the scalar cost of the current parameters. The cost
    of iteration ``i`` is the one computed before its update, as the course
    prints it. Returns ``{i: cost}`` for the recorded iterations.
    """
    costs = {}
    for i in range(iterations):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        if i % every == 0 or (also_last and i == iterations - 1):
            costs[i] = loss.item()
            ctx.log(fmt.format(i, costs[i]))
    return costs


def cost_rows(costs: dict, course: dict, label: str = "cost it.", note: str = "", approx: dict | None = None,
              approx_note: str = ""):
    """Rows comparing ``costs`` ({i: cost}) with the course's printed ones ({i: "text"}).

    Iterations the course did not print are left out; those in ``approx``
    ({i: (course value, tol)}) are judged within a tolerance (``approx_note``
    says why) instead of to the printed digits.
    """
    rows = []
    approx = approx or {}
    for i, value in costs.items():
        if i in approx:
            center, tol = approx[i]
            rows.append(Row.approx(f"{label} {i}", center, value, tol, note=approx_note))
        elif i in course:
            rows.append(Row.printed(f"{label} {i}", course[i], value, note=note))
    return rows
