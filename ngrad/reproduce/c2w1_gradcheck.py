"""C2W1 Gradient checking: ``ngrad.gradcheck`` finds the course's two planted bugs.

The course's "fraud detection" network (LINEAR -> RELU -> LINEAR -> RELU ->
LINEAR -> SIGMOID, sizes 4-5-3-1) comes with a hand-written backward pass
that has two bugs (``dW2`` doubled, ``db1`` four times too large). Here that
network is a user-defined :class:`ngrad.Function` whose ``backward`` is the
course's, buggy or fixed, and ``ngrad.gradcheck`` compares it with two-sided
finite differences (eps 1e-7), as the course's ``gradient_check_n`` does:
the buggy one gives 0.2850931567761623, the fixed one 1.1890913024229996e-07.
The same network built from ``nn.Linear`` layers and autograd passes too.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad.backend import get_array_module
from ngrad.reproduce import course
from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, Row

NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def test_case():
    """The course's ``gradient_check_n_test_case``: seed 1, x (4, 3), y [1, 1, 0], then W1..b3 drawn in order."""
    rs = np.random.RandomState(1)
    x = rs.randn(4, 3)  # (n_x, m): three examples as columns
    y = np.array([1, 1, 0])
    shapes = ((5, 4), (5, 1), (3, 5), (3, 1), (1, 3), (1, 1))
    params = {name: rs.randn(*shape) for name, shape in zip(NAMES, shapes)}
    return x, y, params


class CourseNet(ngrad.Function):
    """The course's ``forward_propagation_n`` (cost) with its ``backward_propagation_n``, fixed.

    Inputs: X (4, m) and Y (m,) as constants, then W1 (5, 4), b1 (5, 1),
    W2 (3, 5), b2 (3, 1), W3 (1, 3), b3 (1, 1). Output: the scalar
    cross-entropy cost, computed exactly as the course writes it.
    """

    #: multipliers the course's buggy backward puts on dW2 and db1
    dW2_factor = 1.0
    db1_factor = 1.0

    def forward(ctx, X, Y, W1, b1, W2, b2, W3, b3):
        xp = get_array_module(X)
        m = X.shape[1]
        Z1 = xp.dot(W1, X) + b1  # (5, m)
        A1 = xp.maximum(0, Z1)
        Z2 = xp.dot(W2, A1) + b2  # (3, m)
        A2 = xp.maximum(0, Z2)
        Z3 = xp.dot(W3, A2) + b3  # (1, m)
        A3 = 1 / (1 + xp.exp(-Z3))
        log_probs = xp.multiply(-xp.log(A3), Y) + xp.multiply(-xp.log(1 - A3), 1 - Y)
        ctx.save_for_backward(X, Y, A1, A2, A3, W2, W3)
        return xp.asarray(1.0 / m * xp.sum(log_probs))

    def backward(ctx, grad):
        xp = get_array_module(grad)
        X, Y, A1, A2, A3, W2, W3 = ctx.saved_tensors
        m = X.shape[1]
        dZ3 = A3 - Y  # (1, m)
        dW3 = 1.0 / m * xp.dot(dZ3, A2.T)
        db3 = 1.0 / m * xp.sum(dZ3, axis=1, keepdims=True)
        dZ2 = xp.dot(W3.T, dZ3) * (A2 > 0)  # (3, m)
        dW2 = 1.0 / m * xp.dot(dZ2, A1.T) * type(ctx).dW2_factor
        db2 = 1.0 / m * xp.sum(dZ2, axis=1, keepdims=True)
        dZ1 = xp.dot(W2.T, dZ2) * (A1 > 0)  # (5, m)
        dW1 = 1.0 / m * xp.dot(dZ1, X.T)
        db1 = type(ctx).db1_factor / m * xp.sum(dZ1, axis=1, keepdims=True)
        return (None, None) + tuple(grad * g for g in (dW1, db1, dW2, db2, dW3, db3))


class BuggyCourseNet(CourseNet):
    """The course's ``backward_propagation_n`` as handed out: ``dW2 * 2`` and ``db1 = 4 / m * ...``."""

    dW2_factor = 2.0
    db1_factor = 4.0


def check(op, x, y, params):
    """``ngrad.gradcheck`` of ``op`` over the six parameters (named W1..b3), eps 1e-7."""
    tensors = []
    for name in NAMES:
        t = ngrad.tensor(params[name], dtype=ngrad.float64, requires_grad=True)
        t.name = name
        tensors.append(t)
    return ngrad.gradcheck(lambda: op.apply(x, y, *tensors), params=tensors, eps=1e-7)


def check_autograd(x, y, params):
    """The same network from ``nn.Linear`` layers and ngrad's autograd, gradchecked."""
    model = course.mlp([4, 5, 3, 1], hidden="relu").to(ngrad.float64)
    with ngrad.no_grad():
        for layer, l in zip(course.linears(model), (1, 2, 3)):
            layer.weight.data[...] = params[f"W{l}"]  # (n_l, n_prev)
            layer.bias.data[...] = params[f"b{l}"].reshape(-1)  # (n_l,)
            layer.weight.name, layer.bias.name = f"W{l}", f"b{l}"  # names in the gradcheck report
    X, Y = x.T.copy(), course.column(y)  # examples as rows: (3, 4), (3, 1)
    return ngrad.gradcheck(lambda: course.bce(model(ngrad.tensor(X, dtype=ngrad.float64)), Y),
                           params=list(model.parameters()))


def check_1d():
    """The course's 1-D check: ``J(theta) = theta * x`` at x = 3, theta = 4."""
    x = 3.0
    return ngrad.gradcheck(lambda theta: theta * x, np.array(4.0), eps=1e-7)


def run(ctx) -> Result:
    result = Result()
    x, y, params = test_case()
    one_d = check_1d()
    ctx.log(f"1-D gradient check (J = theta x): difference = {one_d.difference!r}")
    buggy = check(BuggyCourseNet, x, y, params)
    ctx.log(f"course backward as handed out: {buggy}")
    fixed = check(CourseNet, x, y, params)
    ctx.log(f"course backward fixed (dW2, db1): {fixed}")
    auto = check_autograd(x, y, params)
    ctx.log(f"nn.Linear layers + autograd: {auto}")
    failing = [c.name for c in buggy.inputs if not c.passed]
    result.rows += [
        Row.printed("1-D check (x=3, theta=4): difference", "7.814075313343006e-11", one_d.difference),
        Row.printed("buggy backward: difference", "0.2850931567761623", buggy.difference),
        Row.accuracy("buggy backward: check passes (1 yes, 0 no)", 0, float(buggy.passed)),
    ]
    result.rows += [Row.info(f"buggy backward: difference of {c.name}", c.difference) for c in buggy.inputs]
    result.rows += [
        Row.printed("fixed backward: difference", "1.1890913024229996e-07", fixed.difference),
        Row.accuracy("fixed backward: check passes (1 yes, 0 no)", 1, float(fixed.passed)),
        Row.info("nn.Linear + autograd: difference", auto.difference,
                 note="the same network from ngrad layers; the course has no such run"),
        Row.info("nn.Linear + autograd: check passes (1 yes, 0 no)", float(auto.passed)),
    ]
    result.notes.append(f"the per-parameter check flags {', '.join(failing)}: the course's two planted bugs")
    return result


EXPERIMENT = Experiment(
    id="c2w1-gradcheck",
    title="gradient checking of the course's 4-5-3-1 network, its buggy backward and the fixed one",
    needs_data=False,
    run=run,
    epochs=None,
    source="C2W1 Gradient Checking, 2021+ notebook",
)
