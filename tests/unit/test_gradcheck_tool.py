"""``ngrad.gradcheck`` as a user tool (Course 2, week 1)."""
import numpy as np
import pytest

import ngrad
from ngrad.testing import assert_gradcheck, relative_difference


class GoodCube(ngrad.Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


class WrongCube(GoodCube):
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x**2 * g  # deliberately wrong factor


def test_passes_a_correct_user_function():
    x = np.random.default_rng(0).standard_normal((3, 4))
    result = ngrad.gradcheck(lambda t: GoodCube.apply(t).sum(), x)
    assert result.passed and bool(result)
    assert result.difference < 2e-7
    assert "works perfectly fine" in str(result)


def test_catches_a_deliberately_wrong_backward():
    x = np.random.default_rng(0).standard_normal((3, 4))
    result = ngrad.gradcheck(lambda t: GoodCube.apply(t).sum(), x)
    wrong = ngrad.gradcheck(lambda t: WrongCube.apply(t).sum(), x)
    assert not wrong.passed and not bool(wrong)
    assert wrong.difference == pytest.approx(0.2, abs=1e-6)  # |3-2| / (3+2)
    assert "There is a mistake" in str(wrong)
    assert wrong.difference > 1e5 * result.difference
    with pytest.raises(AssertionError, match="mistake"):
        assert_gradcheck(lambda t: WrongCube.apply(t).sum(), x)


def test_reports_per_input_and_overall():
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 2))
    result = ngrad.gradcheck(lambda x, W: (x @ W).tanh(), x, W)  # non-scalar output
    assert set(result.differences) == {"input 0", "input 1"}
    assert [c.shape for c in result.inputs] == [(5, 3), (3, 2)]
    assert result.passed


def test_only_the_wrong_input_is_flagged():
    class HalfWrongMul(ngrad.Function):
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * b  # gradient of b is wrong

    rng = np.random.default_rng(2)
    result = ngrad.gradcheck(lambda a, b: HalfWrongMul.apply(a, b).sum(), rng.standard_normal(4), rng.standard_normal(4))
    flags = {c.name: c.passed for c in result.inputs}
    assert flags == {"input 0": True, "input 1": False}


def test_integer_inputs_pass_through():
    logits = np.random.default_rng(3).standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    result = ngrad.gradcheck(lambda z, y: ngrad.nn.functional.cross_entropy(z, y), logits, labels)
    assert [c.name for c in result.inputs] == ["input 0"]
    assert result.passed


def test_params_must_be_float64():
    w = ngrad.ones(3, requires_grad=True)  # float32
    with pytest.raises(TypeError, match="float64"):
        ngrad.gradcheck(lambda x: (x * w).sum(), np.ones(3), params=[w])


def test_params_are_checked_in_place():
    w = ngrad.tensor(np.array([0.5, -1.0, 2.0]), dtype=ngrad.float64, requires_grad=True)
    before = w.numpy().copy()
    result = ngrad.gradcheck(lambda x: (x * w).tanh().sum(), np.ones(3), params=[w])
    assert result.passed and len(result.inputs) == 2
    np.testing.assert_array_equal(w.numpy(), before)  # perturbations undone


def test_relative_difference_formula():
    g = np.array([1.0, 2.0])
    assert relative_difference(g, g) == 0.0
    assert relative_difference(g, -g) == pytest.approx(1.0)
    assert relative_difference(np.zeros(2), np.zeros(2)) == 0.0


def test_needs_a_floating_input():
    with pytest.raises(ValueError, match="no floating-point input"):
        ngrad.gradcheck(lambda y: ngrad.ones(1).sum(), np.array([1, 2]))
