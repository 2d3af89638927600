"""Every registered op agrees with PyTorch, forward and backward, in float32."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ngrad
from ngrad.testing.registry import all_specs

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle

SPECS = [s for s in all_specs() if s.torch_fn is not None]
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _ngrad_side(spec, inputs, kwargs, r_seed):
    xs = [ngrad.tensor(a, dtype=np.float32, requires_grad=True) if a.dtype.kind == "f" else ngrad.from_numpy(a)
          for a in inputs]
    out = spec.fn(*xs, **kwargs)
    r = np.random.default_rng(r_seed).standard_normal(out.shape).astype(np.float32)
    out.backward(r)
    grads = [x.grad.numpy() if x.requires_grad and x.grad is not None else None for x in xs]
    return out.numpy(), grads, r


def _torch_side(spec, inputs, kwargs, r):
    xs = [torch.tensor(a.astype(np.float32), requires_grad=True) if a.dtype.kind == "f" else torch.as_tensor(a)
          for a in inputs]
    out = spec.torch_fn(torch, *xs, **kwargs)
    out.backward(torch.as_tensor(r).reshape(out.shape))
    grads = [x.grad.numpy() if x.grad is not None else None for x in xs]
    return out.detach().numpy(), grads


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_matches_torch(spec, shape, seed):
    inputs, kwargs = spec.sample(np.random.default_rng(seed), shape)
    ours, our_grads, r = _ngrad_side(spec, inputs, kwargs, seed)
    theirs, their_grads = _torch_side(spec, inputs, kwargs, r)
    np.testing.assert_allclose(ours, theirs, rtol=spec.rtol, atol=spec.atol, err_msg=f"{spec.name} forward")
    for i, (g, tg) in enumerate(zip(our_grads, their_grads)):
        if tg is None:  # PyTorch gives no gradient for this input (e.g. BCE target)
            continue
        assert g is not None, f"{spec.name}: no gradient for input {i}"
        np.testing.assert_allclose(g, tg, rtol=spec.rtol * 10, atol=spec.atol * 10,
                                   err_msg=f"{spec.name} gradient of input {i}")
