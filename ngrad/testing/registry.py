"""The registry of differentiable ops, used to gradcheck and oracle-test them all.

Each op family describes its ops in a module of ``ngrad.testing.specs`` as a
list ``SPECS`` of :class:`OpSpec`. An entry says how to call the op in ngrad,
how to call its PyTorch equivalent (given the ``torch`` module, so ngrad never
imports it), and how to make valid inputs of a given base shape. The tests
then draw base shapes with hypothesis and check every entry the same way.

Users can check their own ops the same way:

>>> import numpy, ngrad
>>> from ngrad.testing.registry import OpSpec, check_spec
>>> spec = OpSpec("square", lambda x: x * x, lambda rng, shape: ((rng.standard_normal(shape),), {}))
>>> check_spec(spec, (2, 3), seed=0).passed
True
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy

from ngrad.testing.gradcheck import GradcheckResult, gradcheck


@dataclass(frozen=True)
class OpSpec:
    """How to exercise one differentiable op.

    Attributes
    ----------
    name : str
        Unique id, e.g. ``"matmul"`` or ``"cross_entropy[labels]"``.
    fn : callable
        ``fn(*inputs, **kwargs)`` calling the op in ngrad and returning a Tensor.
    sample : callable
        ``sample(rng, shape) -> (inputs, kwargs)``: a tuple of NumPy arrays
        (float64 for differentiable inputs, integer for labels) built around the
        base ``shape`` (a tuple of 1-3 axes of size 1-4), and keyword arguments.
        Values must keep clear of the op's kinks (ties, 0 for relu/abs).
    torch_fn : callable, optional
        ``torch_fn(torch, *inputs, **kwargs)``: the PyTorch equivalent, for
        oracle tests. ``None`` where PyTorch has none.
    rtol, atol : float
        Oracle tolerances (float32).
    """

    name: str
    fn: Callable
    sample: Callable
    torch_fn: Callable | None = None
    rtol: float = 1e-5
    atol: float = 1e-6
    tags: tuple = field(default_factory=tuple)


def all_specs() -> list[OpSpec]:
    """Every registered spec, from every module in ``ngrad.testing.specs``."""
    import ngrad.testing.specs as pkg

    specs = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        specs.extend(getattr(module, "SPECS", ()))
    names = [s.name for s in specs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"duplicate op spec names: {sorted(dupes)}")
    return specs


def check_spec(spec: OpSpec, shape, seed: int = 0, **gradcheck_kwargs) -> GradcheckResult:
    """Gradcheck ``spec`` in float64 on inputs built around ``shape``."""
    inputs, kwargs = spec.sample(numpy.random.default_rng(seed), tuple(shape))
    return gradcheck(lambda *xs: spec.fn(*xs, **kwargs), *inputs, **gradcheck_kwargs)
