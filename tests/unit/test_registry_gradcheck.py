"""Every registered differentiable op passes a float64 gradient check over
shapes drawn by hypothesis (broadcast partners and size-1 axes included)."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ngrad.testing.registry import all_specs, check_spec

SPECS = all_specs()
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def test_registry_is_complete():
    names = {s.name for s in SPECS}
    required = {
        "add", "sub", "mul", "div", "neg", "pow_scalar", "pow_tensor", "exp", "log", "sqrt", "abs",
        "maximum", "minimum", "clip", "where", "sum", "mean", "max", "min", "var", "std", "logsumexp",
        "matmul", "reshape", "transpose", "broadcast_to", "squeeze", "unsqueeze", "flatten",
        "concatenate", "stack", "split", "pad", "getitem[basic]", "getitem[int-array]", "getitem[mask]",
        "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax", "log_softmax",
        "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy[labels]",
        "cross_entropy[probs]", "mse_loss", "l1_loss",
    }
    assert required <= names, sorted(required - names)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_gradcheck(spec, shape, seed):
    result = check_spec(spec, shape, seed=seed)
    assert result.passed, f"{spec.name} shape={shape} seed={seed}\n{result}"
