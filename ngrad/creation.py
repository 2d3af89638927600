"""Tensor constructors: tensor, from_numpy, zeros, ones, full, arange, eye,
randn, rand, and the ``*_like`` variants.

Random constructors draw from the library generator (``ngrad.manual_seed``)
unless given ``rng=`` (a seed or a ``numpy.random.Generator``).
"""
from __future__ import annotations

import numpy

from ngrad import backend
from ngrad.random import resolve_rng
from ngrad.tensor import Tensor, _wrap


def _shape(shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, numpy.integer)):
        return tuple(shape[0])
    return tuple(shape)


def _dtype(dtype):
    return numpy.dtype(dtype) if dtype is not None else backend.get_default_dtype()


def _make(data, requires_grad):
    t = _wrap(data, False, None)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, dtype=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (floats become the default dtype).

    >>> import ngrad
    >>> ngrad.tensor([[1, 2], [3, 4.5]]).dtype
    dtype('float32')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (no copy, no cast)."""
    return _wrap(numpy.asarray(array), False, None)


def zeros(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _make(numpy.zeros(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _make(numpy.ones(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _make(numpy.full(shape, fill_value, dtype=_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False) -> Tensor:
    return _make(numpy.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    """Evenly spaced values like ``numpy.arange``; integer arguments give int64."""
    a = numpy.arange(start, stop, step) if stop is not None else numpy.arange(start)
    if dtype is not None:
        a = a.astype(dtype)
    elif a.dtype.kind == "f":
        a = a.astype(backend.get_default_dtype())
    return _make(a, requires_grad)


def randn(*shape, dtype=None, requires_grad=False, rng=None) -> Tensor:
    """Standard normal samples."""
    g = resolve_rng(rng)
    return _make(g.standard_normal(_shape(shape)).astype(_dtype(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, rng=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    g = resolve_rng(rng)
    return _make(g.random(_shape(shape)).astype(_dtype(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    return zeros(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    return ones(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)
