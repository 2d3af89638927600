"""BatchNorm2d followed by ReLU as one op: the values and gradients of the two ops bit for bit,
on the compiled and the NumPy path, and where Sequential and the ResNet blocks use it."""
import numpy as np
import pytest

import ngrad
from ngrad import backend, nn
from ngrad.models import BasicBlock, IdentityBlock
from ngrad.nn.layers.normalization_conv import batch_norm_relu
from ngrad.ops import batchnorm2d as bn2d
from ngrad.ops.activation import relu
from ngrad.ops.batchnorm2d import batch_norm2d
from kernel_switch import with_kernels  # tests/unit is on sys.path


def _t(a, requires_grad=False):
    """A tensor of a's own dtype (``ngrad.tensor`` alone makes float64 data float32)."""
    return ngrad.tensor(a, dtype=a.dtype, requires_grad=requires_grad)


def _run(x, g, w, b, fused, data_format="channels_first", training=True, stats=None):
    """-> [y, gx] (+ [gw, gb] with affine parameters) of relu(batch_norm2d(x)), fused or not."""
    t = _t(x, True)
    wt = None if w is None else _t(w, True)
    bt = None if b is None else _t(b, True)
    rm, rv = stats if stats is not None else (None, None)
    rm = None if rm is None else _t(rm.copy())
    rv = None if rv is None else _t(rv.copy())
    kw = dict(training=training, data_format=data_format)
    if fused:
        y = batch_norm2d(t, rm, rv, wt, bt, activation="relu", **kw)
    else:
        y = relu(batch_norm2d(t, rm, rv, wt, bt, **kw))
    y.backward(_t(g))
    out = [y.numpy(), t.grad.numpy()]
    assert all(a.dtype == x.dtype for a in out)
    if w is not None:
        out += [wt.grad.numpy(), bt.grad.numpy()]
    if rm is not None:
        out += [rm.numpy(), rv.numpy()]
    return out


def _data(shape, dtype, affine, seed=0, channels_last=False):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[1]
    w = (rng.standard_normal(c) + 1).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    if channels_last:
        x, g = x.transpose(0, 2, 3, 1).copy(), g.transpose(0, 2, 3, 1).copy()
    return x, g, w, b


def _assert_same_bits(got, want):
    assert len(got) == len(want)
    for a, ref in zip(got, want):
        assert a.dtype == ref.dtype and a.shape == ref.shape
        np.testing.assert_array_equal(a, ref)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_is_relu_of_batch_norm_bit_for_bit(dtype, affine, channels_last, compiled):
    x, g, w, b = _data((8, 3, 5, 6), dtype, affine, channels_last=channels_last)
    fmt = "channels_last" if channels_last else "channels_first"
    stats = (np.full(3, 0.5, dtype), np.full(3, 2.0, dtype))
    got = with_kernels(compiled, lambda: _run(x, g, w, b, True, fmt, stats=stats))
    want = with_kernels(compiled, lambda: _run(x, g, w, b, False, fmt, stats=stats))
    _assert_same_bits(got, want)
    assert (got[0] >= 0).all() and (got[0] == 0).any() and (got[1] != 0).any()


def test_the_compiled_kernels_run_fused(monkeypatch):
    pytest.importorskip("numba")
    if not backend.numba_enabled():
        pytest.skip("compiled kernels switched off (NGRAD_NUMBA=0)")
    calls = []
    fwd, bwd = bn2d._forward_compiled, bn2d._backward_compiled
    monkeypatch.setattr(bn2d, "_forward_compiled", lambda *a: calls.append("forward") or fwd(*a))
    monkeypatch.setattr(bn2d, "_backward_compiled", lambda *a: calls.append("backward") or bwd(*a))
    x, g, w, b = _data((4, 3, 4, 4), np.float32, True)
    _run(x, g, w, b, True)
    assert calls == ["forward", "backward"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_and_compiled_fused_paths_agree(dtype):
    pytest.importorskip("numba")
    x, g, w, b = _data((6, 4, 7, 5), dtype, True, seed=2)
    got = with_kernels(True, lambda: _run(x, g, w, b, True))
    want = with_kernels(False, lambda: _run(x, g, w, b, True))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for a, ref in zip(got, want):
        np.testing.assert_allclose(a, ref, **tol)


def test_kernels_switched_off_between_forward_and_backward():
    """A compiled forward whose backward runs in NumPy recomputes the ReLU's mask from the input."""
    pytest.importorskip("numba")
    x, g, w, b = _data((4, 3, 5, 5), np.float64, True, seed=4)
    want = with_kernels(True, lambda: _run(x, g, w, b, False))
    prev = backend.set_numba_enabled(True)
    try:
        t, wt, bt = (_t(a, True) for a in (x, w, b))
        y = batch_norm2d(t, weight=wt, bias=bt, training=True, activation="relu")
        backend.set_numba_enabled(False)
        y.backward(_t(g))
    finally:
        backend.set_numba_enabled(prev)
    for a, ref in zip([y.numpy(), t.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()], want):
        np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-12)


def test_a_strided_gradient_reaches_the_fused_backward():
    """The gradient arrives as a non-contiguous view (from a transpose): same numbers as unfused."""
    x, g, w, b = _data((4, 3, 5, 5), np.float64, True, seed=6)
    results = []
    for fused in (True, False):
        t = _t(x, True)
        y = batch_norm2d(t, weight=_t(w), bias=_t(b), training=True, activation="relu" if fused else None)
        y = y if fused else relu(y)
        (y.transpose(0, 1, 3, 2) * _t(g)).sum().backward()
        results.append([y.numpy(), t.grad.numpy()])
    _assert_same_bits(*results)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_fused_gradcheck(compiled):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 4, 3)) * 2 + 0.3
    w = ngrad.tensor(rng.standard_normal(2) + 1, dtype=ngrad.float64, requires_grad=True)
    b = ngrad.tensor(rng.uniform(0.1, 0.5, 2), dtype=ngrad.float64, requires_grad=True)

    def fn(t):
        return batch_norm2d(t, weight=w, bias=b, training=True, activation="relu")

    result = with_kernels(compiled, lambda: ngrad.gradcheck(fn, x, params=[w, b]))
    assert result.passed, str(result)


def test_nan_propagates_as_the_relu_op():
    x, g, w, b = _data((4, 3, 5, 5), np.float32, True)
    x[1, 1, 2, 3] = np.nan
    for compiled in (True, False):
        got = with_kernels(compiled, lambda: _run(x, g, w, b, True))
        want = with_kernels(compiled, lambda: _run(x, g, w, b, False))
        for a, ref in zip(got, want):
            np.testing.assert_array_equal(a, ref)  # NaN positions equal too
        assert np.isnan(got[0][:, 1]).all() and not np.isnan(got[0][:, [0, 2]]).any()


def test_eval_mode_is_the_composition():
    x, g, w, b = _data((4, 3, 5, 5), np.float32, True)
    stats = (np.array([0.1, -0.2, 0.3], np.float32), np.array([1.5, 0.5, 2.0], np.float32))
    got = _run(x, g, w, b, True, training=False, stats=stats)
    want = _run(x, g, w, b, False, training=False, stats=stats)
    _assert_same_bits(got, want)


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match=r"batch_norm2d: activation must be None or 'relu', got 'tanh'"):
        batch_norm2d(ngrad.randn(2, 3, 4, 4), training=True, activation="tanh")


# ------------------------------------------------------------------ layers
def _sequential_pair(seed=0):
    ngrad.manual_seed(seed)
    return nn.Sequential(nn.Conv2D(3, 4, 3, padding="same", bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2D(4, 2, 1))


def _train_outputs(model, x):
    model.zero_grad()
    xt = ngrad.tensor(x, requires_grad=True)
    y = model(xt)
    (y * y).sum().backward()
    return [y.numpy(), xt.grad.numpy(), model[1].running_mean.numpy().copy()] + \
        [p.grad.numpy() for p in model.parameters()]


def test_sequential_fuses_batch_norm_and_relu(monkeypatch):
    x = np.random.default_rng(1).standard_normal((4, 3, 6, 6)).astype(np.float32)
    seen = []
    real = bn2d.BatchNorm2d.apply

    def spy(*args, **kwargs):
        seen.append(kwargs.get("relu"))
        return real(*args, **kwargs)

    monkeypatch.setattr(bn2d.BatchNorm2d, "apply", spy)
    fused = _train_outputs(_sequential_pair(), x)
    assert seen == [True]
    unfused_model = _sequential_pair()
    handle = unfused_model[2].register_forward_hook(lambda m, args, out: None)  # a hook keeps the layers apart
    unfused = _train_outputs(unfused_model, x)
    handle.remove()
    assert seen == [True, False]
    _assert_same_bits(fused, unfused)


def test_a_hook_on_the_batch_norm_sees_its_own_output():
    model = _sequential_pair()
    outputs = []
    model[1].register_forward_hook(lambda m, args, out: outputs.append(out.numpy()))
    model(ngrad.randn(2, 3, 5, 5))
    assert (outputs[0] < 0).any()  # before the ReLU


def test_batch_norm_relu_helper_matches_the_two_calls():
    ngrad.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    x = ngrad.randn(4, 3, 5, 5)
    np.testing.assert_array_equal(batch_norm_relu(bn, x).numpy(), relu(bn(x)).numpy())


@pytest.mark.parametrize("make,shape", [
    (lambda: BasicBlock(3, 3), (2, 3, 6, 6)),
    (lambda: IdentityBlock(3, 2, [2, 2, 3]), (2, 3, 5, 5)),
])
def test_resnet_blocks_match_their_unfused_layers(make, shape, monkeypatch):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    results = []
    for fuse in (True, False):
        ngrad.manual_seed(5)
        block = make()
        if not fuse:  # every BatchNorm2d called plainly, the ReLU applied after it
            monkeypatch.setattr(nn.BatchNorm2d, "forward", _unfused_forward)
        xt = ngrad.tensor(x, requires_grad=True)
        y = block(xt)
        (y * y).sum().backward()
        results.append([y.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in block.parameters()])
    _assert_same_bits(*results)


_plain_forward = nn.BatchNorm2d.forward


def _unfused_forward(self, x, activation=None):
    y = _plain_forward(self, x)
    return relu(y) if activation == "relu" else y
