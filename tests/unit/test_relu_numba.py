"""ReLU's optional compiled kernels give NumPy's numbers bit for bit, special values included."""
import numpy as np
import pytest

import ngrad
from ngrad import backend
from ngrad.ops.activation import RELU_KERNEL_MIN_SIZE, _relu_kernels

SPECIAL = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3.0, -3.0]


def _values(dtype, n=RELU_KERNEL_MIN_SIZE * 2):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    x[: len(SPECIAL)] = SPECIAL
    return x.reshape(64, -1)


def _relu_fwd_bwd(x, g, compiled):
    prev = backend.set_numba_enabled(compiled)
    try:
        t = ngrad.tensor(x, dtype=x.dtype, requires_grad=True)
        y = ngrad.relu(t)
        y.backward(ngrad.tensor(g, dtype=g.dtype))
        return y.numpy(), t.grad.numpy()
    finally:
        backend.set_numba_enabled(prev)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_relu_is_bit_identical(dtype):
    pytest.importorskip("numba")
    x = _values(dtype)
    g = _values(dtype)[::-1].copy()  # NaN and inf gradients meet both on and off units
    yc, gc = _relu_fwd_bwd(x, g, True)
    yp, gp = _relu_fwd_bwd(x, g, False)
    assert yc.dtype == gc.dtype == dtype
    # compare bit patterns: -0.0 against +0.0 and NaN against NaN must agree too
    np.testing.assert_array_equal(yc.view(np.uint8), yp.view(np.uint8))
    np.testing.assert_array_equal(gc.view(np.uint8), gp.view(np.uint8))
    np.testing.assert_array_equal(yp, np.maximum(x, 0))


def test_kernels_only_take_arrays_they_can_loop_over():
    pytest.importorskip("numba")
    if not backend.numba_enabled():
        pytest.skip("compiled kernels switched off (NGRAD_NUMBA=0)")
    big = np.zeros((64, RELU_KERNEL_MIN_SIZE // 32), np.float32)
    assert _relu_kernels(big) is not None
    assert _relu_kernels(big, np.zeros_like(big)) is not None
    assert _relu_kernels(np.zeros(8, np.float32)) is None  # too small to pay the dispatch
    assert _relu_kernels(big.T) is None  # not C-contiguous
    assert _relu_kernels(big.astype(np.int64)) is None
    assert _relu_kernels(big, big.astype(np.float64)) is None
    assert _relu_kernels(big, np.zeros((RELU_KERNEL_MIN_SIZE * 2,), np.float32)) is None
    prev = backend.set_numba_enabled(False)
    try:
        assert _relu_kernels(big) is None
    finally:
        backend.set_numba_enabled(prev)


def test_non_contiguous_and_broadcast_gradients_take_the_numpy_path():
    x = _values(np.float64)
    t = ngrad.tensor(x.T, dtype=x.dtype, requires_grad=True)  # a transposed view: the forward falls back
    y = ngrad.relu(t)
    np.testing.assert_array_equal(y.numpy(), np.maximum(x.T, 0))
    y.sum().backward()  # the gradient arrives broadcast from a scalar
    np.testing.assert_array_equal(t.grad.numpy(), (x.T > 0).astype(np.float64))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize("grad", [True, False])
def test_small_relu_keeps_dtype_and_values(dtype, grad):
    """Below the kernel size ReLU is NumPy's maximum against a 0-d zero of the input's dtype:
    the same bits and dtype as ``maximum(x, 0)``, with or without a graph."""
    floats = np.issubdtype(dtype, np.floating)
    x = (_values(np.float64, 64) if floats else np.arange(-32, 32)).astype(dtype).reshape(4, 16)
    if grad:
        y = ngrad.relu(ngrad.tensor(x, dtype=x.dtype)).numpy()
    else:
        with ngrad.no_grad():
            y = ngrad.relu(ngrad.tensor(x, dtype=x.dtype)).numpy()
    want = np.maximum(x, 0)
    assert y.dtype == want.dtype == dtype
    np.testing.assert_array_equal(y.view(np.uint8), want.view(np.uint8))
