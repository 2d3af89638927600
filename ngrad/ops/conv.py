"""Convolutions: conv2d (stride, padding, dilation, groups), conv_transpose2d,
and conv2d_relu_max_pool2d (fused with an optional Numba kernel).

Layout: images are NCHW (N, C, H, W) and weights PyTorch's
(out_channels, in_channels / groups, kh, kw); ``data_format="channels_last"``
takes and returns NHWC at the cost of two transposes (``to_nhwc``,
``to_nchw``; ``hwio_to_oihw`` converts Keras/course kernels). NCHW was
chosen by measurement (``docs/conv_layout.md``): with the channels
outermost each image's planes are contiguous, so im2col copies runs of a
whole output row instead of runs of C (1-3) floats, and the first layers of
the SIGNS ConvNet and LeNet-5 (where their time goes) ran 1.2-3x faster
than the same techniques in NHWC.

How it is computed (machinery in :mod:`ngrad.ops.conv_utils`):

- forward: per batch chunk (~1 MB of columns in a reused buffer), im2col
  (compiled with Numba, the padding written on the fly: no padded copy of
  the input; else a padded copy and NumPy's strided copy) and GEMMs with
  the weight ``W (F, C*kh*kw)``: one per image straight into the NCHW
  output when the output planes are large (>= 256 positions), else one per
  chunk over the planar columns (C*kh*kw, n*Ho*Wo), the bias added while
  the product is written back to NCHW (no extra pass).
- backward: ``dW += (cols @ dY.T).T`` per chunk (columns recomputed, never
  stored: from the saved unpadded input when compiled, else from the saved
  padded copy); ``dX = col2im(W.T @ dY)`` (compiled: summed straight into
  the unpadded dX; else into a zeroed padded grid, then cropped), or for
  stride-1 'same'-like convolutions the "full" convolution of dY with the
  flipped kernel (one im2col copy instead of kh*kw scatter-adds, 1.5x
  faster on ResNet layers). Ungrouped, those columns of dY give dW too
  (``dW = flip(cols(dY) @ X.T)``), so the input is not unfolded again: the
  backward of a ResNet 3x3 layer 10-20 % faster.
- 1x1 convolutions without padding or groups skip im2col: one batched GEMM.
- with Numba, each run of chunks is one compiled call that releases the GIL
  (:mod:`ngrad.ops._numba_im2col`): the same im2col kernels and the
  GEMMs through NumPy's own ``cblas_?gemm`` (:mod:`ngrad.ops._blas`), so the
  numbers are the Python loop's bit for bit; the Python loop runs where that
  GEMM is not found or NumPy would call GEMV (a GEMM side of 1).
- with BLAS on several threads, the chunks (and a large 1x1 convolution's
  images) are split between those threads, BLAS at one thread meanwhile
  (:mod:`ngrad.ops._parallel`): small GEMMs run faster whole on one core than
  split over two.
- conv_transpose2d is the adjoint of conv2d: its forward is conv2d's input
  gradient and its backward conv2d's forward and weight gradient.
- conv2d_relu_max_pool2d runs conv + bias + ReLU + max pool in one compiled
  loop nest when Numba is installed (see :mod:`ngrad.ops._numba_conv`).

Examples
--------
>>> import ngrad
>>> from ngrad.ops.conv import conv2d
>>> x = ngrad.randn(2, 3, 8, 8)
>>> w = ngrad.randn(4, 3, 3, 3, requires_grad=True)
>>> conv2d(x, w, padding="same").shape
(2, 4, 8, 8)
>>> conv2d(x, w, stride=2, padding="same").shape  # Keras: ceil(8 / 2)
(2, 4, 4, 4)
"""
from __future__ import annotations

import operator

import numpy

from ngrad.backend import get_array_module, numba_kernels
from ngrad.backend import numba_enabled, set_numba_enabled  # noqa: F401 - the switch, also reachable here
from ngrad.errors import ShapeError
from ngrad.function import Function
from ngrad.ops import _blas, _parallel
from ngrad.ops._util import as_tensor
from ngrad.ops.conv_utils import (
    ColumnChunks,
    ConvGeometry,
    chunk_images,
    col2im,
    conv_geometry,
    crop2d,
    fold_add,
    im2col_kernels,
    nchw_to_planar,
    pad2d,
    pair,
    planar_to_nchw,
    same_padding,
    source_pads,
    unfold_source,
    use_batch_major,
    workspace,
)
from ngrad.ops.shape import transpose

#: smallest pool (elements per window) for which conv2d_relu_max_pool2d runs the fused kernel
FUSE_MIN_POOL = 4
CHANNELS_FIRST = ("channels_first", "NCHW")
CHANNELS_LAST = ("channels_last", "NHWC")


# ------------------------------------------------------------------ array kernels
def _is_pointwise(g: ConvGeometry, groups: int) -> bool:
    return g.kh == g.kw == 1 and not g.padded and groups == 1


def _common(x, w):
    xp = get_array_module(x, w)
    dtype = xp.result_type(x.dtype, w.dtype)
    return xp, dtype, x.astype(dtype, copy=False), w.astype(dtype, copy=False)


def _chunk_loops(sides, *arrays):
    """(the compiled chunk loops' module, :mod:`ngrad.ops._numba_im2col`; NumPy's GEMM address)
    when they can take ``arrays`` (the compiled im2col can: NumPy, C-contiguous, one float
    dtype; and NumPy's GEMM was found) and every GEMM side in ``sides`` is above 1 (NumPy
    calls GEMV or a dot for a side of 1, whose sums may round differently), else None."""
    loops = im2col_kernels(*arrays) if min(sides) > 1 else None
    fn = _blas.gemm_address(arrays[0].dtype) if loops is not None else None
    return None if fn is None else (loops, fn)


def _stub(dtype, ndim=1):
    """An empty array standing in for an argument a compiled loop does not read."""
    return numpy.empty((0,) * ndim, dtype)


def conv_forward(x, w, g: ConvGeometry, groups=1, bias=None):
    """x (N, C, H, W), w (F, C/groups, kh, kw), bias (F,) -> (y (N, F, Ho, Wo), xs).

    ``xs`` is the input the backward's weight gradient unfolds again: ``x``
    itself (unpadded; the compiled im2col pads on the fly, and 1x1
    convolutions pad nothing), else its padded copy (N, C, Hp, Wp).
    """
    xp, dtype, x, w = _common(x, w)
    if _is_pointwise(g, groups):
        return _pointwise_forward(xp, x, w, g, bias), x
    n, c = x.shape[:2]
    f = w.shape[0]
    k, p = c * g.kk, g.ho * g.wo
    kg, fg = k // groups, f // groups
    xs = unfold_source(x, g)  # x, or (N, C, Hp, Wp)
    w3 = w.reshape(groups, fg, kg)  # (G, F/G, K/G)
    y = xp.empty((n, f, g.ho, g.wo), dtype=dtype)
    batch_major = use_batch_major(g)
    step = chunk_images(k * p, dtype.itemsize, n)
    with_bias = bias is not None
    w3c = xp.ascontiguousarray(w3)
    compiled = _chunk_loops((fg, p), xs, w3c, y, *((bias,) if with_bias else ()))
    if compiled is not None:  # each run of chunks one call without the GIL
        loops, fn = compiled
        pt, pl = source_pads(xs, g)

        def images(lo, hi):
            cols = workspace("cols", (step * k * p,), dtype, xp)
            prod = _stub(dtype) if batch_major else workspace("prod", (f * step * p,), dtype, xp)
            loops.forward_chunks(fn, xs, w3c, y, bias if with_bias else _stub(dtype), with_bias, cols, prod,
                                 g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, pt, pl, batch_major, lo, hi, step)

        _parallel.run(images, n, step)
        return y, xs

    def images(lo, hi):  # y[lo:hi] from xs[lo:hi], a chunk at a time
        chunks = ColumnChunks(xs[lo:hi], g, batch_major, hi - lo, c, dtype, xp)
        for a in range(0, hi - lo, chunks.step):
            m = min(hi - lo, a + chunks.step) - a
            ym = y[lo + a:lo + a + m].reshape(m, f, p)
            cols = chunks.unfold(a, m)  # (m, K, P), or planar (K, m*P)
            if batch_major:  # one GEMM per image and group, straight into y
                xp.matmul(w3, cols.reshape(m, groups, kg, p), out=ym.reshape(m, groups, fg, p))
                if bias is not None:
                    ym += bias[:, None]
            else:  # one GEMM per group over the whole chunk, then back to NCHW with the bias
                prod = workspace("prod", (f, m * p), dtype, xp)  # (F, m*P)
                xp.matmul(w3, cols.reshape(groups, kg, m * p), out=prod.reshape(groups, fg, m * p))
                planar_to_nchw(prod.reshape(f, m, p), ym, bias)

    _parallel.run(images, n, step, im2col_kernels(xs) is not None)
    return y, xs


def conv_backward(gy, w, g: ConvGeometry, groups, x_shape, xs=None, need_x=True, need_w=True):
    """Gradients of :func:`conv_forward`: (dx (N, C, H, W) or None, dw like w or None).

    gy (N, F, Ho, Wo) is the output gradient, ``x_shape`` the input's
    (N, C, H, W); ``xs`` (the input, unpadded or padded: what
    :func:`conv_forward` returns next to y) is needed only for ``dw``.
    """
    xp, dtype, gy, w = _common(gy, w)
    if _is_pointwise(g, groups):
        return _pointwise_backward(xp, gy, w, g, xs, x_shape, need_x, need_w)
    dx = None
    if need_x and _full_correlation_ok(g):
        if need_w and groups == 1:  # both gradients from gy's columns
            x = xs if tuple(xs.shape[2:]) == (g.h, g.w) else crop2d(xs, g.pads)  # (N, C, H, W), maybe a view
            return _grads_by_correlation(gy, w, g, x)
        dx = _input_grad_by_correlation(gy, w, g, groups)
        need_x = False
    if not (need_x or need_w):
        return dx, None
    n, f = gy.shape[:2]
    c = x_shape[1]
    k, p = c * g.kk, g.ho * g.wo
    kg, fg = k // groups, f // groups
    w3 = w.reshape(groups, fg, kg)  # (G, F/G, K/G)
    dxpad = None
    if need_x:
        dx = xp.empty((n, c, g.h, g.w), dtype=dtype)
        if im2col_kernels(dx) is None:  # NumPy: fold into a zeroed padded grid, cropped at the end
            dxpad = xp.zeros((n, c, g.hp, g.wp), dtype=dtype)  # (N, C, Hp, Wp)
    batch_major = use_batch_major(g)
    step = chunk_images(k * p, dtype.itemsize, n)
    compiled = None
    if dxpad is None:  # (the compiled loops fold into the unpadded dx)
        gy, w3c = xp.ascontiguousarray(gy), xp.ascontiguousarray(w3)
        compiled = _chunk_loops((kg, fg, p), gy, w3c, *((xs,) if need_w else ()), *((dx,) if need_x else ()))
    if compiled is not None:  # each run of chunks one call without the GIL
        loops, fn = compiled
        xpt, xpl = source_pads(xs, g) if need_w else (0, 0)

        def images(lo, hi):
            dwt = xp.zeros((groups, kg, fg), dtype=dtype)  # the run's sum of cols @ gy.T, per group
            cols = workspace("cols", (step * k * p,), dtype, xp)
            parts = workspace("parts", ((step if batch_major else 1) * k * fg,), dtype, xp)
            gplanar = _stub(dtype) if batch_major else workspace("gplanar", (f * step * p,), dtype, xp)
            loops.backward_chunks(fn, gy, w3c, xs if need_w else _stub(dtype, 4), dx if need_x else _stub(dtype, 4),
                                  dwt, parts, cols, gplanar, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, xpt, xpl,
                                  g.pads[0][0], g.pads[1][0], batch_major, need_w, need_x, lo, hi, step)
            return dwt

        runs = _parallel.run(images, n, step)
        dw = xp.ascontiguousarray(_sum_runs(runs).swapaxes(-1, -2)).reshape(w.shape) if need_w else None
        return dx, dw

    def images(lo, hi):  # dx[lo:hi] and this run's part of dW (G, F/G, K/G), a chunk at a time
        chunks = ColumnChunks(xs[lo:hi] if need_w else None, g, batch_major, hi - lo, c, dtype, xp)
        dw_run = xp.zeros(w3.shape, dtype=dtype) if need_w else None
        for a in range(lo, hi, chunks.step):
            m = min(hi, a + chunks.step) - a
            if batch_major:
                gm = gy[a:a + m].reshape(m, groups, fg, p)  # (m, G, F/G, P)
                cgroups = (m, groups, kg, p)
            else:
                gm = nchw_to_planar(gy[a:a + m], workspace("gplanar", (f, m * p), dtype, xp))  # (F, m*P)
                gm = gm.reshape(groups, fg, m * p)
                cgroups = (groups, kg, m * p)
            if need_w:
                cols = chunks.unfold(a - lo, m)
                # cols @ gm.T, the long P axis the reduction: 1.1-2x faster in OpenBLAS than gm @ cols.T
                part = xp.matmul(cols.reshape(cgroups), gm.swapaxes(-1, -2))  # ([m,] G, K/G, F/G)
                dw_run += (part.sum(axis=0) if batch_major else part).swapaxes(-1, -2)
            if need_x:
                dcols = chunks.buffer(m)  # the columns' buffer, free again once dW has its part
                xp.matmul(w3.transpose(0, 2, 1), gm, out=dcols.reshape(cgroups))
                if dxpad is None:  # compiled: summed straight into the unpadded dx
                    col2im(dcols, g, m, c, batch_major, out=dx[a:a + m])
                else:
                    fold_add(dcols, dxpad[a:a + m], g, batch_major)
        return dw_run

    gil_free = dxpad is None and (not need_w or im2col_kernels(xs) is not None)  # every chunk's copy releases the GIL
    runs = _parallel.run(images, n, step, gil_free)
    dw3 = _sum_runs(runs) if need_w else None
    if dxpad is not None:
        dx[...] = crop2d(dxpad, g.pads)
    dw = dw3.reshape(w.shape) if need_w else None
    return dx, dw


def _sum_runs(parts):
    """The sum of the runs' partial sums, in run order (one run: that array itself)."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def _full_correlation_ok(g: ConvGeometry) -> bool:
    """Whether to compute the input gradient as a convolution: stride 1, no padding
    beyond the kernel's reach, and an input not much larger than the output
    ('same'-like: the correlation's GEMM grows with H*W, col2im's with Ho*Wo)."""
    reach_h, reach_w = g.dh * (g.kh - 1), g.dw * (g.kw - 1)
    return (g.sh == g.sw == 1 and max(g.pads[0]) <= reach_h and max(g.pads[1]) <= reach_w
            and 4 * g.h * g.w <= 5 * g.ho * g.wo)


def _correlation_geometry(g: ConvGeometry) -> ConvGeometry:
    """The geometry of the "full" convolution over gy (N, F, Ho, Wo) whose output is the
    input's (H, W): stride 1, each side padded by the kernel's reach less the forward's pad."""
    reach_h, reach_w = g.dh * (g.kh - 1), g.dw * (g.kw - 1)
    (t, b), (l, r) = g.pads
    return ConvGeometry(g.ho, g.wo, g.kh, g.kw, 1, 1, g.dh, g.dw,
                        ((reach_h - t, reach_h - b), (reach_w - l, reach_w - r)))


def _flipped_kernel(w, groups):
    """w (F, C/G, kh, kw) -> the correlation's kernel (C, F/G, kh, kw): transposed per group, flipped."""
    f, cg, kh, kw = w.shape
    wt = w.reshape(groups, f // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)  # (G, C/G, F/G, kh, kw)
    return wt[..., ::-1, ::-1].reshape(groups * cg, f // groups, kh, kw)  # (C, F/G, kh, kw)


def _input_grad_by_correlation(gy, w, g: ConvGeometry, groups):
    """dx of a stride-1 convolution as the "full" convolution of gy with the flipped,
    transposed kernel: one im2col copy and GEMM instead of kh*kw scatter-adds.

    gy (N, F, Ho, Wo), w (F, C/G, kh, kw) -> (N, C, H, W).
    """
    return conv_forward(gy, _flipped_kernel(w, groups), _correlation_geometry(g), groups)[0]


def _grads_by_correlation(gy, w, g: ConvGeometry, x):
    """(dx, dw) of a stride-1, 'same'-like, ungrouped convolution from one set of columns.

    The columns of gy for the "full" correlation (:func:`_input_grad_by_correlation`),
    ``cols[(f, i, j), q] = gy[f, q + (i, j)*dilation - (reach - pad)]`` over the
    input positions q, give both gradients: ``dx = W_flipped @ cols`` and, since
    ``dW[f, c, a, b] = sum_q x[c, q] * cols[(f, kh-1-a, kw-1-b), q]``,
    ``dW = flip(cols @ x.T)``, so the input is never unfolded again.

    gy (N, F, Ho, Wo), w (F, C, kh, kw), x (N, C, H, W) unpadded -> dx like x, dw like w.
    """
    xp, dtype = get_array_module(gy), gy.dtype
    f, c, kh, kw = w.shape
    n = gy.shape[0]
    gt = _correlation_geometry(g)
    wt = xp.ascontiguousarray(_flipped_kernel(w, 1)).reshape(c, f * kh * kw)  # (C, K)
    k, p = f * kh * kw, g.h * g.w
    dx = xp.empty((n, c, g.h, g.w), dtype=dtype)
    batch_major = use_batch_major(gt)
    step = chunk_images(k * p, dtype.itemsize, n)
    compiled = _chunk_loops((c, k, p), gy, wt, x, dx)
    if compiled is not None:  # each run of chunks one call without the GIL
        loops, fn = compiled
        pt, pl = source_pads(gy, gt)

        def images(lo, hi):
            r = xp.zeros((k, c), dtype=dtype)
            cols = workspace("cols", (step * k * p,), dtype, xp)
            parts = workspace("parts", ((step if batch_major else 1) * k * c,), dtype, xp)
            planar = (c * step * p,)  # (C, step*P): the products, and the input in planar order
            prod, xplanar = ((_stub(dtype), _stub(dtype)) if batch_major else
                             (workspace("prod", planar, dtype, xp), workspace("xplanar", planar, dtype, xp)))
            loops.correlation_chunks(fn, gy, wt, x, dx, r, parts, cols, prod, xplanar, gt.kh, gt.kw, gt.dh, gt.dw,
                                     pt, pl, batch_major, lo, hi, step)
            return r

        return dx, _correlation_weight_grad(_sum_runs(_parallel.run(images, n, step)), f, kh, kw, c, xp)

    def images(lo, hi):  # dx[lo:hi] and this run's part of sum(cols @ x.T) (K, C), a chunk at a time
        chunks = ColumnChunks(gy[lo:hi], gt, batch_major, hi - lo, f, dtype, xp)
        r = xp.zeros((k, c), dtype=dtype)
        for a in range(lo, hi, chunks.step):
            m = min(hi, a + chunks.step) - a
            xm = x[a:a + m].reshape(m, c, p)  # (m, C, P)
            cols = chunks.unfold(a - lo, m)  # (m, K, P), or planar (K, m*P)
            if batch_major:
                xp.matmul(wt, cols, out=dx[a:a + m].reshape(m, c, p))
                r += xp.matmul(cols, xm.swapaxes(1, 2)).sum(axis=0)  # (K, C)
            else:
                prod = workspace("prod", (c, m * p), dtype, xp)  # (C, m*P)
                xp.matmul(wt, cols, out=prod)
                planar_to_nchw(prod.reshape(c, m, p), dx[a:a + m].reshape(m, c, p))
                xs = nchw_to_planar(x[a:a + m], workspace("xplanar", (c, m * p), dtype, xp))  # (C, m*P)
                r += cols.dot(xs.T)  # (K, C)
        return r

    runs = _parallel.run(images, n, step, im2col_kernels(gy) is not None)
    return dx, _correlation_weight_grad(_sum_runs(runs), f, kh, kw, c, xp)


def _correlation_weight_grad(r, f, kh, kw, c, xp):
    """dW (F, C, kh, kw) from r (K, C), the sum over the images of cols(gy) @ x.T."""
    dw = r.reshape(f, kh, kw, c)[:, ::-1, ::-1].transpose(0, 3, 1, 2)  # (F, C, kh, kw)
    return xp.ascontiguousarray(dw)


def _strided_input(x, g):
    return x[:, :, ::g.sh, ::g.sw] if (g.sh > 1 or g.sw > 1) else x


def _pointwise_parallel(xp, n, per_image):
    """Whether a 1x1 convolution of ``per_image`` multiply-adds an image splits its n images
    between threads (:mod:`ngrad.ops._parallel`) instead of splitting each image's GEMM over
    BLAS's threads: only GEMMs that BLAS would split (measured on ResNet shortcuts, 2 threads:
    (64, 64) @ (64, 64) per image 2.2-3.2 -> 1.5-1.8 ms forward and backward for 64 images,
    (64, 32) @ (32, 64) 2.0-2.1 -> 2.0-2.3 ms)."""
    return xp is numpy and per_image >= _parallel.MIN_GEMM and n * per_image >= _parallel.MIN_WORK


def _pointwise_forward(xp, x, w, g, bias):
    """1x1 convolution: one batched GEMM (F, C) @ (N, C, Ho*Wo), no im2col."""
    n, c = x.shape[:2]
    f = w.shape[0]
    xs = _strided_input(x, g).reshape(n, c, g.ho * g.wo)  # (N, C, P); copies only when strided
    w2 = w.reshape(f, c)
    y = xp.empty((n, f, g.ho * g.wo), dtype=xs.dtype)

    def images(lo, hi):
        xp.matmul(w2, xs[lo:hi], out=y[lo:hi])  # (m, F, P)
        if bias is not None:
            y[lo:hi] += bias[:, None]

    _parallel.run(images, n, 1, _pointwise_parallel(xp, n, f * c * g.ho * g.wo))
    return y.reshape(n, f, g.ho, g.wo)


def _pointwise_backward(xp, gy, w, g, x, x_shape, need_x, need_w):
    n, f = gy.shape[:2]
    c = x_shape[1]
    g3 = gy.reshape(n, f, g.ho * g.wo)  # (N, F, P)
    w2 = w.reshape(f, c)
    dx = dw = None
    dxs = xp.empty((n, c, g.ho * g.wo), dtype=g3.dtype) if need_x else None  # (N, C, P)
    xs = _strided_input(x, g).reshape(n, c, g.ho * g.wo) if need_w else None  # (N, C, P)

    def images(lo, hi):  # dxs[lo:hi] and this run's part of dW (F, C)
        if need_x:
            xp.matmul(w2.T, g3[lo:hi], out=dxs[lo:hi])
        if need_w:
            return xp.matmul(g3[lo:hi], xs[lo:hi].transpose(0, 2, 1)).sum(axis=0)
        return None

    runs = _parallel.run(images, n, 1, _pointwise_parallel(xp, n, f * c * g.ho * g.wo))
    if need_x:
        dxs = dxs.reshape(n, c, g.ho, g.wo)  # (N, C, Ho, Wo)
        if g.sh > 1 or g.sw > 1:
            dx = xp.zeros(x_shape, dtype=dxs.dtype)
            dx[:, :, ::g.sh, ::g.sw] = dxs
        else:
            dx = dxs
    if need_w:
        dw = _sum_runs(runs).reshape(w.shape)  # (F, C, 1, 1)
    return dx, dw


def bias_grad(gy):
    """gy (N, F, Ho, Wo) -> (F,): the sum over batch and space."""
    n, f = gy.shape[:2]
    return gy.reshape(n, f, -1).sum(axis=2).sum(axis=0)


# ------------------------------------------------------------------ Functions
class Conv2d(Function):
    """2-D cross-correlation (as every framework's "convolution").

    Shapes: x (N, C, H, W), weight (F, C/groups, kh, kw), bias (F,) or None
    -> (N, F, Ho, Wo). Parameters ``geometry`` (a resolved
    :class:`~ngrad.ops.conv_utils.ConvGeometry`) and ``groups``.
    """

    name = "conv2d"

    def forward(ctx, x, weight, bias=None, geometry=None, groups=1):
        y, xs = conv_forward(x, weight, geometry, groups, bias)
        ctx.save_for_backward(xs, weight)  # xs: x, or its padded copy (see conv_forward)
        ctx.geometry, ctx.groups, ctx.x_shape = geometry, groups, x.shape
        return y

    def backward(ctx, gy):
        xs, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        dx, dw = conv_backward(gy, weight, ctx.geometry, ctx.groups, ctx.x_shape, xs, need_x, need_w)
        return dx, dw, bias_grad(gy) if need_b else None


class ConvTranspose2d(Function):
    """2-D transposed convolution: the adjoint (input gradient) of :class:`Conv2d`.

    Shapes: x (N, Cin, H, W), weight (Cin, Cout/groups, kh, kw), bias (Cout,)
    -> (N, Cout, Hout, Wout); ``geometry`` describes the matching conv2d that
    maps (Hout, Wout) back to (H, W), and ``extra`` the zero rows and columns
    of output padding beyond every window (see :func:`transpose_geometry`).
    """

    name = "conv_transpose2d"

    def forward(ctx, x, weight, bias=None, geometry=None, groups=1, out_channels=None, extra=(0, 0)):
        g = geometry
        n = x.shape[0]
        y, _ = conv_backward(x, weight, g, groups, (n, out_channels, g.h, g.w), need_x=True, need_w=False)
        if any(extra):
            y = pad2d(y, ((0, extra[0]), (0, extra[1])))
        if bias is not None:
            y += bias[:, None, None]
        ctx.save_for_backward(x, weight)
        ctx.geometry, ctx.groups = g, groups
        return y

    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g = ctx.geometry
        gin = gy[:, :, :g.h, :g.w]  # without the zero output padding
        dx = conv_forward(gin, weight, g, ctx.groups)[0] if need_x else None  # (N, Cin, H, W)
        dw = None
        if need_w:
            # conv2d's weight gradient with the roles swapped: "input" gy, "output gradient" x.
            gs = unfold_source(gin, g)  # gin, or (N, Cout, Hp, Wp)
            _, dw = conv_backward(x, weight, g, ctx.groups, gin.shape, gs, need_x=False, need_w=True)
        return dx, dw, bias_grad(gy) if need_b else None


class Conv2dReluMaxPool2d(Function):
    """``max_pool2d(relu(conv2d(x, weight, bias)), pool)`` in one compiled loop nest (Numba).

    Shapes: x (N, C, H, W), weight (F, C, kh, kw), bias (F,) or None ->
    (N, F, Ho // ph, Wo // pw). The convolution output is never stored: the
    forward keeps the pooled values and each window's argmax, the backward
    visits the argmax positions of the windows that passed the ReLU only.
    """

    name = "conv2d_relu_max_pool2d"

    def forward(ctx, x, weight, bias=None, geometry=None, pool=(2, 2)):
        k = _numba_kernels()
        xp, dtype, x, weight = _common(x, weight)
        g, (ph, pw) = geometry, pool
        n, f = x.shape[0], weight.shape[0]
        xpad = xp.ascontiguousarray(pad2d(x, g.pads))  # (N, C, Hp, Wp)
        w = xp.ascontiguousarray(weight)
        b = xp.zeros(f, dtype) if bias is None else xp.ascontiguousarray(bias, dtype=dtype)
        out = xp.empty((n, f, g.ho // ph, g.wo // pw), dtype=dtype)  # (N, F, Hq, Wq)
        arg = xp.empty(out.shape, dtype=xp.int32)  # argmax in the (Ho, Wo) conv plane
        k.forward(xpad, w, b, g, ph, pw, out, arg)
        ctx.save_for_backward(xpad, w, out, arg)
        ctx.geometry, ctx.pool = g, (ph, pw)
        return out

    def backward(ctx, gy):
        k = _numba_kernels()
        xpad, w, out, arg = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g = ctx.geometry
        xp = get_array_module(gy)
        gy = xp.ascontiguousarray(gy, dtype=out.dtype)
        dxpad = xp.zeros(xpad.shape, dtype=out.dtype) if need_x else None  # (N, C, Hp, Wp)
        dw = db = None
        if need_w or need_b:
            dw, db = xp.zeros(w.shape, dtype=out.dtype), xp.zeros(w.shape[0], dtype=out.dtype)
        if k.dense_backward(g, ctx.pool):  # small pools: through the grid, dense
            k.backward_dense(xpad, w, gy, out, arg, g, dxpad, dw, db)
        else:  # large pools: the argmax positions only
            if need_x:
                k.backward_input(w.reshape(w.shape[0], -1), gy, out, arg, g, dxpad)
            if dw is not None:
                k.backward_weight(xpad, gy, out, arg, g, dw.reshape(w.shape[0], -1), db)
        dx = xp.ascontiguousarray(crop2d(dxpad, g.pads)) if need_x else None
        return dx, dw if need_w else None, db if need_b else None


# ------------------------------------------------------------------ checks
def _check_data_format(op, data_format):
    if data_format not in CHANNELS_FIRST + CHANNELS_LAST:
        raise ValueError(f"{op}: data_format must be 'channels_first' (NCHW) or 'channels_last' (NHWC), "
                         f"got {data_format!r}")
    return data_format in CHANNELS_LAST


def check_image(op, x, layout_last=False):
    """Raise unless ``x`` is a 4-D image batch."""
    if x.ndim != 4:
        want = "(N, H, W, C)" if layout_last else "(N, C, H, W)"
        raise ShapeError(f"{op}: expected a 4-D input {want}, got shape {tuple(x.shape)}")


def _check_conv_args(op, x, weight, bias, groups, in_axis):
    """Channel checks shared by conv2d (in_axis 1) and conv_transpose2d (in_axis 0)."""
    if weight.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D weight, got shape {tuple(weight.shape)}")
    try:
        ok = operator.index(groups) >= 1
    except TypeError:
        ok = False
    if not ok:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    groups = operator.index(groups)
    c = x.shape[1]
    if in_axis == 1:
        f, cg = weight.shape[0], weight.shape[1]
        if c % groups:
            raise ShapeError(f"{op}: input channels {c} are not divisible by groups={groups}")
        if f % groups:
            raise ShapeError(f"{op}: output channels {f} (weight shape {tuple(weight.shape)}) are not "
                             f"divisible by groups={groups}")
        if cg * groups != c:
            raise ShapeError(
                f"{op}: input has {c} channels (input shape {tuple(x.shape)}) but the weight "
                f"{tuple(weight.shape)} (out, in/groups, kh, kw) expects {cg * groups} (groups={groups})"
            )
        out_c = f
    else:
        if weight.shape[0] != c:
            raise ShapeError(
                f"{op}: input has {c} channels (input shape {tuple(x.shape)}) but the weight "
                f"{tuple(weight.shape)} (in, out/groups, kh, kw) expects {weight.shape[0]}"
            )
        if c % groups:
            raise ShapeError(f"{op}: input channels {c} are not divisible by groups={groups}")
        out_c = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ShapeError(f"{op}: bias must have shape ({out_c},) for {out_c} output channels, "
                         f"got {tuple(bias.shape)}")
    return out_c, groups


# ------------------------------------------------------------------ functional API
def to_nchw(x):
    """(N, H, W, C) -> (N, C, H, W), differentiable (a transpose; copies nothing)."""
    x = as_tensor(x)
    check_image("to_nchw", x, layout_last=True)
    return transpose(x, 0, 3, 1, 2)


def to_nhwc(x):
    """(N, C, H, W) -> (N, H, W, C), differentiable (a transpose; copies nothing)."""
    x = as_tensor(x)
    check_image("to_nhwc", x)
    return transpose(x, 0, 2, 3, 1)


def hwio_to_oihw(w):
    """A Keras/course kernel (kh, kw, in, out) as ngrad's conv weight (out, in, kh, kw)."""
    return transpose(as_tensor(w), 3, 2, 0, 1)


def oihw_to_hwio(w):
    """ngrad's conv weight (out, in, kh, kw) as a Keras/course kernel (kh, kw, in, out)."""
    return transpose(as_tensor(w), 2, 3, 1, 0)


def conv2d(x, weight, bias=None, stride=1, padding="valid", dilation=1, groups=1, data_format="channels_first"):
    """2-D convolution (cross-correlation), PyTorch's ``F.conv2d`` with Keras's ``'same'``.

    Parameters
    ----------
    x : Tensor (N, C, H, W), or (N, H, W, C) with ``data_format="channels_last"``
    weight : Tensor (F, C / groups, kh, kw)
    bias : Tensor (F,) or None
    stride, dilation : int or (int, int)
    padding : ``'valid'``, ``'same'``, int, (ph, pw) or ((top, bottom), (left, right))
        ``'same'`` is Keras/TensorFlow's: output ``ceil(H / stride)``, any
        odd padding going to the bottom/right.
    groups : int
        Input and output channels split into ``groups`` independent
        convolutions; ``groups == C`` is a depthwise convolution.

    Returns
    -------
    Tensor (N, F, Ho, Wo) (NHWC for ``channels_last``), with
    ``Ho = (H + top + bottom - dilation * (kh - 1) - 1) // stride + 1``.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    last = _check_data_format("conv2d", data_format)
    check_image("conv2d", x, last)
    if last:
        x = to_nchw(x)
    bias = None if bias is None else as_tensor(bias)
    _, groups = _check_conv_args("conv2d", x, weight, bias, groups, in_axis=1)
    g = conv_geometry("conv2d", x.shape[2:], weight.shape[2:], stride, padding, dilation)
    y = Conv2d.apply(x, weight, bias, geometry=g, groups=groups)
    return to_nhwc(y) if last else y


def transpose_geometry(op, in_hw, kernel, stride, padding, output_padding, dilation):
    """The conv2d geometry whose adjoint is the transposed convolution of an ``in_hw`` input.

    Returns ``(geometry, extra)``: the transposed conv's output is the
    adjoint's (geometry.h, geometry.w) plus ``extra`` (rows, cols) of zeros
    at the bottom/right (output padding beyond the reach of every window).
    Numeric padding is PyTorch's (``Hout = (H-1)*s - 2p + d*(k-1) + output_padding + 1``;
    the output padding takes back as much of the bottom/right crop as there
    is); ``'valid'`` is padding 0; ``'same'`` is Keras's (``Hout = H * s``).
    """
    kh, kw = pair(kernel, "kernel_size", op)
    sh, sw = pair(stride, "stride", op)
    dh, dw = pair(dilation, "dilation", op)
    oph, opw = (output_padding, output_padding) if isinstance(output_padding, int) else output_padding
    if not (0 <= oph < max(sh, dh) and 0 <= opw < max(sw, dw)):
        raise ShapeError(f"{op}: output_padding {output_padding!r} must be smaller than stride or dilation")
    h, w = in_hw
    if padding == "same":
        if oph or opw:
            raise ShapeError(f"{op}: output_padding applies to numeric padding, not 'same'")
        hx, wx = h * sh, w * sw
        g = ConvGeometry(hx, wx, kh, kw, sh, sw, dh, dw, (same_padding(hx, kh, sh, dh), same_padding(wx, kw, sw, dw)))
        return g, (0, 0)
    ph, pw = (0, 0) if padding == "valid" else (padding, padding) if isinstance(padding, int) else padding
    hx = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wx = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if hx < 1 or wx < 1 or min(ph, pw) < 0:
        raise ShapeError(f"{op}: padding {padding!r} leaves no output for an input of size {(h, w)}")
    extra = (max(oph - ph, 0), max(opw - pw, 0))
    pads = ((ph, max(ph - oph, 0)), (pw, max(pw - opw, 0)))
    g = ConvGeometry(hx - extra[0], wx - extra[1], kh, kw, sh, sw, dh, dw, pads)
    if (g.ho, g.wo) != (h, w):  # pragma: no cover - guarded by the size formulas above
        raise ShapeError(f"{op}: inconsistent geometry {g} for input size {(h, w)}")
    return g, extra


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                     data_format="channels_first"):
    """2-D transposed convolution ("deconvolution"), PyTorch's ``F.conv_transpose2d``.

    x (N, Cin, H, W), weight (Cin, Cout / groups, kh, kw), bias (Cout,) ->
    (N, Cout, Hout, Wout) with ``Hout = (H - 1) * stride - 2 * padding +
    dilation * (kh - 1) + output_padding + 1``; ``padding="same"`` gives
    Keras's ``Hout = H * stride``. It is exactly the input gradient of
    :func:`conv2d` with the same weight and arguments.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    last = _check_data_format("conv_transpose2d", data_format)
    check_image("conv_transpose2d", x, last)
    if last:
        x = to_nchw(x)
    bias = None if bias is None else as_tensor(bias)
    out_c, groups = _check_conv_args("conv_transpose2d", x, weight, bias, groups, in_axis=0)
    g, extra = transpose_geometry("conv_transpose2d", x.shape[2:], weight.shape[2:], stride, padding,
                                  output_padding, dilation)
    y = ConvTranspose2d.apply(x, weight, bias, geometry=g, groups=groups, out_channels=out_c, extra=extra)
    return to_nhwc(y) if last else y


def conv2d_relu_max_pool2d(x, weight, bias=None, stride=1, padding="valid", dilation=1, pool_size=2,
                           data_format="channels_first"):
    """``max_pool2d(relu(conv2d(x, weight, bias, ...)), pool_size)``, fused when it can be.

    With Numba installed and enabled (``ngrad.backend.numba_enabled()``)
    and a pool of at least ``FUSE_MIN_POOL`` (4) elements, this is one op
    (:class:`Conv2dReluMaxPool2d`) whose forward never stores the convolution
    output and whose backward visits one position per pooling window;
    otherwise (smaller pools, where the sparse backward does not pay, and
    groups > 1) it is exactly the composition of the three ops. Both give the same values and gradients (to float
    rounding). ``pool_size`` (int or pair) is the kernel and stride of a
    'valid' max pooling.
    """
    from ngrad.ops.activation import relu  # noqa: PLC0415 - no import cycle at module load
    from ngrad.ops.pool import max_pool2d  # noqa: PLC0415

    pool = pair(pool_size, "pool_size", "conv2d_relu_max_pool2d")
    x, weight = as_tensor(x), as_tensor(weight)
    last = _check_data_format("conv2d_relu_max_pool2d", data_format)
    check_image("conv2d_relu_max_pool2d", x, last)
    channels = x.shape[3] if last else x.shape[1]
    fused = (pool[0] * pool[1] >= FUSE_MIN_POOL and _numba_kernels() is not None
             and get_array_module(x.data).__name__ == "numpy"
             and weight.ndim == 4 and weight.shape[1] == channels)  # groups == 1
    if not fused:
        y = relu(conv2d(x, weight, bias, stride, padding, dilation, data_format=data_format))
        return max_pool2d(y, pool, data_format=data_format)
    if last:
        x = to_nchw(x)
    bias = None if bias is None else as_tensor(bias)
    _check_conv_args("conv2d_relu_max_pool2d", x, weight, bias, 1, in_axis=1)
    g = conv_geometry("conv2d_relu_max_pool2d", x.shape[2:], weight.shape[2:], stride, padding, dilation)
    if g.ho < pool[0] or g.wo < pool[1]:
        raise ShapeError(f"conv2d_relu_max_pool2d: the convolution output {(g.ho, g.wo)} is smaller than the "
                         f"pool {pool}")
    y = Conv2dReluMaxPool2d.apply(x, weight, bias, geometry=g, pool=pool)
    return to_nhwc(y) if last else y


# ------------------------------------------------------------------ the optional Numba path
def _numba_kernels():
    """:mod:`ngrad.ops._numba_conv` when Numba is installed and enabled, else None."""
    return numba_kernels("ops._numba_conv")
