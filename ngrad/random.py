"""One library-wide random Generator, seeded by :func:`manual_seed`.

Everything in ngrad that draws random numbers without being handed an
explicit generator (``ngrad.randn``, dropout masks, initializers, shuffling)
draws from :func:`get_generator`, so one ``ngrad.manual_seed(s)`` makes a whole
run repeatable.
"""
from __future__ import annotations

import numpy

_generator = numpy.random.default_rng()


def manual_seed(seed: int) -> numpy.random.Generator:
    """Reseed the library generator; returns it."""
    global _generator
    _generator = numpy.random.default_rng(seed)
    return _generator


def get_generator() -> numpy.random.Generator:
    """The library-wide ``numpy.random.Generator``."""
    return _generator


def get_rng_state() -> dict:
    """The generator's state as a plain dict (JSON-serialisable)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state


def resolve_rng(rng=None) -> numpy.random.Generator:
    """Turn ``None`` (library generator), an int seed or a Generator into a Generator."""
    if rng is None:
        return _generator
    if isinstance(rng, numpy.random.Generator):
        return rng
    if isinstance(rng, (int, numpy.integer)):
        return numpy.random.default_rng(int(rng))
    raise TypeError(f"expected None, an int seed or numpy.random.Generator, got {type(rng).__name__}")
