"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter)."""
from __future__ import annotations

from ngrad.optim.adam import Adam


class AdamW(Adam):
    r"""Adam whose weight decay shrinks the weights directly (PyTorch's ``AdamW``).

    Each update first decays ``W``, then takes :class:`~ngrad.optim.Adam`'s
    step with the plain gradient::

        W = W * (1 - lr * weight_decay)
        (v, s, W) = Adam update with d = dW

    Unlike L2 in :class:`~ngrad.optim.Adam` (``d = dW + weight_decay * W``),
    the decay is not divided by ``sqrt(s)``, so every weight decays at the
    same rate whatever its gradient history.

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, Tensor)`` pairs or group dicts (see :class:`Optimizer`).
    lr, betas, eps : see :class:`~ngrad.optim.Adam`.
    weight_decay : float
        Decoupled decay coefficient (PyTorch's default 0.01).
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
