"""Each optimizer against its formulas written out by hand in NumPy (the course's and PyTorch's)."""
import numpy as np
import pytest

import ngrad
from ngrad import optim

SHAPES = [(2, 3), (2, 1), (3, 2), (3, 1)]  # W1, b1, W2, b2 of the course's test cases
NAMES = ["W1", "b1", "W2", "b2"]
STEPS = 5


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
    return weights, grads


def _run(make, weights, grads):
    params = [ngrad.tensor(w, dtype=ngrad.float64, requires_grad=True) for w in weights]
    opt = make(list(zip(NAMES, params)))
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = ngrad.tensor(g, dtype=ngrad.float64)
        opt.step()
    return [p.numpy() for p in params]


def _check(make, reference, seed=0):
    weights, grads = _problem(seed)
    ours = _run(make, weights, grads)
    expected = reference([w.copy() for w in weights], grads)
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------- SGD
def _sgd_reference(lr, mu=0.0, damp=0.0, nesterov=False, wd=0.0):
    def run(weights, grads):
        v = [None] * len(weights)
        for step_grads in grads:
            for i, (W, dW) in enumerate(zip(weights, step_grads)):
                d = dW + wd * W
                if mu:
                    v[i] = d.copy() if v[i] is None else mu * v[i] + (1 - damp) * d
                    d = d + mu * v[i] if nesterov else v[i]
                weights[i] = W - lr * d
        return weights

    return run


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weight_decay": 0.1},
        {"momentum": 0.9},
        {"momentum": 0.8, "dampening": 0.2, "weight_decay": 0.05},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.7, "nesterov": True, "weight_decay": 0.01},
    ],
)
def test_sgd(kwargs):
    ref = _sgd_reference(
        0.1, kwargs.get("momentum", 0.0), kwargs.get("dampening", 0.0), kwargs.get("nesterov", False),
        kwargs.get("weight_decay", 0.0),
    )
    _check(lambda p: optim.SGD(p, lr=0.1, **kwargs), ref)


# -------------------------------------------------------------- Momentum
def _course_momentum(lr, beta):
    """The course's initialize_velocity + update_parameters_with_momentum, step after step."""
    def run(parameters, grads):
        v = [np.zeros_like(W) for W in parameters]
        for step_grads in grads:
            for i, dW in enumerate(step_grads):
                v[i] = beta * v[i] + (1 - beta) * dW
                parameters[i] = parameters[i] - lr * v[i]
        return parameters

    return run


@pytest.mark.parametrize("beta", [0.9, 0.5, 0.0])
def test_momentum_is_the_course_formula(beta):
    _check(lambda p: optim.Momentum(p, lr=0.07, beta=beta), _course_momentum(0.07, beta))


def test_momentum_equals_sgd_with_lr_scaled_by_one_minus_beta():
    _check(lambda p: optim.Momentum(p, lr=0.1, beta=0.9), _sgd_reference(0.1 * (1 - 0.9), mu=0.9))


# --------------------------------------------------------------- RMSprop
def _course_rmsprop(lr, beta, epsilon, wd=0.0, mu=0.0):
    """s = beta s + (1 - beta) dW**2; W -= lr dW / (sqrt(s) + epsilon) (PyTorch adds wd and momentum)."""
    def run(parameters, grads):
        s = [np.zeros_like(W) for W in parameters]
        b = [np.zeros_like(W) for W in parameters]
        for step_grads in grads:
            for i, dW in enumerate(step_grads):
                d = dW + wd * parameters[i]
                s[i] = beta * s[i] + (1 - beta) * d**2
                u = d / (np.sqrt(s[i]) + epsilon)
                if mu:
                    b[i] = mu * b[i] + u
                    u = b[i]
                parameters[i] = parameters[i] - lr * u
        return parameters

    return run


def test_rmsprop_is_the_course_formula():
    _check(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8), _course_rmsprop(0.01, 0.9, 1e-8))


def test_rmsprop_with_weight_decay_and_momentum():
    _check(
        lambda p: optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-6, weight_decay=0.1, momentum=0.9),
        _course_rmsprop(0.01, 0.99, 1e-6, wd=0.1, mu=0.9),
    )


# ------------------------------------------------------------------ Adam
def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    """The course's C2W2 function, for lists of arrays instead of dicts."""
    for i, dW in enumerate(grads):
        v[i] = beta1 * v[i] + (1 - beta1) * dW
        v_corrected = v[i] / (1 - beta1**t)
        s[i] = beta2 * s[i] + (1 - beta2) * dW**2
        s_corrected = s[i] / (1 - beta2**t)
        parameters[i] = parameters[i] - learning_rate * v_corrected / (np.sqrt(s_corrected) + epsilon)
    return parameters, v, s


def _course_adam(lr, beta1, beta2, epsilon, wd=0.0, decoupled=False):
    def run(parameters, grads):
        v = [np.zeros_like(W) for W in parameters]
        s = [np.zeros_like(W) for W in parameters]
        for t, step_grads in enumerate(grads, start=1):
            if decoupled:
                parameters = [W * (1 - lr * wd) for W in parameters]
            else:
                step_grads = [dW + wd * W for dW, W in zip(step_grads, parameters)]
            parameters, v, s = update_parameters_with_adam(parameters, step_grads, v, s, t, lr, beta1, beta2, epsilon)
        return parameters

    return run


def test_adam_is_the_course_update_parameters_with_adam():
    _check(lambda p: optim.Adam(p, lr=0.01), _course_adam(0.01, 0.9, 0.999, 1e-8))
    _check(lambda p: optim.Adam(p, lr=0.02, betas=(0.8, 0.888), eps=1e-2), _course_adam(0.02, 0.8, 0.888, 1e-2), 1)


def test_adam_l2_weight_decay_goes_into_the_gradient():
    _check(lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1), _course_adam(0.01, 0.9, 0.999, 1e-8, wd=0.1))


def test_adamw_decays_the_weights_directly():
    _check(
        lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
        _course_adam(0.01, 0.9, 0.999, 1e-8, wd=0.1, decoupled=True),
    )


def test_adam_reproduces_the_course_unit_test():
    """C2W2 (2021+) ``update_parameters_with_adam_test``: seed 1, zero v and s, t = 2."""
    np.random.seed(1)
    parameters = [np.random.randn(*s) for s in SHAPES]
    grads = [np.random.randn(*s) for s in SHAPES]
    params = [ngrad.tensor(w, dtype=ngrad.float64, requires_grad=True) for w in parameters]
    opt = optim.Adam(list(zip(NAMES, params)), lr=0.02, betas=(0.8, 0.888), eps=1e-2)
    # the course calls the update with t = 2 on zero moments: load a state one step in
    sd = opt.state_dict()
    sd["state"] = {n: {"step": 1, "exp_avg": np.zeros(s), "exp_avg_sq": np.zeros(s)} for n, s in zip(NAMES, SHAPES)}
    opt.load_state_dict(sd)
    for p, g in zip(params, grads):
        p.grad = ngrad.tensor(g, dtype=ngrad.float64)
    opt.step()
    printed = {"rtol": 0, "atol": 5e-9}  # the notebook prints 8 decimals
    W1, b1, W2, b2 = (p.numpy() for p in params)
    expected_W1 = [[1.63937725, -0.62327448, -0.54308727], [-1.0578897, 0.85032154, -2.31657668]]
    expected_W2 = [[0.33400549, -0.23563857], [1.47715417, -2.04561842], [-0.33729882, -0.36908457]]
    np.testing.assert_allclose(W1, expected_W1, **printed)
    np.testing.assert_allclose(W2, expected_W2, **printed)
    np.testing.assert_allclose(b1, [[1.72995096], [-0.7762447]], **printed)
    np.testing.assert_allclose(b2, [[1.14852557], [-1.08492339], [-0.15740527]], **printed)
    v, s = opt.state[params[0]]["exp_avg"], opt.state[params[0]]["exp_avg_sq"]
    np.testing.assert_allclose(v[0], [-0.17557168, 0.00844275, 0.11656304], **printed)
    np.testing.assert_allclose(s[0], [0.08631117, 0.00019958, 0.03804344], **printed)


def test_adam_counts_steps_per_parameter():
    a, b = ngrad.zeros(2, requires_grad=True), ngrad.zeros(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    for k in range(3):
        a.grad = ngrad.ones(2)
        b.grad = ngrad.ones(2) if k == 2 else None
        opt.step()
    assert opt.state[a]["step"] == 3 and opt.state[b]["step"] == 1
    # the first bias-corrected step of Adam is lr * sign(g) (up to eps), in float32 too
    np.testing.assert_allclose(b.numpy(), [-0.1, -0.1], rtol=1e-6)


def test_float32_adam_stays_close_to_the_float64_reference():
    weights, grads = _problem(3)
    params = [ngrad.tensor(w, dtype=ngrad.float32, requires_grad=True) for w in weights]
    opt = optim.Adam(params, lr=0.01)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = ngrad.tensor(g, dtype=ngrad.float32)
        opt.step()
    expected = _course_adam(0.01, 0.9, 0.999, 1e-8)([w.copy() for w in weights], grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-5, atol=1e-6)
