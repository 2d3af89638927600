"""Gradient descent with momentum in the course's form (an exponentially weighted average)."""
from __future__ import annotations

from ngrad.optim.optimizer import Optimizer, check_hyper, zeros_like


class Momentum(Optimizer):
    r"""Gradient descent with momentum, as taught in the course (C2W2).

    For each parameter ``W`` with gradient ``dW`` (arrays shaped like ``W``)::

        v = beta * v + (1 - beta) * dW        # v starts at zeros
        W = W - lr * v

    ``v`` is an exponentially weighted average of the gradients (no bias
    correction). PyTorch's :class:`~ngrad.optim.SGD` with ``momentum=beta``
    sums them instead (``v = beta * v + dW``): the same direction, a step
    ``1 / (1 - beta)`` times longer (10x for beta 0.9). So
    ``Momentum(params, lr, beta)`` takes exactly the steps of
    ``SGD(params, lr=lr * (1 - beta), momentum=beta)``.

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, Tensor)`` pairs or group dicts (see :class:`Optimizer`).
    lr : float
        Learning rate ``alpha``.
    beta : float
        Momentum ``beta`` in [0, 1); 0.9 averages over about 10 steps.
    """

    def __init__(self, params, lr, beta=0.9):
        super().__init__(params, lr=lr, beta=beta)

    def _check(self, group):
        check_hyper(self, "lr", group["lr"])
        check_hyper(self, "beta", group["beta"], high=1.0, open_high=True)

    def _state_keys(self, group):
        return ("velocity",)

    def _init_state(self, p, group):
        return {"velocity": zeros_like(p)}

    def _step_group(self, group):
        lr, beta = float(group["lr"]), float(group["beta"])
        for p, g in self._grads(group):
            v = self._state_of(p, group)["velocity"]
            v *= beta  # v = beta * v + (1 - beta) * dW
            self._add_scaled(v, 1.0 - beta, g)
            self._add_scaled(p.data, -lr, v)
