"""Adam's optional compiled update gives the NumPy update's numbers exactly."""
import numpy as np
import pytest

import ngrad
from ngrad import backend
from ngrad.optim import Adam, AdamW


def _run(opt_class, dtype, compiled, steps=5, **kwargs):
    prev = backend.set_numba_enabled(compiled)
    try:
        rng = np.random.default_rng(0)
        params = [ngrad.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)
                  for shape in ((7, 5), (5,), (3, 4, 2))]
        opt = opt_class(params, lr=0.01, **kwargs)
        for _ in range(steps):
            for p in params:
                p.grad = ngrad.tensor(rng.standard_normal(p.shape), dtype=dtype)
            opt.step()
        return [p.numpy() for p in params], opt.state_dict()
    finally:
        backend.set_numba_enabled(prev)


@pytest.mark.parametrize("opt_class,kwargs", [(Adam, {}), (Adam, {"weight_decay": 0.1}),
                                               (AdamW, {"weight_decay": 0.1})], ids=["adam", "adam-l2", "adamw"])
@pytest.mark.parametrize("dtype", [ngrad.float32, ngrad.float64])
def test_compiled_update_is_bit_identical(opt_class, kwargs, dtype):
    pytest.importorskip("numba")
    compiled, state_c = _run(opt_class, dtype, True, **kwargs)
    plain, state_p = _run(opt_class, dtype, False, **kwargs)
    for a, b in zip(compiled, plain):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    for key, st in state_p["state"].items():
        for name in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(np.asarray(state_c["state"][key][name]), np.asarray(st[name]))


def test_non_contiguous_gradient_takes_the_numpy_path():
    from ngrad.optim.adam import _compiled

    W = np.zeros((4, 6), np.float32)
    assert not _compiled(W, np.zeros((6, 4), np.float32).T, np.zeros_like(W), np.zeros_like(W))
    assert not _compiled(W, np.zeros_like(W, dtype=np.float64), np.zeros_like(W), np.zeros_like(W))
