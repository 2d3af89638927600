"""Stochastic gradient descent, with momentum and Nesterov momentum (PyTorch form)."""
from __future__ import annotations

from ngrad.backend import get_array_module
from ngrad.optim.optimizer import TMP, Optimizer, check_hyper


class SGD(Optimizer):
    r"""Gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    For each parameter ``W`` with gradient ``dW`` (all arrays shaped like ``W``)::

        d = dW + weight_decay * W                          # L2 penalty in the gradient
        v = momentum * v + (1 - dampening) * d             # v = d at the first step
        d = d + momentum * v  if nesterov  else  v         # (only when momentum > 0)
        W = W - lr * d

    This is PyTorch's form: ``v`` sums gradients (no ``1 - beta`` factor); see
    :class:`~ngrad.optim.Momentum` for the course's averaged form.

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, Tensor)`` pairs or group dicts (see :class:`Optimizer`).
    lr : float
        Learning rate (``alpha`` in the course).
    momentum : float
        Momentum factor ``mu`` (0 = plain gradient descent).
    dampening : float
        Scales the new gradient's share in ``v`` by ``1 - dampening``.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    weight_decay : float
        L2 penalty coefficient, added to the gradient.

    Examples
    --------
    >>> import ngrad
    >>> W = ngrad.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([W], lr=0.1)
    >>> W.grad = ngrad.tensor([1.0, -1.0])
    >>> opt.step()
    >>> W
    tensor([0.9, 2.1], requires_grad=True)
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(
            params, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay
        )

    def _check(self, group):
        check_hyper(self, "lr", group["lr"])
        check_hyper(self, "momentum", group["momentum"])
        check_hyper(self, "dampening", group["dampening"], high=1.0)
        check_hyper(self, "weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")

    def _state_keys(self, group):
        return ("momentum_buffer",) if group["momentum"] else ()

    def _step_group(self, group):
        lr, mu, wd = float(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
        damp, nesterov = float(group["dampening"]), group["nesterov"]
        for p, g in self._grads(group):
            W = p.data
            d = self._l2(g, W, wd)
            if mu:
                d = self._momentum(p, W, d, mu, damp, nesterov)
            self._add_scaled(W, -lr, d)

    def _momentum(self, p, W, d, mu, damp, nesterov):
        """Update ``v`` and return the step direction (``v``, or ``d + mu v``)."""
        xp = get_array_module(W)
        state = self.state.get(p)
        if state is None:
            v = xp.array(d, dtype=W.dtype)  # PyTorch starts v at the first direction, undamped
            self.state[p] = {"momentum_buffer": v}
        else:
            v = state["momentum_buffer"]
            v *= mu
            if damp:
                self._add_scaled(v, 1.0 - damp, d)
            else:
                v += d
        if not nesterov:
            return v
        tmp = self._buffer(W, TMP)
        xp.multiply(v, mu, out=tmp)
        tmp += d
        return tmp
