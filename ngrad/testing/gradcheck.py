"""Gradient checking, as taught in Course 2 week 1, as a user tool.

The analytic gradient from ``backward()`` is compared with two-sided finite
differences in float64, and the course's relative difference

    difference = ||g - g_approx|| / (||g|| + ||g_approx||)

is reported per input and over all inputs together. The check passes below
the course's threshold (2e-7 with the course's eps of 1e-7).

Examples
--------
>>> import ngrad
>>> x = ngrad.randn(3, 4)
>>> W = ngrad.randn(4, 2)
>>> result = ngrad.gradcheck(lambda x, W: (x @ W).tanh().sum(), x, W)
>>> result.passed
True
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy

from ngrad.function import no_grad
from ngrad.tensor import Tensor


@dataclass
class InputCheck:
    """The check of one input: its name, shape, difference and largest error."""

    name: str
    shape: tuple
    difference: float
    max_abs_error: float
    passed: bool


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` measured. Truthy when the check passed."""

    difference: float
    threshold: float
    inputs: list = field(default_factory=list)
    analytic: list = field(default_factory=list, repr=False)
    numeric: list = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.inputs)

    @property
    def differences(self) -> dict:
        return {c.name: c.difference for c in self.inputs}

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            head = f"Your backward propagation works perfectly fine! difference = {self.difference:.10g}"
        else:
            head = f"There is a mistake in the backward propagation! difference = {self.difference:.10g}"
        lines = [head, f"  (threshold {self.threshold:g}; per input:)"]
        for c in self.inputs:
            mark = "ok" if c.passed else "MISMATCH"
            lines.append(
                f"  {c.name} {c.shape}: difference {c.difference:.3e}, "
                f"max |g - g_approx| {c.max_abs_error:.3e}  {mark}"
            )
        return "\n".join(lines)


def relative_difference(g, g_approx) -> float:
    """The course's ``||g - g_approx|| / (||g|| + ||g_approx||)`` (0 when both vanish)."""
    g, g_approx = numpy.ravel(g), numpy.ravel(g_approx)
    den = numpy.linalg.norm(g) + numpy.linalg.norm(g_approx)
    return float(numpy.linalg.norm(g - g_approx) / den) if den > 0 else 0.0


def gradcheck(fn, *inputs, params=(), eps=1e-7, threshold=2e-7, atol=1e-6, seed=0) -> GradcheckResult:
    """Check ``fn``'s analytic gradients against two-sided finite differences.

    Parameters
    ----------
    fn : callable
        ``fn(*inputs)`` returning a Tensor. A non-scalar output is reduced with
        a fixed random projection ``sum(out * r)`` so every element is checked.
    *inputs : Tensor, array or other
        Floating tensors/arrays are copied to float64 leaves and checked;
        anything else (integer labels, numbers) is passed through unchanged.
    params : iterable of Tensor
        More leaves to check in place (e.g. a float64 layer's parameters).
    eps : float
        Finite-difference step (the course's 1e-7).
    threshold : float
        Pass when the relative difference is below this (the course's 2e-7).
    atol : float
        Also pass an input whose largest absolute error is below this, so a
        gradient that is truly zero is not failed for finite-difference noise.
    seed : int
        Seed of the projection ``r`` for non-scalar outputs.
    """
    args, checked, names = _prepare(inputs, params)
    if not checked:
        raise ValueError("gradcheck: no floating-point input to check")
    out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    r = None if out.size == 1 else numpy.random.default_rng(seed).standard_normal(out.shape)
    for t in checked:
        t.grad = None
    out.backward(None if r is None else r.astype(out.dtype))
    analytic = [numpy.zeros(t.shape) if t.grad is None else t.grad.numpy().astype(numpy.float64) for t in checked]

    def objective() -> float:
        with no_grad():
            y = fn(*args).numpy().astype(numpy.float64)
        return float(y.sum() if r is None else (y * r).sum())

    numeric = [_numeric_grad(t, objective, eps) for t in checked]
    reports = []
    for name, t, g, ga in zip(names, checked, analytic, numeric):
        diff = relative_difference(g, ga)
        err = float(numpy.max(numpy.abs(g - ga))) if g.size else 0.0
        reports.append(InputCheck(name, tuple(t.shape), diff, err, diff < threshold or err < atol))
    overall = relative_difference(numpy.concatenate([g.ravel() for g in analytic]),
                                  numpy.concatenate([g.ravel() for g in numeric]))
    return GradcheckResult(overall, threshold, reports, analytic, numeric)


def assert_gradcheck(fn, *inputs, **kwargs) -> GradcheckResult:
    """:func:`gradcheck` that raises ``AssertionError`` with the report when it fails."""
    result = gradcheck(fn, *inputs, **kwargs)
    if not result.passed:
        raise AssertionError(str(result))
    return result


def _prepare(inputs, params):
    args, checked, names = [], [], []
    for i, x in enumerate(inputs):
        data = x.data if isinstance(x, Tensor) else x
        if isinstance(data, (list, tuple, float)):
            data = numpy.asarray(data)
        if hasattr(data, "dtype") and numpy.dtype(data.dtype).kind == "f":
            t = Tensor(numpy.array(data, dtype=numpy.float64), dtype=numpy.float64, requires_grad=True)
            args.append(t)
            checked.append(t)
            names.append(f"input {i}")
        else:
            args.append(x)
    for j, p in enumerate(params):
        if p.dtype != numpy.float64:
            raise TypeError(
                f"gradcheck: parameter {j} is {p.dtype}; finite differences need float64 "
                f"(convert the model first, e.g. model.to(ngrad.float64))"
            )
        checked.append(p)
        names.append(getattr(p, "name", None) or f"param {j}")
    return args, checked, names


def _numeric_grad(t: Tensor, objective, eps: float):
    """Two-sided differences of ``objective`` with respect to each element of ``t``."""
    flat = t.data.reshape(-1)  # a view: perturbing it perturbs t
    if not numpy.shares_memory(flat, t.data):
        raise RuntimeError("gradcheck: input data is not contiguous")
    grad = numpy.zeros(flat.shape, dtype=numpy.float64)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        f_plus = objective()
        flat[i] = orig - eps
        f_minus = objective()
        flat[i] = orig
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad.reshape(t.shape)
