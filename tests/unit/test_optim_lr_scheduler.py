"""Learning-rate schedules: the course's formulas and printed rates, schedulers, their state."""
import functools
import json
import math

import pytest

import ngrad
from ngrad import optim
from ngrad.optim import lr_scheduler as sched


def _opt(lr=0.1, groups=1):
    groups = [{"params": [ngrad.zeros(1, requires_grad=True)], "lr": lr * (i + 1)} for i in range(groups)]
    return optim.SGD(groups, lr=lr)


def _lrs(scheduler, epochs):
    """The rate of each epoch 0 .. epochs-1 as the optimizer sees it."""
    out = []
    for _ in range(epochs):
        out.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.step()
    return out


# ---------------------------------------------- the course's values (C2W2)
def test_update_lr_course_value():
    # update_lr(learning_rate0=0.5, epoch_num=2, decay_rate=1)
    assert sched.inverse_time_decay(2, 0.5, decay_rate=1) == 0.16666666666666666


def test_schedule_lr_decay_course_values():
    # schedule_lr_decay(0.5, epoch_num, decay_rate=0.3, time_interval=100)
    assert sched.scheduled_decay(10, 0.5, decay_rate=0.3, time_interval=100) == 0.5
    assert sched.scheduled_decay(100, 0.5, decay_rate=0.3, time_interval=100) == 0.3846153846153846


def test_printed_learning_rates_of_the_course_decay_run():
    """GD + update_lr, lr0 0.1, decay_rate 1: 'learning rate after epoch i: %f' every 1000 epochs."""
    printed = ["%f" % sched.inverse_time_decay(i, 0.1, decay_rate=1) for i in range(0, 5001, 1000)]
    assert printed == ["0.100000", "0.000100", "0.000050", "0.000033", "0.000025", "0.000020"]


def test_scheduled_decay_with_the_course_interval():
    assert [sched.scheduled_decay(e, 0.1) for e in (0, 999, 1000, 1999, 2000, 4999)] == [
        0.1, 0.1, 0.05, 0.05, 0.1 / 3, 0.1 / 5
    ]


def test_scheduled_decay_default_interval_is_1000():
    s = sched.ScheduledDecay(_opt(0.1), decay_rate=1)
    assert s.time_interval == 1000
    lrs = _lrs(s, 2001)
    assert lrs[999] == 0.1 and lrs[1000] == 0.05 and lrs[2000] == 0.1 / 3


def test_lecture_formulas():
    assert sched.exponential_decay(3, 0.2) == 0.2 * 0.95**3
    assert sched.inverse_sqrt_decay(0, 0.2, k=0.5) == 0.1  # the lecture's epoch_num 1
    assert sched.inverse_sqrt_decay(3, 0.2, k=0.5) == 0.2 * 0.5 / 2
    assert [sched.step_decay(e, 1.0, step_size=2, gamma=0.5) for e in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert sched.cosine_annealing(0, 0.1, T_max=10) == 0.1
    assert sched.cosine_annealing(5, 0.1, T_max=10, eta_min=0.02) == pytest.approx(0.06)
    assert sched.cosine_annealing(10, 0.1, T_max=10, eta_min=0.02) == pytest.approx(0.02)


# ------------------------------------------------------------ schedulers
@pytest.mark.parametrize(
    "make, formula",
    [
        (
            lambda o: sched.InverseTimeDecay(o, decay_rate=0.5),
            functools.partial(sched.inverse_time_decay, decay_rate=0.5),
        ),
        (
            lambda o: sched.ScheduledDecay(o, decay_rate=0.3, time_interval=3),
            functools.partial(sched.scheduled_decay, decay_rate=0.3, time_interval=3),
        ),
        (lambda o: sched.ExponentialLR(o, gamma=0.95), functools.partial(sched.exponential_decay, gamma=0.95)),
        (lambda o: sched.InverseSqrtDecay(o, k=2.0), functools.partial(sched.inverse_sqrt_decay, k=2.0)),
        (lambda o: sched.StepLR(o, step_size=4), functools.partial(sched.step_decay, step_size=4)),
        (lambda o: sched.CosineAnnealingLR(o, T_max=6), functools.partial(sched.cosine_annealing, T_max=6)),
        (lambda o: sched.LinearWarmup(o, 4), functools.partial(sched.linear_warmup, warmup_epochs=4)),
        (lambda o: sched.LambdaLR(o, lambda e: 0.9**e), lambda e, lr0: lr0 * 0.9**e),
    ],
)
def test_each_scheduler_sets_its_formula_for_every_group(make, formula):
    opt = _opt(0.1, groups=2)
    s = make(opt)
    for epoch in range(12):
        expected = [formula(epoch, 0.1), formula(epoch, 0.2)]
        assert [g["lr"] for g in opt.param_groups] == expected
        assert s.get_last_lr() == expected
        s.step()
    assert s.last_epoch == 12


def test_epoch_zero_keeps_the_initial_rate_and_initial_lr_is_recorded():
    opt = _opt(0.3)
    s = sched.InverseTimeDecay(opt, decay_rate=1.0)
    assert opt.param_groups[0]["lr"] == 0.3 and opt.param_groups[0]["initial_lr"] == 0.3
    s.step()
    assert opt.param_groups[0]["lr"] == 0.15 and s.base_lrs == [0.3]


def test_the_optimizer_steps_with_the_scheduled_rate():
    p = ngrad.zeros(1, dtype=ngrad.float64, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    s = sched.InverseTimeDecay(opt, decay_rate=1.0)
    for _ in range(3):
        p.grad = ngrad.ones(1, dtype=ngrad.float64)
        opt.step()
        s.step()
    assert p.item() == pytest.approx(-(1 + 1 / 2 + 1 / 3))


def test_linear_warmup_before_another_schedule():
    after = functools.partial(sched.cosine_annealing, T_max=4)
    lrs = _lrs(sched.LinearWarmup(_opt(1.0), warmup_epochs=2, start_factor=0.5, after=after), 7)
    assert lrs == pytest.approx([0.5, 0.75, 1.0, after(1, 1.0), 0.5, after(3, 1.0), 0.0])


def test_linear_warmup_accepts_another_schedulers_formula():
    opt = _opt(1.0)
    decay = sched.ExponentialLR(opt, gamma=0.5)
    lrs = _lrs(sched.LinearWarmup(opt, warmup_epochs=1, start_factor=0.1, after=decay.lr_at), 4)
    assert lrs == [0.1, 1.0, 0.5, 0.25]


def test_pure_functions_serve_a_keras_style_callback():
    schedule = functools.partial(sched.inverse_time_decay, decay_rate=1.0)
    lr0 = 0.1
    assert [schedule(epoch, lr0) for epoch in range(3)] == [0.1, 0.05, 0.1 / 3]


def test_lambda_lr_per_group():
    opt = _opt(1.0, groups=2)
    s = sched.LambdaLR(opt, [lambda e: 1.0, lambda e: 0.5**e])
    s.step()
    assert s.get_last_lr() == [1.0, 1.0]
    with pytest.raises(ValueError, match="one per param group"):
        sched.LambdaLR(_opt(1.0, groups=2), [lambda e: 1.0])


# ------------------------------------------------------------------ state
def test_state_dict_is_json_friendly_and_resumes():
    opt = _opt(0.1)
    s = sched.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        s.step()
    sd = json.loads(json.dumps(s.state_dict()))
    assert sd["last_epoch"] == 3 and sd["base_lrs"] == [0.1]

    opt2 = _opt(0.1)
    opt2.load_state_dict(json.loads(json.dumps(opt.state_dict())))
    s2 = sched.StepLR(opt2, step_size=1, gamma=0.9)  # overwritten by the loaded state
    s2.load_state_dict(sd)
    assert _lrs(s2, 4) == _lrs(s, 4)


def test_functions_are_not_saved():
    s = sched.LinearWarmup(_opt(), 2, after=functools.partial(sched.cosine_annealing, T_max=3))
    assert "after" not in s.state_dict() and "optimizer" not in s.state_dict()
    assert "lr_lambdas" not in sched.LambdaLR(_opt(), lambda e: 1.0).state_dict()
    json.dumps(s.state_dict())


def test_resume_with_last_epoch():
    opt = _opt(0.1)
    sched.ExponentialLR(opt, gamma=0.5)
    s = sched.ExponentialLR(opt, gamma=0.5, last_epoch=2)
    assert s.last_epoch == 3 and s.get_last_lr() == [0.1 * 0.5**3]
    with pytest.raises(KeyError, match="initial_lr"):
        sched.ExponentialLR(_opt(0.1), gamma=0.5, last_epoch=2)


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda o: sched.ExponentialLR(o, gamma=0), ValueError, "ExponentialLR: gamma must be a number > 0"),
        (lambda o: sched.StepLR(o, step_size=0), ValueError, "step_size"),
        (lambda o: sched.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: sched.ScheduledDecay(o, time_interval=0), ValueError, "time_interval"),
        (lambda o: sched.InverseTimeDecay(o, decay_rate=-1), ValueError, "decay_rate must be a number >= 0"),
        (lambda o: sched.LinearWarmup(o, 0), ValueError, "warmup_epochs"),
        (lambda o: sched.LinearWarmup(o, 2, start_factor=1.5), ValueError, "start_factor"),
        (lambda o: sched.LinearWarmup(o, 2, after=0.5), TypeError, "after must be a schedule"),
        (lambda o: sched.StepLR(object(), step_size=2), TypeError, "expected an ngrad.optim.Optimizer"),
    ],
)
def test_bad_scheduler_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(_opt())


def test_every_public_name_is_exported():
    assert set(sched.__all__) <= set(dir(sched))
    assert all(callable(getattr(sched, n)) for n in sched.__all__)
    assert math.isclose(sched.linear_warmup(0, 1.0, 4), 0.1)


def test_shifted_lambda_replays_the_course_loop():
    """model() sets update_lr(lr0, i) after epoch i, so epoch e trains with f(e - 1)."""
    lr0, decay_rate, course = 0.1, 1.0, []
    learning_rate = lr0
    for i in range(6):
        course.append(learning_rate)  # the rate epoch i trains with
        learning_rate = sched.inverse_time_decay(i, lr0, decay_rate)
    replay = sched.LambdaLR(_opt(lr0), lambda e: sched.inverse_time_decay(max(e - 1, 0), 1.0, decay_rate))
    assert _lrs(replay, 6) == pytest.approx(course, rel=1e-15)
