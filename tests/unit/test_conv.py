"""Convolution family: im2col/col2im adjointness, the loop reference as a second
oracle (forward and backward), Keras 'same' sizes, groups, dilation, the
transposed convolution as conv2d's adjoint, pooling, layouts and errors."""
import numpy as np
import pytest

import ngrad
from ngrad.ops import conv_utils
from ngrad.ops.conv import conv2d, conv_transpose2d, hwio_to_oihw, oihw_to_hwio, to_nchw, to_nhwc
from ngrad.ops.conv_utils import col2im, conv_geometry, im2col, same_padding
from ngrad.ops.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from ngrad.ops.upsample import upsample2d, zero_pad2d

import conv_reference as ref  # tests/unit is on sys.path (rootdir-relative test modules)


def T(a, grad=True):
    return ngrad.tensor(a, dtype=ngrad.float64, requires_grad=grad)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------------ im2col / col2im
@pytest.mark.parametrize("kernel,stride,padding,dilation", [
    (3, 1, "valid", 1), (3, 1, "same", 1), (3, 2, "same", 1), (2, 2, "same", 1), (4, 1, "same", 1),
    (3, 2, 1, 2), ((2, 3), (1, 2), ((1, 0), (2, 1)), (2, 1)), (1, 3, 0, 1), (5, 3, 2, 1),
])
@pytest.mark.parametrize("batch_major", [False, True])
def test_col2im_is_the_adjoint_of_im2col(rng, kernel, stride, padding, dilation, batch_major):
    x = rng.standard_normal((2, 3, 7, 8))
    g = conv_geometry("test", (7, 8), kernel, stride, padding, dilation)
    cols = im2col(x, g, batch_major)
    k, p = 3 * g.kh * g.kw, g.ho * g.wo
    assert cols.shape == ((2, k, p) if batch_major else (k, 2 * p))
    c = rng.standard_normal(cols.shape)
    back = col2im(c, g, 2, 3, batch_major)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-12)


def test_im2col_layout(rng):
    """cols[(c, i, j), (n, oh, ow)] = xpad[n, c, oh*s + i*d, ow*s + j*d]."""
    x = rng.standard_normal((2, 2, 5, 6))
    g = conv_geometry("test", (5, 6), (2, 3), 2, 1, 1)
    cols = im2col(x, g).reshape(2, 2, 3, 2, g.ho, g.wo)
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert cols[1, 1, 2, 0, 1, 2] == xpad[0, 1, 1 * 2 + 1, 2 * 2 + 2]
    per_image = im2col(x, g, batch_major=True).reshape(2, 2, 2, 3, g.ho, g.wo)
    assert per_image[0, 1, 1, 2, 1, 2] == xpad[0, 1, 1 * 2 + 1, 2 * 2 + 2]


# ------------------------------------------------------------------ conv2d vs the loop reference
CONV_CASES = [  # (N, C, H, W, F, k, stride, padding, dilation, groups)
    (2, 3, 7, 6, 4, 3, 1, 1, 1, 1),
    (2, 3, 8, 8, 5, 4, 1, "same", 1, 1),  # even kernel: the extra row/column at the bottom/right
    (2, 4, 9, 8, 6, 3, 2, "same", 1, 2),
    (1, 4, 8, 8, 4, 3, 1, "same", 2, 4),  # depthwise, dilated
    (1, 3, 8, 7, 6, 3, 2, 1, 1, 3),  # depthwise with channel multiplier 2
    (2, 3, 5, 5, 4, 1, 2, 0, 1, 1),  # 1x1 strided: the GEMM fast path
    (2, 3, 5, 6, 4, 1, 1, 0, 1, 1),
    (1, 2, 6, 6, 3, 4, 3, ((1, 2), (0, 1)), 1, 1),
    (2, 1, 9, 9, 2, (2, 3), (2, 1), "valid", (2, 1), 1),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_matches_loop_reference(rng, case):
    n, c, h, w, f, k, s, p, d, groups = case
    kh, kw = (k, k) if isinstance(k, int) else k
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c // groups, kh, kw)), rng.standard_normal(f)
    X, W, B = T(x), T(wt), T(b)
    y = conv2d(X, W, B, stride=s, padding=p, dilation=d, groups=groups)
    g = conv_geometry("conv2d", (h, w), k, s, p, d)
    expected = ref.conv2d(x, wt, b, (g.sh, g.sw), g.pads, (g.dh, g.dw), groups)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-12)
    gy = rng.standard_normal(expected.shape)
    y.backward(gy)
    dx, dw, db = ref.conv2d_backward(x, wt, gy, (g.sh, g.sw), g.pads, (g.dh, g.dw), groups)
    np.testing.assert_allclose(X.grad.numpy(), dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(W.grad.numpy(), dw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(B.grad.numpy(), db, rtol=1e-10, atol=1e-12)


def test_conv2d_without_bias_and_input_grad_only(rng):
    x, wt = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    X = T(x)
    y = conv2d(X, T(wt, grad=False), padding="same")
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    dx, _, _ = ref.conv2d_backward(x, wt, gy, (1, 1), ((1, 1), (1, 1)))
    np.testing.assert_allclose(X.grad.numpy(), dx, rtol=1e-10, atol=1e-12)


def test_chunking_does_not_change_results(rng, monkeypatch):
    x, wt, b = rng.standard_normal((5, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    gy = rng.standard_normal((5, 4, 5, 5))

    def run():
        X, W, B = T(x), T(wt), T(b)
        y = conv2d(X, W, B, stride=2, padding="same")
        y.backward(gy)
        return y.numpy(), X.grad.numpy(), W.grad.numpy()

    whole = run()
    monkeypatch.setattr(conv_utils, "CHUNK_BYTES", 1)  # one image per chunk
    for a, b_ in zip(whole, run()):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(conv_utils, "WORKSPACE_MAX_BYTES", 0)  # fresh scratch arrays every time
    monkeypatch.setattr(conv_utils, "BATCH_MAJOR_MIN", 1)  # and one GEMM per image
    for a, b_ in zip(whole, run()):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32(rng):
    x = ngrad.tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = ngrad.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    y = max_pool2d(conv2d(x, w, padding="same"), 2)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32


# ------------------------------------------------------------------ 'same' as Keras
@pytest.mark.parametrize("size,k,s,d,expected", [
    # (input, kernel, stride, dilation) -> (output, pad top, pad bottom), as TensorFlow computes them
    (64, 4, 1, 1, (64, 1, 2)), (64, 2, 1, 1, (64, 0, 1)), (5, 3, 1, 1, (5, 1, 1)), (5, 3, 2, 1, (3, 1, 1)),
    (6, 3, 2, 1, (3, 0, 1)), (7, 2, 2, 1, (4, 0, 1)), (6, 1, 2, 1, (3, 0, 0)), (8, 5, 3, 1, (3, 1, 2)),
    (8, 4, 2, 1, (4, 1, 1)), (7, 4, 2, 1, (4, 1, 2)), (10, 3, 1, 2, (10, 2, 2)), (9, 2, 1, 3, (9, 1, 2)),
])
def test_same_padding_matches_keras(size, k, s, d, expected):
    out, top, bottom = expected
    assert same_padding(size, k, s, d) == (top, bottom)
    y = conv2d(ngrad.zeros(1, 1, size, size + 1), ngrad.zeros(2, 1, k, k), stride=s, padding="same", dilation=d)
    assert y.shape == (1, 2, out, -(-(size + 1) // s))


@pytest.mark.parametrize("size,k,s", [(5, 2, 2), (6, 3, 2), (7, 3, 3), (8, 8, 8), (4, 3, 1)])
def test_pool_same_and_valid_sizes(size, k, s):
    x = ngrad.zeros(1, 1, size, size)
    assert max_pool2d(x, k, s, "same").shape[2:] == (-(-size // s),) * 2
    assert avg_pool2d(x, k, s, "same").shape[2:] == (-(-size // s),) * 2
    assert max_pool2d(x, k, s).shape[2:] == ((size - k) // s + 1,) * 2


# ------------------------------------------------------------------ groups and dilation
def test_depthwise_is_a_convolution_per_channel(rng):
    x, wt = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((3, 1, 3, 3))
    y = conv2d(T(x), T(wt), padding=1, groups=3).numpy()
    for ch in range(3):
        one = conv2d(T(x[:, ch:ch + 1]), T(wt[ch:ch + 1]), padding=1).numpy()
        np.testing.assert_allclose(y[:, ch:ch + 1], one, rtol=1e-12)


def test_groups_are_independent_convolutions(rng):
    x, wt = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((6, 2, 3, 3))
    y = conv2d(T(x), T(wt), groups=2).numpy()
    np.testing.assert_allclose(y[:, :3], conv2d(T(x[:, :2]), T(wt[:3])).numpy(), rtol=1e-12)
    np.testing.assert_allclose(y[:, 3:], conv2d(T(x[:, 2:]), T(wt[3:])).numpy(), rtol=1e-12)


def test_dilation_equals_a_zero_stuffed_kernel(rng):
    x, wt = rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((3, 2, 3, 3))
    stuffed = np.zeros((3, 2, 5, 5))
    stuffed[:, :, ::2, ::2] = wt
    np.testing.assert_allclose(conv2d(T(x), T(wt), dilation=2).numpy(), conv2d(T(x), T(stuffed)).numpy(),
                               rtol=1e-12)


# ------------------------------------------------------------------ conv_transpose2d
TRANSPOSE_CASES = [  # (N, Cin, H, W, Cout, k, stride, padding, output_padding, dilation, groups)
    (2, 3, 4, 5, 4, 3, 2, 1, 1, 1, 1), (1, 4, 3, 3, 6, 2, 2, 0, 0, 1, 2), (2, 2, 4, 4, 3, 3, 1, 1, 0, 2, 1),
    (1, 2, 3, 4, 2, 1, 3, 0, 2, 1, 1), (1, 2, 3, 3, 2, 4, 2, 1, 0, 1, 1),
    (1, 2, 4, 3, 3, 2, 1, 1, 1, 2, 1), (1, 2, 4, 3, 3, 3, 1, 0, 1, 2, 1),  # output padding from dilation
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=str)
def test_conv_transpose2d_matches_scatter_reference(rng, case):
    n, ci, h, w, co, k, s, p, op, d, groups = case
    x, wt, b = rng.standard_normal((n, ci, h, w)), rng.standard_normal((ci, co // groups, k, k)), rng.standard_normal(co)
    y = conv_transpose2d(T(x), T(wt), T(b), stride=s, padding=p, output_padding=op, dilation=d, groups=groups)
    expected = ref.conv_transpose2d(x, wt, b, (s, s), (p, p), (op, op), (d, d), groups)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=str)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(rng, case):
    """<conv2d(u, w), v> == <u, conv_transpose2d(v, w)>, and the gradients agree with it."""
    n, ci, h, w, co, k, s, p, op, d, groups = case
    wt = rng.standard_normal((ci, co // groups, k, k))
    v = rng.standard_normal((n, ci, h, w))
    V, W = T(v), T(wt)
    tv = conv_transpose2d(V, W, stride=s, padding=p, output_padding=op, dilation=d, groups=groups)
    u = rng.standard_normal(tv.shape)
    cu = conv2d(T(u), T(wt), stride=s, padding=p, dilation=d, groups=groups)
    if s == 1 and op:  # output padding from dilation: the adjoint of the conv's first (H, W) outputs
        cu = cu[:, :, :h, :w]
    assert cu.shape == v.shape
    np.testing.assert_allclose(np.vdot(cu.numpy(), v), np.vdot(u, tv.numpy()), rtol=1e-11)
    (tv * T(u, grad=False)).sum().backward()  # d<u, T(v)>/dv = conv2d(u)
    np.testing.assert_allclose(V.grad.numpy(), cu.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose2d_same_doubles_the_size():
    y = conv_transpose2d(ngrad.zeros(1, 2, 5, 3), ngrad.zeros(2, 4, 3, 3), stride=2, padding="same")
    assert y.shape == (1, 4, 10, 6)


# ------------------------------------------------------------------ pooling
POOL_CASES = [(2, 2, "valid"), (3, 2, 1), (3, 1, "same"), (2, 2, "same"), (3, 3, 0), ((2, 3), (1, 2), "valid"),
              (4, 4, "valid"), (3, 2, "same")]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("k,s,p", POOL_CASES, ids=str)
def test_pooling_matches_loop_reference(rng, mode, k, s, p):
    x = rng.standard_normal((2, 3, 7, 9))
    X = T(x)
    fn = max_pool2d if mode == "max" else avg_pool2d
    y = fn(X, k, s, p)
    g = conv_geometry("pool", (7, 9), k, s, p)
    expected, backward = ref.pool2d(x, (g.kh, g.kw), (g.sh, g.sw), g.pads, mode, count_include_pad=p != "same")
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-14)
    gy = rng.standard_normal(expected.shape)
    y.backward(gy)
    np.testing.assert_allclose(X.grad.numpy(), backward(gy), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("k,s", [(2, 2), (3, 1), (8, 8), (5, 5)])
def test_max_pool_ties_send_the_gradient_to_one_element(k, s):
    x = np.zeros((1, 2, 16, 17))  # every window tied
    x[0, 1, 3, 4] = x[0, 1, 5, 1] = 1.0  # and a tie of two maxima inside a zero window
    X = T(x)
    y = max_pool2d(X, k, s)
    gy = np.ones(y.shape)
    y.backward(gy)
    _, backward = ref.pool2d(x, (k, k), (s, s))
    np.testing.assert_array_equal(X.grad.numpy(), backward(gy))
    assert X.grad.numpy().sum() == gy.sum()


def test_avg_pool_count_include_pad():
    x = T(np.ones((1, 1, 4, 4)))
    assert avg_pool2d(x, 3, 1, 1).numpy()[0, 0, 0, 0] == pytest.approx(4 / 9)
    assert avg_pool2d(x, 3, 1, 1, count_include_pad=False).numpy()[0, 0, 0, 0] == pytest.approx(1.0)
    assert avg_pool2d(x, 3, 1, "same").numpy()[0, 0, 0, 0] == pytest.approx(1.0)  # Keras


def test_global_avg_pool(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    X = T(x)
    y = global_avg_pool2d(X)
    np.testing.assert_allclose(y.numpy(), x.mean(axis=(2, 3)))
    y.backward(np.ones((2, 3)))
    np.testing.assert_allclose(X.grad.numpy(), np.full(x.shape, 1 / 20))
    assert global_avg_pool2d(X, keepdims=True).shape == (2, 3, 1, 1)
    assert global_avg_pool2d(T(x.transpose(0, 2, 3, 1)), keepdims=True, data_format="channels_last").shape == (2, 1, 1, 3)


# ------------------------------------------------------------------ padding and upsampling
def test_zero_pad2d(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    X = T(x)
    y = zero_pad2d(X, ((1, 2), (0, 3)))
    np.testing.assert_array_equal(y.numpy(), np.pad(x, ((0, 0), (0, 0), (1, 2), (0, 3))))
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(X.grad.numpy(), np.ones(x.shape))
    assert zero_pad2d(X, 2).shape == (2, 3, 8, 9)
    assert zero_pad2d(X, (1, 0)).shape == (2, 3, 6, 5)


def test_upsample2d(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    X = T(x)
    y = upsample2d(X, (2, 3))
    np.testing.assert_array_equal(y.numpy(), x.repeat(2, axis=2).repeat(3, axis=3))
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    np.testing.assert_allclose(X.grad.numpy(), gy.reshape(2, 3, 4, 2, 5, 3).sum(axis=(3, 5)), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="upsample2d"):
        upsample2d(X, 2, mode="bilinear")


# ------------------------------------------------------------------ layouts
def test_channels_last_equals_channels_first(rng):
    x, wt, b = rng.standard_normal((2, 6, 7, 3)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    X = T(x)
    y = conv2d(X, T(wt), T(b), padding="same", data_format="channels_last")
    y_first = conv2d(T(x.transpose(0, 3, 1, 2)), T(wt), T(b), padding="same")
    np.testing.assert_allclose(y.numpy(), y_first.numpy().transpose(0, 2, 3, 1), rtol=1e-12)
    p = max_pool2d(y, 2, data_format="channels_last")
    assert p.shape == (2, 3, 3, 4)
    p.sum().backward()
    assert X.grad.shape == x.shape


def test_layout_helpers(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    assert to_nhwc(T(x)).shape == (2, 4, 5, 3)
    np.testing.assert_array_equal(to_nchw(to_nhwc(T(x))).numpy(), x)
    w = rng.standard_normal((8, 3, 2, 4))  # (out, in, kh, kw)
    assert oihw_to_hwio(T(w)).shape == (2, 4, 3, 8)
    np.testing.assert_array_equal(hwio_to_oihw(oihw_to_hwio(T(w))).numpy(), w)


# ------------------------------------------------------------------ errors
def test_channel_mismatch_names_op_and_both_counts():
    with pytest.raises(ngrad.ShapeError, match=r"conv2d: input has 3 channels.*expects 4"):
        conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(5, 4, 3, 3))
    with pytest.raises(ngrad.ShapeError, match=r"conv2d: input has 3 channels.*expects 6 \(groups=3\)"):
        conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(6, 2, 3, 3), groups=3)
    with pytest.raises(ngrad.ShapeError, match=r"conv_transpose2d: input has 2 channels.*expects 3"):
        conv_transpose2d(ngrad.zeros(1, 2, 4, 4), ngrad.zeros(3, 2, 3, 3))


@pytest.mark.parametrize("call,pattern", [
    (lambda: conv2d(ngrad.zeros(3, 8, 8), ngrad.zeros(2, 3, 3, 3)), r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (lambda: conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(2, 3, 3)), r"conv2d: expected a 4-D weight"),
    (lambda: conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(2, 3, 3, 3), ngrad.zeros(3)), r"conv2d: bias must have shape \(2,\)"),
    (lambda: conv2d(ngrad.zeros(1, 3, 4, 4), ngrad.zeros(2, 3, 5, 5)), r"conv2d: input of spatial size \(4, 4\).*smaller than the kernel \(5, 5\)"),
    (lambda: conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(4, 1, 3, 3), groups=2), r"conv2d: input channels 3 are not divisible by groups=2"),
    (lambda: conv2d(ngrad.zeros(1, 4, 8, 8), ngrad.zeros(3, 2, 3, 3), groups=2), r"conv2d: output channels 3"),
    (lambda: conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(2, 3, 3, 3), padding="full"), r"conv2d: padding must be"),
    (lambda: conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(2, 3, 3, 3), stride=0), r"conv2d: stride must be positive"),
    (lambda: conv2d(ngrad.zeros(1, 8, 8, 3), ngrad.zeros(2, 4, 3, 3), data_format="channels_last"), r"conv2d: input has 3 channels"),
    (lambda: max_pool2d(ngrad.zeros(1, 1, 2, 2), 3), r"max_pool2d: input of spatial size \(2, 2\)"),
    (lambda: max_pool2d(ngrad.zeros(1, 1, 8, 8), 2, padding=2), r"max_pool2d: padding 2 must be at most half"),
    (lambda: avg_pool2d(ngrad.zeros(1, 8, 8), 2), r"avg_pool2d: expected a 4-D input"),
    (lambda: conv_transpose2d(ngrad.zeros(1, 2, 4, 4), ngrad.zeros(2, 2, 3, 3), stride=2, output_padding=2), r"conv_transpose2d: output_padding"),
])
def test_errors_name_the_op_and_the_shapes(call, pattern):
    with pytest.raises(ngrad.ShapeError, match=pattern):
        call()


def test_bad_data_format():
    with pytest.raises(ValueError, match="conv2d: data_format"):
        conv2d(ngrad.zeros(1, 3, 8, 8), ngrad.zeros(2, 3, 3, 3), data_format="NWHC")


# ------------------------------------------------------------------ fused conv + ReLU + max pool (NumPy and Numba)
@pytest.fixture(params=["numpy", "numba"])
def fused_path(request, monkeypatch):
    """Run a test on both paths of conv2d_relu_max_pool2d (the Numba one only where Numba is installed)."""
    from ngrad.ops import conv as conv_mod

    if request.param == "numba":
        pytest.importorskip("numba")
        monkeypatch.setattr(conv_mod, "FUSE_MIN_POOL", 1)  # every pool through the kernel
    prev = conv_mod.set_numba_enabled(request.param == "numba")
    yield request.param
    conv_mod.set_numba_enabled(prev)


FUSED_CASES = [  # (N, C, H, W, F, k, stride, padding, dilation, pool)
    (2, 3, 16, 16, 4, 4, 1, "same", 1, 8), (2, 2, 9, 11, 3, 3, 1, 1, 1, (2, 3)), (2, 3, 12, 12, 4, 3, 1, 0, 2, 2),
    (2, 2, 13, 12, 3, 3, 2, "same", 1, 2), (1, 2, 11, 10, 3, 2, (1, 2), 0, 1, (3, 2)),
    (2, 3, 10, 9, 5, 3, 1, "same", 1, 2), (1, 2, 9, 8, 6, 2, 1, 1, 1, (1, 4)),  # dense backward (<= 4 per pool)
]


@pytest.mark.parametrize("case", FUSED_CASES, ids=str)
def test_fused_backward_dense_and_sparse_agree(rng, case, monkeypatch):
    """The Numba backward has a dense path (small pools, stride 1) and a sparse one: same gradients."""
    pytest.importorskip("numba")
    from ngrad.ops import _numba_conv
    from ngrad.ops import conv as conv_mod

    monkeypatch.setattr(conv_mod, "FUSE_MIN_POOL", 1)
    n, c, h, w, f, k, s, p, d, pool = case
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, k, k)), rng.standard_normal(f) - 0.5
    grads = []
    for dense_max in (0, 64):  # never dense, dense wherever the stride allows
        monkeypatch.setattr(_numba_conv, "DENSE_MAX_POOL", dense_max)
        X, W, B = (ngrad.tensor(a, dtype=np.float64, requires_grad=True) for a in (x, wt, b))
        prev = conv_mod.set_numba_enabled(True)
        try:
            y = conv_mod.conv2d_relu_max_pool2d(X, W, B, stride=s, padding=p, dilation=d, pool_size=pool)
            assert type(y.grad_fn).__name__ == "Conv2dReluMaxPool2d"
            y.backward(np.ones(y.shape))
        finally:
            conv_mod.set_numba_enabled(prev)
        grads.append([X.grad.numpy(), W.grad.numpy(), B.grad.numpy()])
    for a, b_ in zip(*grads):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", FUSED_CASES, ids=str)
def test_conv2d_relu_max_pool2d_matches_reference(rng, fused_path, case, dtype):
    from ngrad.ops.conv import conv2d_relu_max_pool2d

    n, c, h, w, f, k, s, p, d, pool = case
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, k, k)), rng.standard_normal(f) - 0.5
    X, W, B = (ngrad.tensor(a, dtype=dtype, requires_grad=True) for a in (x, wt, b))
    y = conv2d_relu_max_pool2d(X, W, B, stride=s, padding=p, dilation=d, pool_size=pool)
    assert (type(y.grad_fn).__name__ == "Conv2dReluMaxPool2d") == (fused_path == "numba")
    assert y.dtype == dtype
    g = conv_geometry("conv2d", (h, w), k, s, p, d)
    z = ref.conv2d(x, wt, b, (g.sh, g.sw), g.pads, (g.dh, g.dw))
    pool = (pool, pool) if isinstance(pool, int) else pool
    expected, pool_back = ref.pool2d(np.maximum(z, 0), pool, pool)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(y.numpy(), expected, **tol)
    gy = rng.standard_normal(expected.shape)
    y.backward(gy)
    dz = pool_back(gy) * (z > 0)
    dx, dw, db = ref.conv2d_backward(x, wt, dz, (g.sh, g.sw), g.pads, (g.dh, g.dw))
    for ours, theirs in ((X, dx), (W, dw), (B, db)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs, **tol)


def test_conv2d_relu_max_pool2d_channels_last_and_no_bias(rng, fused_path):
    from ngrad.ops.conv import conv2d_relu_max_pool2d

    x, wt = rng.standard_normal((2, 8, 8, 3)), rng.standard_normal((4, 3, 3, 3))
    y = conv2d_relu_max_pool2d(T(x), T(wt), padding="same", pool_size=4, data_format="channels_last")
    expected = max_pool2d(conv2d(T(x), T(wt), padding="same", data_format="channels_last").relu(), 4,
                          data_format="channels_last")
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-12)
    with pytest.raises(ngrad.ShapeError, match="conv2d"):
        conv2d_relu_max_pool2d(T(x), T(rng.standard_normal((4, 2, 3, 3))), data_format="channels_last")


def test_numba_is_optional_and_never_imported_by_ngrad():
    import subprocess
    import sys

    code = ("import sys, ngrad, ngrad.ops.conv, ngrad.ops.pool, ngrad.ops.upsample; "
            "assert 'numba' not in sys.modules, 'numba imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    env_off = "import os; os.environ['NGRAD_NUMBA'] = '0'; " \
              "from ngrad.ops.conv import numba_enabled; assert not numba_enabled()"
    subprocess.run([sys.executable, "-c", env_off], check=True)


def test_fused_parallel_kernels_match_serial(rng, monkeypatch):
    """The threaded drivers split images (forward, input gradient) and filters (weight gradient)."""
    pytest.importorskip("numba")
    from ngrad.ops import _numba_conv
    from ngrad.ops import conv as conv_mod

    prev = conv_mod.set_numba_enabled(True)
    monkeypatch.setattr(conv_mod, "FUSE_MIN_POOL", 1)
    monkeypatch.setattr(_numba_conv, "PARALLEL", True)
    cases = [(1, (2, 3)), (2, (2, 3)), (1, (2, 2))]  # (stride, pool): sparse, strided, dense backward
    try:
        x, wt, b = rng.standard_normal((5, 2, 12, 12)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
        results = []
        for min_work in (1 << 60, 0):  # serial, then threaded
            monkeypatch.setattr(_numba_conv, "PARALLEL_MIN_WORK", min_work)
            for stride, pool in cases:
                X, W, B = T(x), T(wt), T(b)
                y = conv_mod.conv2d_relu_max_pool2d(X, W, B, stride=stride, padding="same", pool_size=pool)
                assert type(y.grad_fn).__name__ == "Conv2dReluMaxPool2d"
                y.backward(np.ones(y.shape))
                results.append([y.numpy(), X.grad.numpy(), W.grad.numpy(), B.grad.numpy()])
        for serial, threaded in zip(results[:len(cases)], results[len(cases):]):
            for a, b_ in zip(serial, threaded):
                np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)
    finally:
        conv_mod.set_numba_enabled(prev)
