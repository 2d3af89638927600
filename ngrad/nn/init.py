"""Initializers: fill a tensor in place (``init.xavier_uniform_(layer.weight)``) and return it.

Fan conventions
---------------
Weights are shaped (out_features, in_features) as the course's ``W[l]``
(n_l, n_{l-1}) and PyTorch, so ``fan_in = W.shape[1]`` (the course's
``n_prev`` = n_{l-1}) and ``fan_out = W.shape[0]``. For more axes (a
convolution kernel (out, in, kh, kw)) both are multiplied by the receptive
field size ``kh * kw``.

Randomness
----------
Every random initializer takes ``rng``: ``None`` (the library generator,
``ngrad.manual_seed``), an int seed, a ``numpy.random.Generator`` or a legacy
``numpy.random.RandomState``. Values are drawn in float64 and then cast to the
tensor's dtype, so the course's recipes are reproduced digit for digit: pass
``rng=numpy.random.RandomState(3)`` where the course calls
``np.random.seed(3)`` and draws with ``np.random.randn``.

>>> import numpy, ngrad
>>> from ngrad.nn import init
>>> W = ngrad.zeros(4, 3, dtype=ngrad.float64)
>>> _ = init.course_he_(W, rng=numpy.random.RandomState(3))
>>> numpy.random.seed(3)
>>> bool((W.numpy() == numpy.random.randn(4, 3) * numpy.sqrt(2 / 3)).all())
True
"""
from __future__ import annotations

import math

import numpy

from ngrad import backend
from ngrad.random import resolve_rng
from ngrad.tensor import Tensor

__all__ = [
    "calculate_gain", "constant_", "course_he_", "course_random_", "course_xavier_", "fan_in_and_fan_out",
    "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_", "uniform_", "xavier_normal_",
    "xavier_uniform_", "zeros_",
]


def _rng(rng):
    return rng if isinstance(rng, numpy.random.RandomState) else resolve_rng(rng)


def _fill(t: Tensor, values) -> Tensor:
    """Write ``values`` into ``t`` in place (cast to its dtype); no graph is recorded."""
    if not isinstance(t, Tensor):
        raise TypeError(f"initializers fill a Tensor or Parameter in place, got {type(t).__name__}")
    xp = backend.get_array_module(t.data)
    values = xp.asarray(values)
    if t.data.flags.writeable:
        t.data[...] = values
    else:
        t.data = xp.broadcast_to(values, t.shape).astype(t.dtype)
    return t


def fan_in_and_fan_out(t) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shaped (out, in, *kernel): (in * k, out * k)."""
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 axes, got shape {t.shape}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain PyTorch recommends for ``nonlinearity``.

    linear, sigmoid, conv: 1; tanh: 5/3; relu: sqrt(2); leaky_relu:
    sqrt(2 / (1 + slope**2)) (slope ``param``, default 0.01); selu: 3/4.
    """
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fan(t, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in_and_fan_out(t)[0 if mode == "fan_in" else 1]


# ---------------------------------------------------------------- constant
def zeros_(t: Tensor) -> Tensor:
    """Fill with 0 (the course's biases ``b[l] = np.zeros((n_l, 1))``)."""
    return _fill(t, 0)


def ones_(t: Tensor) -> Tensor:
    return _fill(t, 1)


def constant_(t: Tensor, val: float) -> Tensor:
    return _fill(t, val)


# ------------------------------------------------------------------ random
def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, rng=None) -> Tensor:
    """Samples of N(mean, std**2)."""
    return _fill(t, _rng(rng).standard_normal(t.shape) * std + mean)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, rng=None) -> Tensor:
    """Samples of U(a, b)."""
    return _fill(t, _rng(rng).uniform(a, b, t.shape))


def xavier_uniform_(t: Tensor, gain: float = 1.0, rng=None) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, rng=rng)


def xavier_normal_(t: Tensor, gain: float = 1.0, rng=None) -> Tensor:
    """Glorot normal: N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     rng=None) -> Tensor:
    """He uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)`` (gain of ``nonlinearity``, slope ``a``)."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(t, mode))
    return uniform_(t, -bound, bound, rng=rng)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    rng=None) -> Tensor:
    """He normal: N(0, std**2), ``std = gain / sqrt(fan)``; sqrt(2 / fan_in) for relu."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode))
    return normal_(t, 0.0, std, rng=rng)


# --------------------------------------------------------- course recipes
def course_random_(W: Tensor, scale: float = 0.01, rng=None) -> Tensor:
    """The course's small random weights: ``W = np.random.randn(n_l, n_prev) * scale``.

    ``scale=10`` reproduces the "large random" experiment of Course 2.
    """
    return _fill(W, _rng(rng).standard_normal(W.shape) * scale)


def course_xavier_(W: Tensor, rng=None) -> Tensor:
    """The course's Xavier recipe: ``W = np.random.randn(n_l, n_prev) * np.sqrt(1 / n_prev)``."""
    return _fill(W, _rng(rng).standard_normal(W.shape) * numpy.sqrt(1.0 / fan_in_and_fan_out(W)[0]))


def course_he_(W: Tensor, rng=None) -> Tensor:
    """The course's He recipe: ``W = np.random.randn(n_l, n_prev) * np.sqrt(2 / n_prev)``."""
    return _fill(W, _rng(rng).standard_normal(W.shape) * numpy.sqrt(2.0 / fan_in_and_fan_out(W)[0]))
