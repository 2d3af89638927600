"""Optional compiled kernels (Numba) for im2col and col2im, padding included.

NumPy builds a convolution's columns in two passes: a padded copy of the
input (``pad2d``), then a strided copy of its window view. These loops read
the unpadded input and write the columns directly, zeros where a window
reaches into the padding, so the padded copy is never made; col2im (the
adjoint) accumulates the columns straight into the unpadded gradient and
drops what falls into the padding, instead of adding into a zeroed padded
grid and cropping it. Every output plane of the columns is one contiguous
(Ho, Wo) block and every input plane one contiguous (H, W) block, so the
kernels copy row runs of ``Wo`` values; for stride 1 a run is a plain
contiguous copy between two zero-filled edges.

Two things make these loops fast (measured: 2-4x slower than NumPy's
strided copy without them): they index flat views with offsets cast to
unsigned, so Numba skips its negative-index wraparound, which keeps the row
copies from being vectorized; and the per-plane helpers are inlined by
Numba (``inline="always"``), so no call and no reference counting of the
array arguments is paid per plane.

The numbers are NumPy's bit for bit: im2col is a pure copy, and col2im adds
the kernel offsets (i, j) onto a zeroed plane in the order of
:func:`ngrad.ops.conv_utils.fold_add`'s offset loop.

Both release the GIL, so that batch chunks can run on several threads
(:mod:`ngrad.ops._parallel`).

The convolutions' batch-chunk loops (:func:`forward_chunks`,
:func:`correlation_chunks`, :func:`backward_chunks`) live here too, beside the
:func:`unfold` and :func:`fold` they call: Numba's cache of a function keys on its own file only, so a caller
in another file would keep a stale copy of them. :mod:`ngrad.ops.conv`
computes a convolution a batch chunk at a time: the chunk's columns, a few
GEMMs, and for the weight gradient a sum over the chunks. Written in Python, a
chunk holds the GIL between those calls, and a ResNet's 32x32 stage has one
image a chunk: 64 chunks a layer and pass. On two threads each thread then
waited for the other's Python at every GIL retake. These loops run a whole run
of chunks in one call that releases the GIL, calling NumPy's own
``cblas_?gemm`` through its address (:mod:`ngrad.ops._blas`) with the
arguments ``numpy.matmul`` passes for the same products, so the numbers are
the Python loops' bit for bit:

- the same GEMMs (shapes, transposes and leading dimensions);
- the bias added to each product as NumPy adds it (``y + b``, in y's dtype);
- sums over a chunk's images in image order, as ``sum(axis=0)``, then added
  to the run's sum, as the Python loops do.

:mod:`ngrad.ops.conv` calls them only where NumPy would call GEMM for every
product (no side of 1, where it calls GEMV or a dot); ``fn`` is the GEMM's
address for the arrays' dtype.

Imported only through :func:`ngrad.backend.numba_kernels` (Numba installed and
not switched off); :mod:`ngrad.ops.conv_utils` and :mod:`ngrad.ops.conv` call
it with C-contiguous NumPy arrays of one float dtype. Column layouts as in
:mod:`ngrad.ops.conv_utils`: planar (C, kh, kw, n, Ho, Wo) and batch-major
(n, C, kh, kw, Ho, Wo).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types, uint64
from numba.extending import intrinsic


@njit(inline="always")
def valid_range(start, step, size, count):
    """[lo, hi): the output positions ``0 <= o < count`` whose input position
    ``start + o * step`` lies inside ``[0, size)`` (the rest read padding)."""
    lo = 0 if start >= 0 else (step - 1 - start) // step
    lo = min(lo, count)
    hi = (size - 1 - start) // step + 1  # floor division: negative when start >= size
    hi = max(lo, min(hi, count))
    return lo, hi


@njit(inline="always")
def _zero(a, start, count):
    """a[start:start + count] = 0 for a flat array a."""
    zero = a.dtype.type(0)
    for t in range(count):
        a[uint64(start + t)] = zero


@njit(inline="always")
def _zero_edges(dst, d0, wo, oh_lo, oh_hi, ow_lo, ow_hi):
    """Zero the padding columns [0, ow_lo) and [ow_hi, Wo) of rows [oh_lo, oh_hi) of the flat
    (Ho, Wo) plane at ``d0``: down the columns, a few strided stores instead of a memset call per row."""
    zero = dst.dtype.type(0)
    for ow in range(ow_lo):
        for oh in range(oh_lo, oh_hi):
            dst[uint64(d0 + oh * wo + ow)] = zero
    for ow in range(ow_hi, wo):
        for oh in range(oh_lo, oh_hi):
            dst[uint64(d0 + oh * wo + ow)] = zero


@njit(inline="always")
def _unfold_plane(src, s0, w, dst, d0, r0, c0, sh, sw, ho, wo, oh_lo, oh_hi, ow_lo, ow_hi):
    """dst[d0 + oh*Wo + ow] = src[s0 + (r0 + oh*sh)*W + c0 + ow*sw], 0 outside the input plane.

    src and dst are flat; the input plane (H, W) starts at ``s0``, the output
    plane (Ho, Wo) at ``d0``; [oh_lo, oh_hi) x [ow_lo, ow_hi) is the part of
    the output that reads inside the input (:func:`valid_range`).
    """
    _zero(dst, d0, oh_lo * wo)
    if sh == 1 and sw == 1 and wo == w and oh_hi > oh_lo:
        # The input rows of consecutive output rows are consecutive and as wide: one long
        # contiguous copy of the whole run, then the few values it carried across a row end
        # (into the padding columns) are zeroed.
        d, s = d0 + oh_lo * wo, s0 + (r0 + oh_lo) * w + c0
        for t in range(ow_lo, (oh_hi - oh_lo - 1) * wo + ow_hi):
            dst[uint64(d + t)] = src[uint64(s + t)]
        _zero_edges(dst, d0, wo, oh_lo, oh_hi, ow_lo, ow_hi)
        _zero(dst, d0 + oh_hi * wo, (ho - oh_hi) * wo)
        return
    for oh in range(oh_lo, oh_hi):
        d = d0 + oh * wo
        s = s0 + (r0 + oh * sh) * w + c0
        if sw == 1:  # a contiguous run: one vector copy
            for ow in range(ow_lo, ow_hi):
                dst[uint64(d + ow)] = src[uint64(s + ow)]
        else:
            for ow in range(ow_lo, ow_hi):
                dst[uint64(d + ow)] = src[uint64(s + ow * sw)]
    _zero_edges(dst, d0, wo, oh_lo, oh_hi, ow_lo, ow_hi)
    _zero(dst, d0 + oh_hi * wo, (ho - oh_hi) * wo)


@njit(inline="always")
def _fold_plane(src, s0, dst, d0, w, r0, c0, sh, sw, wo, oh_lo, oh_hi, ow_lo, ow_hi):
    """dst[d0 + (r0 + oh*sh)*W + c0 + ow*sw] += src[s0 + oh*Wo + ow] where that lies inside
    the plane: the adjoint of :func:`_unfold_plane` (src a column plane, dst an input plane)."""
    for oh in range(oh_lo, oh_hi):
        s = s0 + oh * wo
        d = d0 + (r0 + oh * sh) * w + c0
        if sw == 1:
            for ow in range(ow_lo, ow_hi):
                dst[uint64(d + ow)] += src[uint64(s + ow)]
        else:
            for ow in range(ow_lo, ow_hi):
                dst[uint64(d + ow * sw)] += src[uint64(s + ow)]


@njit(inline="always")
def _plane_index(b, ch, i, j, n, c, kh, kw, batch_major):
    """Index of the (Ho, Wo) column plane of image b, channel ch and kernel offset (i, j)."""
    if batch_major:  # (n, C, kh, kw)
        return ((b * c + ch) * kh + i) * kw + j
    return ((ch * kh + i) * kw + j) * n + b  # (C, kh, kw, n)


@njit(cache=True, nogil=True)
def unfold(x, out, kh, kw, sh, sw, dh, dw, pt, pl, batch_major):
    """Columns of x (n, C, H, W), padded on the fly by ``pt`` rows at the top and
    ``pl`` columns at the left (bottom and right padding follow from the output size).

    x and out are flat C-order views; out holds (C, kh, kw, n, Ho, Wo), or
    (n, C, kh, kw, Ho, Wo) when ``batch_major``, with
    ``out[.., c, i, j, .., b, oh, ow] = xpad[b, c, oh*sh + i*dh, ow*sw + j*dw]``.
    """
    n, c, h, w = x.shape
    ho, wo = out.shape[-2], out.shape[-1]
    xf, of = x.ravel(), out.ravel()  # views: both are C-contiguous
    for ch in range(c):
        for i in range(kh):
            r0 = i * dh - pt
            oh_lo, oh_hi = valid_range(r0, sh, h, ho)
            for j in range(kw):
                c0 = j * dw - pl
                ow_lo, ow_hi = valid_range(c0, sw, w, wo)
                for b in range(n):
                    s0 = (b * c + ch) * h * w
                    d0 = _plane_index(b, ch, i, j, n, c, kh, kw, batch_major) * ho * wo
                    _unfold_plane(xf, s0, w, of, d0, r0, c0, sh, sw, ho, wo, oh_lo, oh_hi, ow_lo, ow_hi)


@njit(cache=True, nogil=True)
def fold(cols, dx, kh, kw, sh, sw, dh, dw, pt, pl, batch_major):
    """dx (n, C, H, W) = the sum of every column entry onto the input position it was
    copied from, padding dropped: the adjoint of :func:`unfold` (dx is overwritten).

    cols holds (C, kh, kw, n, Ho, Wo), or (n, C, kh, kw, Ho, Wo) when
    ``batch_major``; both are C-contiguous. Each plane of dx starts at zero and
    takes the kernel offsets in (i, j) order, as NumPy's offset loop adds them.
    """
    n, c, h, w = dx.shape
    ho, wo = cols.shape[-2], cols.shape[-1]
    cf, df = cols.ravel(), dx.ravel()
    for b in range(n):
        for ch in range(c):
            d0 = (b * c + ch) * h * w
            _zero(df, d0, h * w)
            for i in range(kh):  # the plane stays in cache while its kh*kw offsets are added
                r0 = i * dh - pt
                oh_lo, oh_hi = valid_range(r0, sh, h, ho)
                for j in range(kw):
                    c0 = j * dw - pl
                    ow_lo, ow_hi = valid_range(c0, sw, w, wo)
                    s0 = _plane_index(b, ch, i, j, n, c, kh, kw, batch_major) * ho * wo
                    _fold_plane(cf, s0, df, d0, w, r0, c0, sh, sw, wo, oh_lo, oh_hi, ow_lo, ow_hi)


# ------------------------------------------------------------------ the convolutions' chunk loops
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


@intrinsic
def _cblas_gemm(typingctx, fn, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """``cblas_?gemm(RowMajor, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)``
    called through its address ``fn``: int32 enums, int64 sizes, a/b/c addresses (uint64),
    alpha/beta float32 (sgemm) or float64 (dgemm)."""
    sig = types.void(fn, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        ptr = ir.IntType(8).as_pointer()
        real = context.get_value_type(signature.args[6])
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64])
        callee = builder.inttoptr(args[0], fnty.as_pointer())
        fn_, ta, tb, m_, n_, k_, al, a_, lda_, b_, ldb_, be, c_, ldc_ = args
        builder.call(callee, [ir.Constant(i32, ROW_MAJOR), ta, tb, m_, n_, k_, al, builder.inttoptr(a_, ptr), lda_,
                              builder.inttoptr(b_, ptr), ldb_, be, builder.inttoptr(c_, ptr), ldc_])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def _gemm(fn, ta, tb, m, n, k, a, ia, lda, b, ib, ldb, c, ic, ldc):
    """c[ic:] (m, n; rows ldc apart) = op(a[ia:]) @ op(b[ib:]) on flat arrays of one dtype
    (op: transposed when ``ta`` / ``tb`` is TRANS)."""
    size = uint64(c.itemsize)
    one, zero = c.dtype.type(1), c.dtype.type(0)
    _cblas_gemm(np.int64(fn), np.int32(ta), np.int32(tb), np.int64(m), np.int64(n), np.int64(k), one,
                uint64(a.ctypes.data) + uint64(ia) * size, np.int64(lda),
                uint64(b.ctypes.data) + uint64(ib) * size, np.int64(ldb), zero,
                uint64(c.ctypes.data) + uint64(ic) * size, np.int64(ldc))


@njit(inline="always")
def _planes(flat, m, c, kh, kw, ho, wo, batch_major):
    """The first m images' columns of the flat buffer as planes: (m, C, kh, kw, Ho, Wo) or (C, kh, kw, m, Ho, Wo)."""
    size = m * c * kh * kw * ho * wo
    if batch_major:
        return flat[:size].reshape((m, c, kh, kw, ho, wo))
    return flat[:size].reshape((c, kh, kw, m, ho, wo))


@njit(inline="always")
def _planar_to_images(src, dst, d0, m, f, p, bias, has_bias):
    """dst[d0:] (m, F, P) = src (F, m*P) moved to image order, plus ``bias`` (F,) with ``has_bias``."""
    mp = m * p
    for b in range(m):
        for fi in range(f):
            s, d = uint64(fi * mp + b * p), uint64(d0 + (b * f + fi) * p)
            if has_bias:
                bv = bias[fi]
                for q in range(p):
                    dst[d + q] = src[s + q] + bv
            else:
                for q in range(p):
                    dst[d + q] = src[s + q]


@njit(inline="always")
def _images_to_planar(src, s0, dst, m, f, p):
    """dst (F, m*P) = src[s0:] (m, F, P) in planar order."""
    mp = m * p
    for b in range(m):
        for fi in range(f):
            s, d = uint64(s0 + (b * f + fi) * p), uint64(fi * mp + b * p)
            for q in range(p):
                dst[d + q] = src[s + q]


@njit(inline="always")
def _add_image_sum(run, parts, m, size):
    """run[:size] += parts[0] + parts[1] + ... + parts[m-1] (each ``size`` long, added in image order)."""
    for e in range(size):
        s = parts[uint64(e)]
        for b in range(1, m):
            s += parts[uint64(b * size + e)]
        run[uint64(e)] += s


@njit(cache=True, nogil=True)
def forward_chunks(fn, x, w3, y, bias, has_bias, cols, prod, kh, kw, sh, sw, dh, dw, pt, pl, batch_major, lo, hi, step):
    """Images [lo, hi) of y (N, F, Ho, Wo) = conv(x (N, C, H, W), w3 (G, F/G, K/G)) (+ bias (F,)).

    x is unpadded (``pt``, ``pl``: its top and left padding) or already padded (0, 0).
    ``cols``: a flat buffer for ``step`` images' columns; ``prod``: one of F*step*Ho*Wo,
    for the planar products (unused when ``batch_major``).
    """
    c = x.shape[1]
    groups, fg, kg = w3.shape
    f, k = groups * fg, groups * kg
    ho, wo = y.shape[2], y.shape[3]
    p = ho * wo
    wf, yf, cf, pf = w3.ravel(), y.ravel(), cols.ravel(), prod.ravel()
    for a in range(lo, hi, step):
        m = min(hi, a + step) - a
        unfold(x[a:a + m], _planes(cf, m, c, kh, kw, ho, wo, batch_major), kh, kw, sh, sw, dh, dw, pt, pl, batch_major)
        if batch_major:  # one GEMM per image and group, straight into y
            for b in range(m):
                for gi in range(groups):
                    _gemm(fn, NO_TRANS, NO_TRANS, fg, p, kg, wf, gi * fg * kg, kg, cf, (b * k + gi * kg) * p, p,
                          yf, ((a + b) * f + gi * fg) * p, p)
                if has_bias:
                    for fi in range(f):
                        d, bv = uint64(((a + b) * f + fi) * p), bias[fi]
                        for q in range(p):
                            yf[d + q] += bv
        else:  # one GEMM per group over the chunk, then to image order with the bias
            mp = m * p
            for gi in range(groups):
                _gemm(fn, NO_TRANS, NO_TRANS, fg, mp, kg, wf, gi * fg * kg, kg, cf, gi * kg * mp, mp,
                      pf, gi * fg * mp, mp)
            _planar_to_images(pf, yf, a * f * p, m, f, p, bias, has_bias)


@njit(cache=True, nogil=True)
def correlation_chunks(fn, gy, wt, x, dx, r, parts, cols, prod, xplanar, kh, kw, dh, dw, pt, pl, batch_major,
                      lo, hi, step):
    """Images [lo, hi) of dx (N, C, H, W) and this run's sum r (K, C) of cols @ x.T, where
    cols are the stride-1 columns of gy (N, F, H, W) (``pt``, ``pl``: the correlation's padding),
    K = F*kh*kw and wt (C, K) the flipped, transposed kernel: :func:`ngrad.ops.conv._grads_by_correlation`.

    Scratch (flat): ``cols`` for ``step`` images' columns; ``parts`` for step*K*C
    (batch-major: the images' products before they are summed; planar: K*C);
    ``prod`` and ``xplanar`` of C*step*H*W each (planar only).
    """
    f = gy.shape[1]
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    p, k = h * w, f * kh * kw
    wf, xf, dxf, rf = wt.ravel(), x.ravel(), dx.ravel(), r.ravel()
    cf, tf, pf, xpf = cols.ravel(), parts.ravel(), prod.ravel(), xplanar.ravel()
    for a in range(lo, hi, step):
        m = min(hi, a + step) - a
        unfold(gy[a:a + m], _planes(cf, m, f, kh, kw, h, w, batch_major), kh, kw, 1, 1, dh, dw, pt, pl, batch_major)
        if batch_major:
            for b in range(m):
                _gemm(fn, NO_TRANS, NO_TRANS, c, p, k, wf, 0, k, cf, b * k * p, p, dxf, (a + b) * c * p, p)
                _gemm(fn, NO_TRANS, TRANS, k, c, p, cf, b * k * p, p, xf, (a + b) * c * p, p, tf, b * k * c, c)
            _add_image_sum(rf, tf, m, k * c)
        else:
            mp = m * p
            _gemm(fn, NO_TRANS, NO_TRANS, c, mp, k, wf, 0, k, cf, 0, mp, pf, 0, mp)
            _planar_to_images(pf, dxf, a * c * p, m, c, p, wf, False)
            _images_to_planar(xf, a * c * p, xpf, m, c, p)
            _gemm(fn, NO_TRANS, TRANS, k, c, mp, cf, 0, mp, xpf, 0, mp, tf, 0, c)
            _add_image_sum(rf, tf, 1, k * c)


@njit(cache=True, nogil=True)
def backward_chunks(fn, gy, w3, xs, dx, dwt, parts, cols, gplanar, kh, kw, sh, sw, dh, dw, xpt, xpl, pt, pl,
                    batch_major, need_w, need_x, lo, hi, step):
    """Images [lo, hi) of dx (N, C, H, W) (with ``need_x``) and this run's sum dwt (G, K/G, F/G)
    of cols @ gy.T (with ``need_w``), for the convolution with w3 (G, F/G, K/G) whose output
    gradient is gy (N, F, Ho, Wo): :func:`ngrad.ops.conv.conv_backward`'s chunk loop.

    xs (n, C, ., .) is the input, read with ``need_w``: unpadded (``xpt``, ``xpl``: its top and
    left padding) or already padded (0, 0); ``pt``, ``pl`` are the geometry's, with which the
    input gradient (unpadded) is folded. Scratch (flat): ``cols`` for ``step``
    images' columns (the input gradient's columns reuse it), ``parts`` for step*K*F/G
    (batch-major) or K*F/G (planar), ``gplanar`` for F*step*Ho*Wo (planar only).
    """
    f, ho, wo = gy.shape[1], gy.shape[2], gy.shape[3]
    groups, fg, kg = w3.shape
    k = groups * kg
    c = k // (kh * kw)
    p = ho * wo
    gf, wf, cf, tf, gpf, dwf = gy.ravel(), w3.ravel(), cols.ravel(), parts.ravel(), gplanar.ravel(), dwt.ravel()
    for a in range(lo, hi, step):
        m = min(hi, a + step) - a
        mp = m * p
        if not batch_major:
            _images_to_planar(gf, a * f * p, gpf, m, f, p)
        if need_w:
            unfold(xs[a:a + m], _planes(cf, m, c, kh, kw, ho, wo, batch_major), kh, kw, sh, sw, dh, dw, xpt, xpl,
                   batch_major)
            if batch_major:
                for b in range(m):
                    for gi in range(groups):
                        _gemm(fn, NO_TRANS, TRANS, kg, fg, p, cf, (b * k + gi * kg) * p, p,
                              gf, ((a + b) * f + gi * fg) * p, p, tf, (b * groups + gi) * kg * fg, fg)
                _add_image_sum(dwf, tf, m, k * fg)
            else:
                for gi in range(groups):
                    _gemm(fn, NO_TRANS, TRANS, kg, fg, mp, cf, gi * kg * mp, mp, gpf, gi * fg * mp, mp,
                          tf, gi * kg * fg, fg)
                _add_image_sum(dwf, tf, 1, k * fg)
        if need_x:  # the input gradient's columns, in the same buffer, folded into dx
            if batch_major:
                for b in range(m):
                    for gi in range(groups):
                        _gemm(fn, TRANS, NO_TRANS, kg, p, fg, wf, gi * fg * kg, kg, gf, ((a + b) * f + gi * fg) * p,
                              p, cf, (b * k + gi * kg) * p, p)
            else:
                for gi in range(groups):
                    _gemm(fn, TRANS, NO_TRANS, kg, mp, fg, wf, gi * fg * kg, kg, gpf, gi * fg * mp, mp,
                          cf, gi * kg * mp, mp)
            fold(_planes(cf, m, c, kh, kw, ho, wo, batch_major), dx[a:a + m], kh, kw, sh, sw, dh, dw, pt, pl,
                 batch_major)
