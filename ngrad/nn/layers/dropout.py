"""``Dropout``: inverted dropout, as in Course 2 week 1."""
from __future__ import annotations

import numpy

from ngrad.backend import get_array_module
from ngrad.nn.module import Module
from ngrad.ops.elementwise import Mul
from ngrad.ops._util import as_tensor
from ngrad.random import resolve_rng


def resolve_keep_prob(p=None, keep_prob=None, owner="dropout") -> float:
    """The keep probability from PyTorch's drop probability ``p`` or the course's ``keep_prob``."""
    if p is not None and keep_prob is not None and abs((1 - p) - keep_prob) > 1e-12:
        raise ValueError(f"{owner}: give p (drop probability) or keep_prob, not both (p={p}, keep_prob={keep_prob})")
    keep = float(keep_prob) if keep_prob is not None else 1.0 - (0.5 if p is None else float(p))
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"{owner}: keep probability must lie in [0, 1], got {keep} (p={p}, keep_prob={keep_prob})")
    return keep


def _generator(rng):
    """None (library generator, looked up per call), a seed (a new Generator), a Generator or RandomState."""
    if rng is None or isinstance(rng, (numpy.random.Generator, numpy.random.RandomState)):
        return rng
    return resolve_rng(rng)


def dropout(x, p=0.5, training=True, rng=None, mask=None, keep_prob=None):
    """Inverted dropout: keep each element with probability ``keep_prob = 1 - p``, scaled by ``1 / keep_prob``.

    The course's ``D = np.random.rand(*A.shape) < keep_prob; A = A * D / keep_prob``
    (rows are examples here, so pass the course's ``D.T`` as ``mask`` to
    reproduce it). The identity when not ``training``.

    Parameters
    ----------
    x : Tensor, any shape
    p, keep_prob : float
        Drop probability (PyTorch) or keep probability (the course); give one.
    rng : None, int, numpy Generator or RandomState
        Where the mask comes from (default: the library generator). An int
        seed gives the same mask on every call.
    mask : array of bool, shape of ``x``, optional
        Use this keep-mask instead of drawing one (tests, course reproductions).
    """
    keep = resolve_keep_prob(None if keep_prob is not None else p, keep_prob)
    x = as_tensor(x)
    if not training or (keep == 1.0 and mask is None):
        return x
    if mask is None:
        gen = resolve_rng(None) if rng is None else _generator(rng)
        mask = gen.random(x.shape) < keep  # (*,) True = keep
    inv_keep = x.dtype.type(1.0 / keep) if keep else 0
    scale = get_array_module(x.data).asarray(mask, dtype=x.dtype) * inv_keep  # (*,) 0 or 1 / keep_prob
    return Mul.apply(x, scale)


class Dropout(Module):
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Give PyTorch's drop probability ``p`` or the course's ``keep_prob``
    (``Dropout(keep_prob=0.86)`` is ``Dropout(p=0.14)``). A new mask is drawn on
    every training-mode call, from ``rng``: the library generator by default
    (``ngrad.manual_seed``), or a seed / ``numpy.random.Generator`` owned by
    the layer. The identity in evaluation mode.

    Shape:
        - Input: (*), any shape
        - Output: (*), same shape as the input
    """

    def __init__(self, p: float | None = None, keep_prob: float | None = None, rng=None):
        super().__init__()
        self.keep_prob = resolve_keep_prob(p, keep_prob, "Dropout")
        self._given_keep = keep_prob is not None
        self.seed = int(rng) if isinstance(rng, (int, numpy.integer)) else None
        self.rng = _generator(rng)

    @property
    def p(self) -> float:
        """The drop probability ``1 - keep_prob``."""
        return 1.0 - self.keep_prob

    def forward(self, x):
        if not self.training or self.keep_prob == 1.0:
            return x
        return dropout(x, training=True, rng=self.rng, keep_prob=self.keep_prob)

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob}" if self._given_keep else f"p={self.p:g}"

    def get_config(self) -> dict:
        cfg = {"keep_prob": self.keep_prob} if self._given_keep else {"p": self.p}
        if self.seed is not None:
            cfg["rng"] = self.seed
        return cfg
