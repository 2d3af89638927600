"""Learning-rate schedules: PyTorch-style schedulers and the pure formulas under them.

Each schedule exists twice:

- a pure function ``f(epoch, lr0, **hyperparameters) -> lr`` (e.g.
  :func:`inverse_time_decay`), for a Keras-style ``LearningRateScheduler``
  callback or a hand-written loop. Call it with the *initial* rate ``lr0``:
  the formulas are closed forms, not updates of the current rate;
- a scheduler class (e.g. :class:`InverseTimeDecay`) that writes the rate
  into an optimizer's param groups, PyTorch style::

      opt = ngrad.optim.SGD(model.parameters(), lr=0.1)
      sched = InverseTimeDecay(opt, decay_rate=1.0)
      for epoch in range(num_epochs):
          train_one_epoch(...)          # epoch e trains with f(e, lr0)
          sched.step()

``epoch`` counts from 0, and ``f(0, lr0) == lr0`` for every decay; the
values are the course's ``update_lr(lr0, i, decay_rate)`` for ``i`` from 0.
The course's ``model()`` computes that rate *after* epoch ``i`` and so
trains epoch ``e`` with ``f(e - 1)`` (epochs 0 and 1 both at ``lr0``). To
replay its runs exactly, shift by one::

    LambdaLR(opt, lambda e: inverse_time_decay(max(e - 1, 0), 1.0, decay_rate))

==========================  ==========================  ===========================================================
scheduler                   function                    lr at epoch ``e``
==========================  ==========================  ===========================================================
:class:`InverseTimeDecay`   :func:`inverse_time_decay`  ``lr0 / (1 + decay_rate * e)`` (course ``update_lr``)
:class:`ScheduledDecay`     :func:`scheduled_decay`     ``lr0 / (1 + decay_rate * floor(e / time_interval))``
                                                        (course ``schedule_lr_decay``)
:class:`ExponentialLR`      :func:`exponential_decay`   ``lr0 * gamma ** e``
:class:`InverseSqrtDecay`   :func:`inverse_sqrt_decay`  ``lr0 * k / sqrt(e + 1)``
:class:`StepLR`             :func:`step_decay`          ``lr0 * gamma ** floor(e / step_size)``
:class:`CosineAnnealingLR`  :func:`cosine_annealing`    ``eta_min + (lr0 - eta_min) * (1 + cos(pi e / T_max)) / 2``
:class:`LinearWarmup`       :func:`linear_warmup`       linear ramp from ``start_factor * lr0``, then ``after``
:class:`LambdaLR`           (your function)             ``lr0 * lr_lambda(e)``
==========================  ==========================  ===========================================================
"""
from __future__ import annotations

import math
from numbers import Real

from ngrad.optim.optimizer import Optimizer

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseSqrtDecay",
    "InverseTimeDecay",
    "LRScheduler",
    "LambdaLR",
    "LinearWarmup",
    "ScheduledDecay",
    "StepLR",
    "cosine_annealing",
    "exponential_decay",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "linear_warmup",
    "scheduled_decay",
    "step_decay",
]


# --------------------------------------------------------- pure schedules
def inverse_time_decay(epoch, lr0, decay_rate=1.0):
    """``lr0 / (1 + decay_rate * epoch)``: the course's ``update_lr`` (C2W2).

    >>> inverse_time_decay(2, 0.5, decay_rate=1)
    0.16666666666666666
    """
    return lr0 / (1 + decay_rate * epoch)


def scheduled_decay(epoch, lr0, decay_rate=1.0, time_interval=1000):
    """``lr0 / (1 + decay_rate * floor(epoch / time_interval))``: the course's ``schedule_lr_decay``.

    Inverse-time decay that only changes every ``time_interval`` epochs.

    >>> scheduled_decay(100, 0.5, decay_rate=0.3, time_interval=100)
    0.3846153846153846
    """
    return lr0 / (1 + decay_rate * math.floor(epoch / time_interval))


def exponential_decay(epoch, lr0, gamma=0.95):
    """``lr0 * gamma ** epoch`` (the lecture's ``0.95 ** epoch_num * alpha0``)."""
    return lr0 * gamma**epoch


def inverse_sqrt_decay(epoch, lr0, k=1.0):
    """``lr0 * k / sqrt(epoch + 1)``: the lecture's ``k / sqrt(epoch_num) * alpha0``.

    The lecture counts epochs from 1; ``epoch`` here counts from 0, hence the
    ``+ 1`` (which also keeps the first epoch finite).
    """
    return lr0 * k / math.sqrt(epoch + 1)


def step_decay(epoch, lr0, step_size, gamma=0.1):
    """``lr0 * gamma ** floor(epoch / step_size)``: a staircase (PyTorch's ``StepLR``)."""
    return lr0 * gamma ** (epoch // step_size)


def cosine_annealing(epoch, lr0, T_max, eta_min=0.0):
    """``eta_min + (lr0 - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

    Half a cosine from ``lr0`` down to ``eta_min`` in ``T_max`` epochs.
    """
    return eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


def linear_warmup(epoch, lr0, warmup_epochs, start_factor=0.1, after=None):
    """A linear ramp from ``start_factor * lr0`` to ``lr0`` over ``warmup_epochs``, then ``after``.

    During warm-up the rate is ``lr0 * (start_factor + (1 - start_factor) *
    epoch / warmup_epochs)`` (PyTorch's ``LinearLR``). From then on it is
    ``lr0`` or, with ``after`` (a schedule ``f(epoch, lr0)``, e.g.
    ``functools.partial(cosine_annealing, T_max=90)``), ``after(epoch -
    warmup_epochs, lr0)``: the wrapped schedule starts its own epoch 0 when
    the warm-up ends (like PyTorch's ``SequentialLR``).
    """
    if epoch < warmup_epochs:
        return lr0 * (start_factor + (1 - start_factor) * epoch / warmup_epochs)
    return lr0 if after is None else after(epoch - warmup_epochs, lr0)


# ------------------------------------------------------------- schedulers
class LRScheduler:
    """Base class: sets each param group's ``lr`` from a closed-form schedule.

    On construction the scheduler records each group's ``initial_lr`` (the
    ``lr0`` of every formula; kept in the group so optimizer checkpoints hold
    it) and sets the rate of epoch ``last_epoch + 1`` (0 for a new run).
    Subclasses define :meth:`lr_at`.

    Parameters
    ----------
    optimizer : Optimizer
    last_epoch : int
        -1 for a new run; to resume one, the last epoch already done (every
        group must then hold ``initial_lr``, as a loaded optimizer does).
    """

    #: attributes that :meth:`state_dict` leaves out (objects, functions)
    _not_saved = ("optimizer",)

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an ngrad.optim.Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param group {i} has no 'initial_lr' to resume from")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, epoch, lr0):  # pragma: no cover - abstract
        """The learning rate of ``epoch`` for a group whose initial rate is ``lr0``."""
        raise NotImplementedError(f"{type(self).__name__}.lr_at is not implemented")

    def get_lr(self) -> list:
        """The rates of the current epoch, one per param group."""
        return [self.lr_at(self.last_epoch, lr0) for lr0 in self.base_lrs]

    def step(self) -> None:
        """Move to the next epoch and write its rate into every param group."""
        self.last_epoch += 1
        self._apply()

    def _apply(self) -> None:
        """Write the current epoch's rates into the param groups."""
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def get_last_lr(self) -> list:
        """The rates last written into the param groups."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """The scheduler's numbers (epoch, base rates, hyperparameters): JSON-friendly.

        Functions (``LambdaLR``'s lambdas, ``LinearWarmup``'s ``after``) are
        not saved; build the scheduler with the same ones before loading.
        """
        return {k: v for k, v in self.__dict__.items() if k not in self._not_saved}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`state_dict` and set the restored epoch's rates in the optimizer."""
        self.__dict__.update(state_dict)
        self._apply()

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


def _positive(owner, name, value, allow_zero=False):
    """Raise ``ValueError`` unless ``value`` is a number > 0 (>= 0 with ``allow_zero``)."""
    if not (isinstance(value, Real) and (value >= 0 if allow_zero else value > 0)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{type(owner).__name__}: {name} must be a number {bound}, got {value!r}")


class InverseTimeDecay(LRScheduler):
    """``lr = lr0 / (1 + decay_rate * epoch)``: the course's ``update_lr`` (see :func:`inverse_time_decay`)."""

    def __init__(self, optimizer, decay_rate=1.0, last_epoch=-1):
        _positive(self, "decay_rate", decay_rate, allow_zero=True)
        self.decay_rate = decay_rate
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch, lr0):
        return inverse_time_decay(epoch, lr0, self.decay_rate)


class ScheduledDecay(LRScheduler):
    """``lr = lr0 / (1 + decay_rate * floor(epoch / time_interval))``: the course's ``schedule_lr_decay``."""

    def __init__(self, optimizer, decay_rate=1.0, time_interval=1000, last_epoch=-1):
        _positive(self, "decay_rate", decay_rate, allow_zero=True)
        _positive(self, "time_interval", time_interval)
        self.decay_rate, self.time_interval = decay_rate, time_interval
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch, lr0):
        return scheduled_decay(epoch, lr0, self.decay_rate, self.time_interval)


class ExponentialLR(LRScheduler):
    """``lr = lr0 * gamma ** epoch`` (PyTorch's ``ExponentialLR``; the lecture's gamma 0.95)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _positive(self, "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch, lr0):
        return exponential_decay(epoch, lr0, self.gamma)


class InverseSqrtDecay(LRScheduler):
    """``lr = lr0 * k / sqrt(epoch + 1)`` (the lecture's ``k / sqrt(epoch_num)``, epochs from 1)."""

    def __init__(self, optimizer, k=1.0, last_epoch=-1):
        _positive(self, "k", k)
        self.k = k
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch, lr0):
        return inverse_sqrt_decay(epoch, lr0, self.k)


class StepLR(LRScheduler):
    """``lr = lr0 * gamma ** floor(epoch / step_size)`` (PyTorch's ``StepLR``)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _positive(self, "step_size", step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch, lr0):
        return step_decay(epoch, lr0, self.step_size, self.gamma)


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (lr0 - eta_min) * (1 + cos(pi * epoch / T_max)) / 2`` (PyTorch's ``CosineAnnealingLR``).

    The rate falls from ``lr0`` to ``eta_min`` over ``T_max`` epochs (and,
    as in PyTorch, climbs back if training goes on).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _positive(self, "T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch, lr0):
        return cosine_annealing(epoch, lr0, self.T_max, self.eta_min)


class LinearWarmup(LRScheduler):
    """A linear warm-up from ``start_factor * lr0`` to ``lr0``, alone or before another schedule.

    Alone (``after=None``) it is a factor on the rate, PyTorch's
    ``LinearLR(start_factor, 1.0, total_iters=warmup_epochs)``. With ``after``,
    a schedule ``f(epoch, lr0)`` such as
    ``functools.partial(cosine_annealing, T_max=90)`` or another scheduler's
    ``lr_at``, that schedule takes over at ``warmup_epochs`` from its own
    epoch 0 (see :func:`linear_warmup`).
    """

    _not_saved = ("optimizer", "after")

    def __init__(self, optimizer, warmup_epochs, start_factor=0.1, after=None, last_epoch=-1):
        _positive(self, "warmup_epochs", warmup_epochs)
        if not 0 <= start_factor <= 1:
            raise ValueError(f"LinearWarmup: start_factor must be in [0, 1], got {start_factor!r}")
        if after is not None and not callable(after):
            raise TypeError(f"LinearWarmup: after must be a schedule f(epoch, lr0), got {type(after).__name__}")
        self.warmup_epochs, self.start_factor, self.after = warmup_epochs, start_factor, after
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch, lr0):
        return linear_warmup(epoch, lr0, self.warmup_epochs, self.start_factor, self.after)


class LambdaLR(LRScheduler):
    """``lr = lr0 * lr_lambda(epoch)`` (PyTorch's ``LambdaLR``).

    ``lr_lambda`` is a function of the epoch returning a factor, or a list
    of them, one per param group.
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        n = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(lambdas) != n or not all(callable(f) for f in lambdas):
            raise ValueError(f"LambdaLR: expected one function or {n} (one per param group), got {lr_lambda!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [lr0 * f(self.last_epoch) for f, lr0 in zip(self.lr_lambdas, self.base_lrs)]

    def lr_at(self, epoch, lr0):
        return lr0 * self.lr_lambdas[0](epoch)
