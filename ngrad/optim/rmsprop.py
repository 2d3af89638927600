"""RMSprop: divide each step by a running root mean square of the gradients."""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.optim.optimizer import TMP, Optimizer, check_hyper, zeros_like


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), with PyTorch's options and defaults.

    For each parameter ``W`` with gradient ``dW`` (arrays shaped like ``W``)::

        d = dW + weight_decay * W                       # L2 penalty in the gradient
        s = alpha * s + (1 - alpha) * d**2              # s starts at zeros
        u = d / (sqrt(s) + eps)
        b = momentum * b + u;  u = b                    # only when momentum > 0
        W = W - lr * u

    The course writes the same update with ``beta`` (or ``beta2``) for
    ``alpha`` and ``epsilon`` for ``eps``: ``s = beta2 * s + (1 - beta2) * dW**2;
    W -= alpha * dW / (sqrt(s) + epsilon)``. There is no bias correction.

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, Tensor)`` pairs or group dicts (see :class:`Optimizer`).
    lr : float
        Learning rate.
    alpha : float
        Decay of the running mean of squared gradients (the course's ``beta``).
    eps : float
        Added to the root mean square (the course's ``epsilon``).
    weight_decay : float
        L2 penalty coefficient, added to the gradient.
    momentum : float
        Momentum on the normalised step (0 = none).
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)

    def _check(self, group):
        check_hyper(self, "lr", group["lr"])
        check_hyper(self, "alpha", group["alpha"], high=1.0)
        check_hyper(self, "eps", group["eps"])
        check_hyper(self, "weight_decay", group["weight_decay"])
        check_hyper(self, "momentum", group["momentum"])

    def _state_keys(self, group):
        return ("step", "square_avg", "momentum_buffer") if group["momentum"] else ("step", "square_avg")

    def _init_state(self, p, group):
        state = {"step": 0, "square_avg": zeros_like(p)}
        if group["momentum"]:
            state["momentum_buffer"] = zeros_like(p)
        return state

    def _step_group(self, group):
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        wd, mu = float(group["weight_decay"]), float(group["momentum"])
        for p, g in self._grads(group):
            W = p.data
            xp = get_array_module(W)
            state = self._state_of(p, group)
            state["step"] += 1
            d = self._l2(g, W, wd)
            s, u = state["square_avg"], self._buffer(W, TMP)
            xp.multiply(d, d, out=u)  # s = alpha * s + (1 - alpha) * d**2
            u *= 1.0 - alpha
            s *= alpha
            s += u
            xp.sqrt(s, out=u)
            u += eps
            xp.divide(d, u, out=u)
            if mu:
                b = state["momentum_buffer"]
                b *= mu
                b += u
                u = b
            self._add_scaled(W, -lr, u)
