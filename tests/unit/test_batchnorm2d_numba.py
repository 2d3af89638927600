"""BatchNorm2d's optional compiled kernels (training mode, NCHW) give the NumPy path's numbers to float rounding."""
import numpy as np
import pytest

import ngrad
from ngrad import backend
from ngrad.ops import batchnorm2d as bn2d
from ngrad.ops.batchnorm2d import BatchNorm2d, _bn_kernels, batch_norm2d

SHAPES = [(8, 3, 6, 5), (1, 4, 3, 3), (16, 5, 1, 1), (64, 2, 32, 32)]  # incl. N = 1 and H*W = 1
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def compiled_calls(monkeypatch):
    """Counts the calls that reach the compiled forward and backward, so a test knows the kernels ran."""
    calls = {"forward": 0, "backward": 0}
    fwd, bwd = bn2d._forward_compiled, bn2d._backward_compiled

    def count_fwd(*args):
        calls["forward"] += 1
        return fwd(*args)

    def count_bwd(*args):
        calls["backward"] += 1
        return bwd(*args)

    monkeypatch.setattr(bn2d, "_forward_compiled", count_fwd)
    monkeypatch.setattr(bn2d, "_backward_compiled", count_bwd)
    return calls


def _data(shape, dtype, affine, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)  # a mean away from 0: centring matters
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[1]
    w = (rng.standard_normal(c) + 1).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    return x, g, w, b


def _bn_fwd_bwd(x, g, w, b, compiled):
    """batch_norm2d in training mode with running statistics: -> output, running mean/var, grads of x, w, b."""
    prev = backend.set_numba_enabled(compiled)
    try:
        dtype, c = x.dtype, x.shape[1]
        t = ngrad.tensor(x, dtype=dtype, requires_grad=True)
        wt = None if w is None else ngrad.tensor(w, dtype=dtype, requires_grad=True)
        bt = None if b is None else ngrad.tensor(b, dtype=dtype, requires_grad=True)
        rm, rv = ngrad.tensor(np.full(c, 0.5), dtype=dtype), ngrad.tensor(np.full(c, 2.0), dtype=dtype)
        y = batch_norm2d(t, rm, rv, wt, bt, training=True, momentum=0.3)
        y.backward(ngrad.tensor(g, dtype=dtype))
        out = {"y": y.numpy(), "running_mean": rm.numpy(), "running_var": rv.numpy(), "gx": t.grad.numpy()}
        if w is not None:
            out.update(gw=wt.grad.numpy(), gb=bt.grad.numpy())
        return out
    finally:
        backend.set_numba_enabled(prev)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_matches_numpy_path(dtype, shape, affine, compiled_calls):
    pytest.importorskip("numba")
    x, g, w, b = _data(shape, dtype, affine)
    got = _bn_fwd_bwd(x, g, w, b, True)
    assert compiled_calls == {"forward": 1, "backward": 1}
    want = _bn_fwd_bwd(x, g, w, b, False)
    assert compiled_calls == {"forward": 1, "backward": 1}  # switched off: the NumPy path ran
    assert got.keys() == want.keys()
    for name, ref in want.items():
        assert got[name].dtype == ref.dtype == dtype and got[name].shape == ref.shape, name
        # gx sums to 0 over a channel, so its small elements are compared against its scale
        atol = TOL[dtype]["atol"] * max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(got[name], ref, rtol=TOL[dtype]["rtol"], atol=atol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_statistics_over_many_rows_far_from_zero_and_of_a_constant_channel(dtype, compiled_calls):
    """Partial sums in the input's dtype over runs of rows, float64 over the runs: the statistics stay
    those of float64 arithmetic for a batch of more than ROWS images whose mean is far larger than
    its spread, and a constant channel has a variance of exactly 0."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    x = (1e3 + 0.01 * rng.standard_normal((150, 3, 6, 7))).astype(dtype)
    x[:, 2] = dtype(3.3)  # a constant channel whose mean cannot be held exactly in binary
    stats = {}
    prev = backend.set_numba_enabled(True)
    try:
        BatchNorm2d.apply(ngrad.tensor(x, dtype=dtype), eps=1e-5, stats=stats)
    finally:
        backend.set_numba_enabled(prev)
    assert compiled_calls["forward"] == 1
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(stats["mean"], x64.mean(axis=(0, 2, 3)), rtol=1e-7 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(stats["var"][:2], x64.var(axis=(0, 2, 3))[:2],
                               rtol=1e-4 if dtype == np.float32 else 1e-9)
    assert stats["var"][2] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_stats_and_saved_state_match(dtype, compiled_calls):
    """The ``stats`` dict and the context keep the NumPy path's dtypes and shapes (the layer's running update)."""
    pytest.importorskip("numba")
    x, _, w, b = _data((4, 3, 5, 5), dtype, True)
    results = []
    for compiled in (True, False):
        prev = backend.set_numba_enabled(compiled)
        try:
            stats = {}
            BatchNorm2d.apply(ngrad.tensor(x, dtype=dtype), ngrad.tensor(w, dtype=dtype), ngrad.tensor(b, dtype=dtype),
                              eps=1e-3, stats=stats)
            results.append(stats)
        finally:
            backend.set_numba_enabled(prev)
    assert compiled_calls["forward"] == 1
    got, want = results
    assert got["count"] == want["count"] == 4 * 5 * 5
    for name in ("mean", "var"):
        assert type(got[name]) is np.ndarray and got[name].dtype == want[name].dtype == dtype
        assert got[name].shape == want[name].shape == (3,)
        np.testing.assert_allclose(got[name], want[name], rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"])
    np.testing.assert_allclose(got["mean"], x.mean(axis=(0, 2, 3)), rtol=1e-6 if dtype == np.float32 else 1e-13)
    np.testing.assert_allclose(got["var"], x.astype(np.float64).var(axis=(0, 2, 3)),
                               rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
def test_compiled_path_gradcheck(affine, compiled_calls):
    pytest.importorskip("numba")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 4, 3)) * 2 + 1
    params = []
    if affine:
        w = ngrad.tensor(rng.standard_normal(2) + 1, dtype=ngrad.float64, requires_grad=True)
        b = ngrad.tensor(rng.standard_normal(2), dtype=ngrad.float64, requires_grad=True)
        params = [w, b]

    def fn(t):
        return batch_norm2d(t, weight=params[0] if affine else None, bias=params[1] if affine else None,
                            training=True)

    prev = backend.set_numba_enabled(True)
    try:
        result = ngrad.gradcheck(fn, x, params=params)
    finally:
        backend.set_numba_enabled(prev)
    assert result.passed, str(result)
    assert compiled_calls["forward"] > 0 and compiled_calls["backward"] == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_input_gives_nan_in_its_channel_only(dtype, compiled_calls):
    pytest.importorskip("numba")
    x, g, w, b = _data((4, 3, 5, 5), dtype, True)
    x[1, 1, 2, 3] = np.nan
    got = _bn_fwd_bwd(x, g, w, b, True)
    want = _bn_fwd_bwd(x, g, w, b, False)
    assert compiled_calls == {"forward": 1, "backward": 1}
    assert np.isnan(got["y"][:, 1]).all() and np.isnan(got["gx"][:, 1]).all()
    assert np.isnan(got["running_mean"][1]) and np.isnan(got["gw"][1])
    assert not np.isnan(got["y"][:, [0, 2]]).any() and not np.isnan(got["gx"][:, [0, 2]]).any()
    for name, ref in want.items():
        np.testing.assert_allclose(got[name], ref, rtol=1e-5, atol=1e-5, equal_nan=True, err_msg=name)


def test_only_the_parameter_gradients(compiled_calls):
    """An input that needs no gradient: the kernel skips gx, gw and gb still match."""
    pytest.importorskip("numba")
    x, g, w, b = _data((4, 3, 5, 5), np.float64, True)
    grads = []
    for compiled in (True, False):
        prev = backend.set_numba_enabled(compiled)
        try:
            wt = ngrad.tensor(w, dtype=ngrad.float64, requires_grad=True)
            bt = ngrad.tensor(b, dtype=ngrad.float64, requires_grad=True)
            batch_norm2d(ngrad.tensor(x, dtype=ngrad.float64), weight=wt, bias=bt, training=True).backward(
                ngrad.tensor(g, dtype=ngrad.float64))
            grads.append((wt.grad.numpy(), bt.grad.numpy()))
        finally:
            backend.set_numba_enabled(prev)
    assert compiled_calls == {"forward": 1, "backward": 1}
    for a, ref in zip(grads[0], grads[1]):
        np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-13)


def test_kernels_only_take_arrays_they_can_loop_over():
    pytest.importorskip("numba")
    if not backend.numba_enabled():
        pytest.skip("compiled kernels switched off (NGRAD_NUMBA=0)")
    x = np.zeros((2, 3, 4, 4), np.float32)
    w = np.ones(3, np.float32)
    assert _bn_kernels(False, x) is not None
    assert _bn_kernels(False, x, w, None) is not None
    assert _bn_kernels(False, x.astype(np.float64), w.astype(np.float64)) is not None
    assert _bn_kernels(True, x) is None  # channels_last
    assert _bn_kernels(False, x.transpose(0, 1, 3, 2)) is None  # not C-contiguous
    assert _bn_kernels(False, x[:, :, ::2]) is None
    assert _bn_kernels(False, x.astype(np.float16)) is None
    assert _bn_kernels(False, x.astype(np.int64)) is None
    assert _bn_kernels(False, x, w.astype(np.float64)) is None  # mixed dtypes
    assert _bn_kernels(False, x, w, np.ones(6, np.float32)[::2]) is None  # strided bias
    assert _bn_kernels(False, x, ngrad.tensor(w)) is None  # not a plain ndarray
    prev = backend.set_numba_enabled(False)
    try:
        assert _bn_kernels(False, x) is None
    finally:
        backend.set_numba_enabled(prev)


def test_other_layouts_and_dtypes_take_the_numpy_path(compiled_calls):
    """channels_last, a non-contiguous input, mixed dtypes and a broadcast gradient run the NumPy code (same values)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 5, 5, 3))
    t = ngrad.tensor(x, dtype=ngrad.float64, requires_grad=True)
    y = batch_norm2d(t, training=True, data_format="channels_last")  # NHWC
    y.sum().backward()  # the gradient arrives broadcast from a scalar
    nchw = ngrad.tensor(x.transpose(0, 3, 1, 2), dtype=ngrad.float64)  # a transposed view, not C-contiguous
    assert not nchw.data.flags.c_contiguous
    y2 = batch_norm2d(nchw, training=True)
    w64 = ngrad.tensor(np.ones(3), dtype=ngrad.float64)
    batch_norm2d(ngrad.tensor(x.transpose(0, 3, 1, 2).copy(), dtype=ngrad.float32), weight=w64, training=True)
    assert compiled_calls == {"forward": 0, "backward": 0}
    np.testing.assert_allclose(y2.numpy(), y.numpy().transpose(0, 3, 1, 2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), 0.0, atol=1e-12)  # sum(y) does not depend on x
