"""ngrad.optim against torch.optim: the same parameters, gradients and steps give the same weights."""
import functools

import numpy as np
import pytest

import ngrad
from ngrad import optim
from ngrad.optim import lr_scheduler as sched

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle

SHAPES = [(3, 4), (4,), (2, 3, 2)]
STEPS = 6


def _problem(seed=0):
    """Float64 initial weights and one fixed gradient per step and parameter."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
    return weights, grads


def _run_ngrad(make, weights, grads):
    params = [ngrad.tensor(w, dtype=ngrad.float64, requires_grad=True) for w in weights]
    opt = make(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = ngrad.tensor(g, dtype=ngrad.float64)
        opt.step()
    return [p.numpy() for p in params]


def _run_torch(make, weights, grads):
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    opt = make(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return [p.detach().numpy() for p in params]


CASES = {
    "sgd": (lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-wd": (
        lambda p: optim.SGD(p, lr=0.1, weight_decay=0.05),
        lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05),
    ),
    "sgd-momentum": (
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    "sgd-momentum-dampening-wd": (
        lambda p: optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    ),
    "sgd-nesterov-wd": (
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    # the course's averaged momentum is PyTorch's summed one with lr scaled by (1 - beta)
    "momentum-course": (
        lambda p: optim.Momentum(p, lr=0.1, beta=0.9),
        lambda p: torch.optim.SGD(p, lr=0.1 * (1 - 0.9), momentum=0.9),
    ),
    "rmsprop": (lambda p: optim.RMSprop(p, lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "rmsprop-wd-momentum": (
        lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5),
    ),
    "adam": (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-wd": (
        lambda p: optim.Adam(p, lr=0.02, betas=(0.8, 0.888), eps=1e-2, weight_decay=0.1),
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.888), eps=1e-2, weight_decay=0.1),
    ),
    "adamw": (lambda p: optim.AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
    "adamw-wd": (
        lambda p: optim.AdamW(p, lr=0.05, betas=(0.5, 0.9), weight_decay=0.3),
        lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.5, 0.9), weight_decay=0.3),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_step_sequence_matches_torch(case):
    make_ngrad, make_torch = CASES[case]
    weights, grads = _problem()
    ours = _run_ngrad(make_ngrad, weights, grads)
    theirs = _run_torch(make_torch, weights, grads)
    for a, b, w in zip(ours, theirs, weights):
        assert not np.allclose(a, w)  # the steps did move the weights
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_param_groups_with_their_own_lr_match_torch():
    weights, grads = _problem(1)
    ours = _run_ngrad(lambda p: optim.Adam([{"params": p[:1], "lr": 0.1}, {"params": p[1:]}], lr=0.01), weights, grads)
    theirs = _run_torch(
        lambda p: torch.optim.Adam([{"params": p[:1], "lr": 0.1}, {"params": p[1:]}], lr=0.01), weights, grads
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_float32_adam_matches_torch():
    weights, grads = _problem(2)
    params = [ngrad.tensor(w, dtype=ngrad.float32, requires_grad=True) for w in weights]
    tparams = [torch.tensor(w, dtype=torch.float32, requires_grad=True) for w in weights]
    opt, topt = optim.Adam(params, lr=0.01), torch.optim.Adam(tparams, lr=0.01)
    for step_grads in grads:
        for p, tp, g in zip(params, tparams, step_grads):
            p.grad = ngrad.tensor(g, dtype=ngrad.float32)
            tp.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------- schedulers
def _lrs_ngrad(make, epochs):
    opt = optim.SGD([ngrad.zeros(1, requires_grad=True)], lr=0.5)
    s = make(opt)
    out = []
    for _ in range(epochs):
        out.append(s.get_last_lr()[0])
        s.step()
    return out


def _lrs_torch(make, epochs):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    s = make(opt)
    out = []
    for _ in range(epochs):
        out.append(s.get_last_lr()[0])
        opt.step()
        s.step()
    return out


SCHEDULES = {
    "exponential": (
        lambda o: sched.ExponentialLR(o, gamma=0.95),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.95),
    ),
    "step": (lambda o: sched.StepLR(o, step_size=3, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    "cosine": (
        lambda o: sched.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
    ),
    "lambda": (
        lambda o: sched.LambdaLR(o, lambda e: 1 / (1 + 0.3 * e)),
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + 0.3 * e)),
    ),
    "warmup-factor": (
        lambda o: sched.LinearWarmup(o, warmup_epochs=4, start_factor=0.25),
        lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
    ),
    "warmup-then-cosine": (
        lambda o: sched.LinearWarmup(
            o, 3, start_factor=0.2, after=functools.partial(sched.cosine_annealing, T_max=8, eta_min=0.05)
        ),
        lambda o: torch.optim.lr_scheduler.SequentialLR(
            o,
            [
                torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=3),
                torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.05),
            ],
            milestones=[3],
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch(name):
    make_ngrad, make_torch = SCHEDULES[name]
    epochs = 20
    np.testing.assert_allclose(_lrs_ngrad(make_ngrad, epochs), _lrs_torch(make_torch, epochs), rtol=1e-12)
