"""Adam: momentum and RMSprop together, with bias correction."""
from __future__ import annotations

import math

import numpy

from ngrad.backend import get_array_module, numba_kernels
from ngrad.optim.optimizer import TMP, Optimizer, check_hyper, zeros_like


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), exactly as the course's ``update_parameters_with_adam`` and PyTorch.

    For each parameter ``W`` with gradient ``dW`` (arrays shaped like ``W``),
    at update number ``t = 1, 2, ...`` (counted per parameter)::

        d = dW + weight_decay * W                      # L2 penalty in the gradient
        v = beta1 * v + (1 - beta1) * d                # first moment, starts at zeros
        s = beta2 * s + (1 - beta2) * d**2             # second moment, starts at zeros
        v_corrected = v / (1 - beta1**t)
        s_corrected = s / (1 - beta2**t)
        W = W - lr * v_corrected / (sqrt(s_corrected) + eps)

    The state keys follow PyTorch: ``step`` (t), ``exp_avg`` (the course's
    ``v``) and ``exp_avg_sq`` (``s``). The bias corrections are computed as
    two scalars, so an update is a handful of in-place passes over ``W``'s
    size. :class:`~ngrad.optim.AdamW` decouples the weight decay instead.

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, Tensor)`` pairs or group dicts (see :class:`Optimizer`).
    lr : float
        Learning rate ``alpha``.
    betas : (float, float)
        ``(beta1, beta2)``, decay rates of the two moments, each in [0, 1).
    eps : float
        ``epsilon``, added to the denominator.
    weight_decay : float
        L2 penalty coefficient, added to the gradient.
    """

    #: AdamW sets this: decay W itself instead of adding to the gradient
    decoupled_weight_decay = False

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _check(self, group):
        check_hyper(self, "lr", group["lr"])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_hyper(self, "betas[0]", betas[0], high=1.0, open_high=True)
        check_hyper(self, "betas[1]", betas[1], high=1.0, open_high=True)
        check_hyper(self, "eps", group["eps"])
        check_hyper(self, "weight_decay", group["weight_decay"])

    def _state_keys(self, group):
        return ("step", "exp_avg", "exp_avg_sq")

    def _init_state(self, p, group):
        return {"step": 0, "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}

    def _step_group(self, group):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        for p, g in self._grads(group):
            W = p.data
            state = self._state_of(p, group)
            state["step"] = t = state["step"] + 1
            if self.decoupled_weight_decay:
                if wd:
                    W *= 1.0 - lr * wd
            else:
                g = self._l2(g, W, wd)
            self._adam_update(W, g, state["exp_avg"], state["exp_avg_sq"], t, lr, beta1, beta2, eps)

    def _adam_update(self, W, g, v, s, t, lr, beta1, beta2, eps):
        """One bias-corrected Adam update of ``W``, ``v`` and ``s`` in place.

        ``lr * v_c / (sqrt(s_c) + eps)`` is computed as ``a * v / (sqrt(s) + e)``
        with the scalars ``a = lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` and
        ``e = eps * sqrt(1 - beta2**t)``: the same value, 12 passes in all.
        The moments keep the ``beta * m + (1 - beta) * x`` form: rewritten as
        ``beta * (m - x) + x`` they would lose digits in float32 (``1 - beta2``
        from float32 ``beta2`` is off by 1e-5 relative for 0.999).
        """
        root_bc2 = math.sqrt(1.0 - beta2**t)
        a, e = lr * root_bc2 / (1.0 - beta1**t), eps * root_bc2
        kernels = _compiled(W, g, v, s)
        if kernels is not None:  # the same arithmetic in one pass (Numba, optional)
            f = W.dtype.type
            # flat views (all C-contiguous): one compiled signature per dtype, whatever the shapes
            kernels.adam_update(W.ravel(), g.ravel(), v.ravel(), s.ravel(), f(beta1), f(1.0 - beta1), f(beta2),
                                f(1.0 - beta2), f(e), f(a))
            return
        xp = get_array_module(W)
        tmp = self._buffer(W, TMP)
        xp.multiply(g, 1.0 - beta1, out=tmp)  # v = beta1 * v + (1 - beta1) * g
        v *= beta1
        v += tmp
        xp.multiply(g, g, out=tmp)  # s = beta2 * s + (1 - beta2) * g**2
        tmp *= 1.0 - beta2
        s *= beta2
        s += tmp
        xp.sqrt(s, out=tmp)
        tmp += e
        xp.divide(v, tmp, out=tmp)
        tmp *= a
        W -= tmp


_COMPILED_DTYPE_CHARS = "fd"  # float32, float64


def _compiled(W, g, v, s):
    """The Numba kernel module when it can take this update (NumPy arrays, C-contiguous, one float
    dtype and shape), else None."""
    # runs once per parameter and update: plain attribute checks, no generator (dtype.char, not .name)
    if type(W) is not numpy.ndarray or W.dtype.char not in _COMPILED_DTYPE_CHARS:
        return None
    dtype, shape = W.dtype, W.shape
    for x in (g, v, s):
        if type(x) is not numpy.ndarray or x.dtype != dtype or x.shape != shape or not x.flags.c_contiguous:
            return None
    if not W.flags.c_contiguous:
        return None
    return numba_kernels("optim._numba_adam")
