"""The convolutions' compiled chunk loops (in ngrad.ops._numba_im2col, calling NumPy's own GEMM
through ngrad.ops._blas): they run wherever they can take the arrays, and give the Python loops'
numbers bit for bit; elsewhere the Python loops run."""
import numpy as np
import pytest

import ngrad
from ngrad import backend
from ngrad.ops import _blas, conv_utils
from ngrad.ops.conv import conv2d
from conv_reference import random_case  # tests/unit is on sys.path
from kernel_switch import with_kernels

pytest.importorskip("numba")

LOOPS = ("forward_chunks", "correlation_chunks", "backward_chunks")


@pytest.fixture
def gemm():
    if _blas.gemm_address(np.float32) is None:
        pytest.skip("NumPy's BLAS has no cblas GEMM with 64-bit integers here")


@pytest.fixture
def calls(monkeypatch, gemm):
    """The names of the compiled loops called, in order (one call per run of chunks: several
    calls in a row when BLAS has several threads)."""
    module = with_kernels(True, lambda: backend.numba_kernels("ops._numba_im2col"))
    seen = []
    for name in LOOPS:
        def recorded(*args, _loop=getattr(module, name), _name=name):
            seen.append(_name)
            return _loop(*args)
        monkeypatch.setattr(module, name, recorded)
    return seen


def _conv(x, w, b, gy, **kw):
    xt = ngrad.tensor(x, dtype=x.dtype, requires_grad=True)
    wt = ngrad.tensor(w, dtype=w.dtype, requires_grad=True)
    bt = ngrad.tensor(b, dtype=b.dtype, requires_grad=True)
    y = conv2d(xt, wt, bt, **kw)
    y.backward(ngrad.tensor(gy, dtype=gy.dtype))
    return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


CASES = [  # (N, C, H, W, F, k, stride, padding, dilation, groups), the loops they run
    ((5, 4, 16, 16, 6, 3, 1, 1, 1, 1), ["forward_chunks", "correlation_chunks"]),  # batch-major columns
    ((5, 4, 6, 7, 6, 3, 1, "same", 1, 1), ["forward_chunks", "correlation_chunks"]),  # planar
    ((5, 4, 32, 32, 6, 3, 2, "same", 1, 1), ["forward_chunks", "backward_chunks"]),  # batch-major, stride 2
    ((5, 4, 9, 9, 6, 3, 2, 1, 1, 2), ["forward_chunks", "backward_chunks"]),  # planar, stride 2, groups
    ((5, 4, 20, 16, 6, 3, 1, 1, 1, 2), ["forward_chunks", "backward_chunks"]),  # groups: dx by correlation, a forward
    ((5, 3, 12, 12, 4, 3, 1, 2, 2, 1), ["forward_chunks", "correlation_chunks"]),  # dilation
    ((4, 3, 18, 18, 5, 4, 1, ((1, 2), (2, 1)), 1, 1), ["forward_chunks", "correlation_chunks"]),  # even kernel
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case, loops", CASES)
@pytest.mark.parametrize("chunk_images", [1, 2, 64])
def test_the_compiled_loops_run_and_give_the_python_loops_numbers(monkeypatch, calls, dtype, case, loops,
                                                                   chunk_images):
    x, wgt, b, gy, kw = random_case(case, dtype, seed=11)
    # chunks of about chunk_images images of the forward's columns, so that a run has several
    monkeypatch.setattr(conv_utils, "CHUNK_BYTES", chunk_images * wgt[0].size * gy[0, 0].size * x.itemsize)
    got = with_kernels(True, lambda: _conv(x, wgt, b, gy, **kw))
    assert list(dict.fromkeys(calls)) == loops
    # the Python loops over the same chunks, with the same compiled im2col and the same split
    # between BLAS's threads (the weight gradient adds the runs' sums at the end)
    monkeypatch.setattr(_blas, "gemm_address", lambda dtype: None)
    calls.clear()
    want = with_kernels(True, lambda: _conv(x, wgt, b, gy, **kw))
    assert calls == []
    for a, b_ in zip(got, want):
        _same_bits(a, b_)


def test_without_numpys_gemm_the_python_loops_run_with_the_same_numbers(monkeypatch, calls):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 4, 16, 16)).astype(np.float32)
    wgt = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    gy = rng.standard_normal((3, 6, 8, 8)).astype(np.float32)
    want = with_kernels(True, lambda: _conv(x, wgt, b, gy, stride=2, padding=1))
    assert list(dict.fromkeys(calls)) == ["forward_chunks", "backward_chunks"]
    monkeypatch.setattr(_blas, "gemm_address", lambda dtype: None)
    calls.clear()
    got = with_kernels(True, lambda: _conv(x, wgt, b, gy, stride=2, padding=1))
    assert calls == []
    for a, b_ in zip(got, want):
        _same_bits(a, b_)


@pytest.mark.parametrize("x_shape, w_shape, kept", [
    ((3, 4, 16, 16), (1, 4, 3, 3), "forward_chunks"),  # one output channel: NumPy calls GEMV for W @ cols
    ((3, 1, 16, 16), (6, 1, 3, 3), "correlation_chunks"),  # one input channel: GEMV for the input gradient
])
def test_a_gemm_side_of_one_keeps_that_python_loop(monkeypatch, calls, x_shape, w_shape, kept):
    rng = np.random.default_rng(13)
    x = rng.standard_normal(x_shape).astype(np.float32)
    wgt = rng.standard_normal(w_shape).astype(np.float32)
    b = np.zeros(w_shape[0], np.float32)
    gy = rng.standard_normal((x_shape[0], w_shape[0]) + x_shape[2:]).astype(np.float32)
    got = with_kernels(True, lambda: _conv(x, wgt, b, gy, padding="same"))
    assert kept not in calls and calls  # that loop in Python, the other compiled
    want = with_kernels(False, lambda: _conv(x, wgt, b, gy, padding="same"))  # NumPy (one chunk here)
    for a, b_ in zip(got, want):
        _same_bits(a, b_)


def test_gemm_address_is_found_for_float_dtypes_only(gemm):
    for dtype in (np.float32, np.float64):
        address = _blas.gemm_address(dtype)
        assert isinstance(address, int) and address > 0
    assert _blas.gemm_address(np.float32) != _blas.gemm_address(np.float64)
    for dtype in (np.float16, np.int64, np.complex64):
        assert _blas.gemm_address(dtype) is None
