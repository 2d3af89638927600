"""The stable primitives never make NaN or Inf from finite inputs, up to |x| = 1e4.

RuntimeWarning is an error in the test suite, so an overflow inside NumPy
fails these tests too.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import ngrad
from ngrad.nn import functional as F

big = arrays(np.float64, st.integers(1, 8), elements=st.floats(-1e4, 1e4))


def _finite_forward_backward(fn, x, dtype):
    t = ngrad.tensor(x, dtype=dtype, requires_grad=True)
    out = fn(t)
    assert np.all(np.isfinite(out.numpy())), out
    out.sum().backward()
    assert np.all(np.isfinite(t.grad.numpy())), t.grad


STABLE = {
    "sigmoid": ngrad.sigmoid,
    "tanh": ngrad.tanh,
    "softplus": ngrad.softplus,
    "elu": ngrad.elu,
    "softmax": lambda t: ngrad.softmax(t, axis=0),
    "log_softmax": lambda t: ngrad.log_softmax(t, axis=0),
    "logsumexp": lambda t: t.logsumexp(),
    "bce_with_logits": lambda t: F.binary_cross_entropy_with_logits(t, ngrad.ones(t.shape, dtype=t.dtype)),
    "bce_with_logits_0": lambda t: F.binary_cross_entropy_with_logits(t, ngrad.zeros(t.shape, dtype=t.dtype)),
    "cross_entropy": lambda t: F.cross_entropy(t.reshape(1, -1), ngrad.tensor([0])),
    "bce_of_sigmoid": lambda t: F.binary_cross_entropy(t.sigmoid(), ngrad.ones(t.shape, dtype=t.dtype)),
}


@pytest.mark.parametrize("name", sorted(STABLE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=40, deadline=None)
@given(x=big)
def test_finite_for_large_inputs(name, dtype, x):
    _finite_forward_backward(STABLE[name], x, dtype)


@pytest.mark.parametrize("name", sorted(STABLE))
def test_extremes(name):
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4])
    _finite_forward_backward(STABLE[name], x, np.float32)


def test_sigmoid_saturates_exactly():
    s = ngrad.sigmoid(ngrad.tensor([-1e4, 0.0, 1e4])).numpy()
    np.testing.assert_array_equal(s, [0.0, 0.5, 1.0])


def test_bce_on_exact_zero_and_one_probabilities_is_finite():
    p = ngrad.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = ngrad.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0, 0, 100, 100])  # log floored at -100, as PyTorch
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad.numpy()))


def test_bce_with_logits_matches_exact_formula_where_it_is_safe():
    z = np.linspace(-20, 20, 41)
    y = np.linspace(0, 1, 41)
    ours = F.binary_cross_entropy_with_logits(ngrad.tensor(z, dtype=np.float64), ngrad.tensor(y, dtype=np.float64),
                                              reduction="none").numpy()
    p = 1 / (1 + np.exp(-z))
    exact = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    np.testing.assert_allclose(ours, exact, rtol=1e-7)
