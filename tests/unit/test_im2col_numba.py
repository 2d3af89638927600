"""The compiled im2col/col2im kernels give the NumPy path's numbers bit for bit, for any geometry,
both column layouts and both float dtypes, and only take the arrays they can index."""
import itertools

import numpy as np
import pytest

import ngrad
from ngrad import backend
from ngrad.errors import ShapeError
from ngrad.ops import conv_utils
from ngrad.ops.conv import conv2d, conv_transpose2d
from ngrad.ops.conv_utils import col2im, conv_geometry, im2col, im2col_kernels, pad2d, unfold, window_view
from conv_reference import random_case  # tests/unit is on sys.path
from kernel_switch import with_kernels


def _geometries(count=60, seed=0):
    """(N, C, H, W, geometry) over kernels 1-5, strides 1-3, dilations 1-2 and symmetric,
    asymmetric, 'same', 'valid' and oversized pads (windows wholly in the padding)."""
    rng = np.random.default_rng(seed)
    pads = ["valid", "same", 1, 2, (0, 1), ((1, 0), (2, 1)), ((0, 2), (1, 0)), ((3, 1), (0, 4))]
    found = []
    while len(found) < count:
        n, c = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        h, w = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        kernel = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        try:
            g = conv_geometry("test", (h, w), kernel, stride, pads[len(found) % len(pads)], dilation)
        except ShapeError:  # the (padded) input is smaller than the kernel
            continue
        found.append((n, c, h, w, g))
    return found


GEOMETRIES = _geometries()
RESNET = [(2, c, h, h, conv_geometry("test", (h, h), 3, s, 1)) for c, h, s in [(3, 8, 1), (4, 8, 2), (2, 5, 2)]]
CASES = GEOMETRIES + RESNET


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


def _reference_columns(x, g, batch_major):
    """The NumPy definition: a strided copy of the padded input's window view."""
    view = window_view(pad2d(x, g.pads), g, batch_major)
    n, c = x.shape[:2]
    shape = (n, c * g.kk, g.ho * g.wo) if batch_major else (c * g.kk, n * g.ho * g.wo)
    return np.ascontiguousarray(view).reshape(shape)


@pytest.fixture(autouse=True)
def _numba():
    pytest.importorskip("numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_major", [False, True])
def test_compiled_unfold_is_the_numpy_copy(dtype, batch_major):
    rng = np.random.default_rng(1)
    for n, c, h, w, g in CASES:
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        assert with_kernels(True, im2col_kernels, x) is not None  # the compiled path really runs
        want = with_kernels(False, im2col, x, g, batch_major)
        _same_bits(want, _reference_columns(x, g, batch_major))
        _same_bits(with_kernels(True, im2col, x, g, batch_major), want)
        # an already padded input (what the NumPy forward saves) gives the same columns
        _same_bits(with_kernels(True, unfold, pad2d(x, g.pads), g, None, batch_major), want)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("batch_major", [False, True])
def test_column_chunks_are_the_batch_columns_chunk_by_chunk(monkeypatch, compiled, batch_major):
    rng = np.random.default_rng(4)
    n, c, h = 7, 3, 6
    g = conv_geometry("test", (h, h), 3, 1, "same")
    x = rng.standard_normal((n, c, h, h)).astype(np.float32)
    want = with_kernels(False, im2col, x, g, batch_major)
    k, p = c * g.kk, g.ho * g.wo
    monkeypatch.setattr(conv_utils, "CHUNK_BYTES", 3 * k * p * 4)  # chunks of 3, 3 and 1 images
    for source in (x, pad2d(x, g.pads)):  # unpadded (compiled forward) or padded (NumPy forward)
        chunks = with_kernels(compiled, conv_utils.ColumnChunks, source, g, batch_major, n, c, x.dtype, np)
        assert chunks.step == 3 and (chunks._kernel is not None) == compiled
        for a in range(0, n, chunks.step):
            m = min(n, a + chunks.step) - a
            got = chunks.unfold(a, m)
            assert got.shape == ((m, k, p) if batch_major else (k, m * p))
            _same_bits(got, want[a:a + m] if batch_major else want[:, a * p:(a + m) * p])
            assert np.shares_memory(got, chunks.buffer(m))  # one reused buffer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_major", [False, True])
def test_compiled_col2im_sums_in_the_numpy_order(dtype, batch_major):
    rng = np.random.default_rng(2)
    for n, c, h, w, g in CASES:
        k, p = c * g.kk, g.ho * g.wo
        cols = rng.standard_normal((n, k, p) if batch_major else (k, n * p)).astype(dtype)
        want = with_kernels(False, col2im, cols, g, n, c, batch_major)
        got = with_kernels(True, col2im, cols, g, n, c, batch_major)
        _same_bits(got, want)
        out = np.full((n, c, h, w), np.nan, dtype)  # every element is overwritten
        assert with_kernels(True, col2im, cols, g, n, c, batch_major, out=out) is out
        _same_bits(out, want)


@pytest.mark.parametrize("batch_major", [False, True])
def test_compiled_col2im_is_the_adjoint_of_im2col(batch_major):
    rng = np.random.default_rng(3)
    for n, c, h, w, g in CASES:
        x = rng.standard_normal((n, c, h, w))
        cols = with_kernels(True, im2col, x, g, batch_major)
        dc = rng.standard_normal(cols.shape)
        back = with_kernels(True, col2im, dc, g, n, c, batch_major)
        np.testing.assert_allclose(np.vdot(cols, dc), np.vdot(x, back), rtol=1e-12, atol=1e-12)


def _conv_fwd_bwd(compiled, x, w, b, gy, transpose=False, **kw):
    def run():
        xt = ngrad.tensor(x, dtype=x.dtype, requires_grad=True)
        wt = ngrad.tensor(w, dtype=w.dtype, requires_grad=True)
        bt = ngrad.tensor(b, dtype=b.dtype, requires_grad=True)
        y = (conv_transpose2d if transpose else conv2d)(xt, wt, bt, **kw)
        y.backward(ngrad.tensor(gy, dtype=gy.dtype))
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()
    return with_kernels(compiled, run)


CONV_CASES = [  # (N, C, H, W, F, k, stride, padding, dilation, groups)
    (2, 3, 9, 9, 4, 3, 1, 1, 1, 1),  # ResNet-like, stride 1: the input gradient by correlation
    (2, 3, 9, 9, 4, 3, 2, 1, 1, 1),  # stride 2: col2im
    (3, 4, 20, 18, 4, 3, 1, "same", 1, 1),  # batch-major columns (>= 256 output positions)
    (3, 4, 33, 31, 2, 3, 2, 1, 1, 2),  # batch-major, stride 2, groups
    (1, 2, 8, 8, 3, 4, 1, "same", 1, 1),  # even kernel: asymmetric padding
    (2, 4, 9, 8, 6, 3, 2, "same", 2, 2),
    (2, 2, 7, 7, 3, 5, 3, ((2, 0), (1, 3)), 1, 1),
    (2, 3, 6, 6, 2, 2, 1, "valid", 1, 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_and_backward_are_the_numpy_numbers(dtype, case):
    x, wgt, b, gy, kw = random_case(case, dtype, seed=4)
    want = _conv_fwd_bwd(False, x, wgt, b, gy, **kw)
    got = _conv_fwd_bwd(True, x, wgt, b, gy, **kw)
    for a, b_ in zip(got, want):
        _same_bits(a, b_)


@pytest.mark.parametrize("case", [(2, 3, 5, 5, 4, 3, 2, 1), (2, 4, 6, 5, 2, 3, 1, 1), (1, 2, 4, 4, 3, 4, 2, "same")])
def test_conv_transpose2d_is_the_numpy_numbers(case):
    n, cin, h, w, cout, k, stride, padding = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, cin, h, w))
    wgt = rng.standard_normal((cin, cout, k, k))
    b = rng.standard_normal(cout)
    probe = conv_transpose2d(ngrad.tensor(x), ngrad.tensor(wgt), stride=stride, padding=padding)
    gy = rng.standard_normal(probe.shape)
    want = _conv_fwd_bwd(False, x, wgt, b, gy, transpose=True, stride=stride, padding=padding)
    got = _conv_fwd_bwd(True, x, wgt, b, gy, transpose=True, stride=stride, padding=padding)
    for a, b_ in zip(got, want):
        _same_bits(a, b_)


def test_kernels_only_take_arrays_they_can_index():
    x = np.zeros((2, 3, 6, 6), np.float32)
    g = conv_geometry("test", (6, 6), 3, 1, 1)
    prev = backend.set_numba_enabled(True)  # whatever NGRAD_NUMBA says
    try:
        assert im2col_kernels(x) is not None
        assert im2col_kernels(x, np.zeros(5, np.float32)) is not None
        assert im2col_kernels(x.transpose(0, 1, 3, 2)) is None  # not C-contiguous
        assert im2col_kernels(x[:, :, ::2]) is None
        assert im2col_kernels(x.astype(np.int64)) is None
        assert im2col_kernels(x.astype(np.float16)) is None
        assert im2col_kernels(x, np.zeros(5, np.float64)) is None  # two dtypes
        assert im2col_kernels(x, [0.0]) is None  # not an ndarray
        assert conv_utils.unfold_source(x, g) is x  # compiled: padded on the fly, no copy
        assert conv_utils.unfold_source(x.transpose(0, 1, 3, 2), g).shape == (2, 3, 8, 8)  # the padded copy
        backend.set_numba_enabled(False)
        assert im2col_kernels(x) is None
        assert conv_utils.unfold_source(x, g).shape == (2, 3, 8, 8)
    finally:
        backend.set_numba_enabled(prev)


@pytest.mark.parametrize("batch_major", [False, True])
def test_arrays_the_kernels_do_not_take_run_the_numpy_path(batch_major):
    rng = np.random.default_rng(6)
    g = conv_geometry("test", (5, 6), 3, 2, ((1, 0), (2, 1)))
    base = rng.standard_normal((2, 3, 6, 5))
    for x in (base.transpose(0, 1, 3, 2), (base * 10).astype(np.int64).transpose(0, 1, 3, 2)):
        assert im2col_kernels(x) is None
        want = _reference_columns(x, g, batch_major)
        _same_bits(with_kernels(True, im2col, x, g, batch_major), want)  # through the padded copy
        xpad = np.asfortranarray(pad2d(x, g.pads))  # padded, and not C-contiguous
        assert im2col_kernels(xpad) is None
        _same_bits(with_kernels(True, unfold, xpad, g, None, batch_major), want)
    cols = rng.standard_normal((2, 27, g.ho * g.wo) if batch_major else (27, 2 * g.ho * g.wo))
    for c in (np.asfortranarray(cols), cols.astype(np.int64)):
        assert im2col_kernels(c) is None
        _same_bits(with_kernels(True, col2im, c, g, 2, 3, batch_major), with_kernels(False, col2im, c, g, 2, 3,
                                                                                       batch_major))
    out = np.zeros((2, 3, 5, 6), np.float32)  # another dtype than cols: the NumPy path writes (and casts) it
    col2im(cols, g, 2, 3, batch_major, out=out)
    np.testing.assert_allclose(out, col2im(cols, g, 2, 3, batch_major), rtol=1e-6)


def test_conv2d_of_a_non_contiguous_input_with_the_kernels_on():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32).transpose(0, 1, 3, 2)  # (2, 3, 6, 7) view
    wgt = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = np.zeros(4, np.float32)
    gy = rng.standard_normal((2, 4, 3, 4)).astype(np.float32)
    want = _conv_fwd_bwd(False, x, wgt, b, gy, stride=2, padding=1)
    got = _conv_fwd_bwd(True, x, wgt, b, gy, stride=2, padding=1)
    for a, b_ in zip(got, want):
        _same_bits(a, b_)


def test_unfold_rejects_an_input_of_neither_size():
    g = conv_geometry("test", (5, 5), 3, 1, 1)
    with pytest.raises(ShapeError, match="unfold"):
        unfold(np.zeros((1, 1, 6, 6)), g)


def test_the_geometries_cover_the_corners():
    """The random geometries include every stride, dilation and kernel size asked for."""
    seen = {(g.sh, g.dh, g.kh) for _, _, _, _, g in GEOMETRIES} | {(g.sw, g.dw, g.kw) for *_, g in GEOMETRIES}
    for s, d in itertools.product((1, 2, 3), (1, 2)):
        assert any(k[:2] == (s, d) for k in seen)
    assert {k[2] for k in seen} == {1, 2, 3, 4, 5}
    assert any(g.pads[0][0] != g.pads[0][1] for *_, g in GEOMETRIES)  # asymmetric
