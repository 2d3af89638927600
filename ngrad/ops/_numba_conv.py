"""Optional compiled kernels (Numba) for the convolution family.

NumPy alone cannot fuse a convolution with its bias, ReLU and max pooling:
every step is a pass over memory, and the pooled-away 63/64 of an 8x8
pool's input is still written, read and compared. These kernels compute
conv + bias + ReLU + max pool in one loop nest that never stores the
convolution output, keep the pooled values and each window's argmax, and
back-propagate through the argmax positions only (measurements in
``docs/conv_layout.md``).

This module imports Numba at the top and is itself imported only by
``ngrad.ops.conv`` on first use of a fused op, when Numba is installed and
not switched off (``NGRAD_NUMBA=0`` or ``ngrad.backend.set_numba_enabled(False)``).
Without it the ops run their NumPy path, with the same results to float
rounding. Install with ``pip install numba``.

Layout NCHW, weights (F, C, kh, kw), as :mod:`ngrad.ops.conv`.
"""
from __future__ import annotations

import os

import numba
import numpy as np
from numba import njit, prange


@njit(cache=True)
def patch_offsets(c, hp, wp, kh, kw, dh, dw):
    """Flat offsets of a (C, kh, kw) receptive field inside one padded (C, Hp, Wp) image."""
    offs = np.empty(c * kh * kw, dtype=np.int64)
    t = 0
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                offs[t] = (ch * hp + i * dh) * wp + j * dw
                t += 1
    return offs


@njit(cache=True, fastmath=True)
def fused_forward_grid(xpad, w, b, dh, dw, ph, pw, out, arg, lo, hi):
    """Stride 1: conv rows of ``block`` pooled rows at once on the flattened
    (Hp*Wp) grid of each padded plane, so the innermost loop runs over
    ~2000 contiguous positions whatever the image width; then the pool.

    xpad (N, C, Hp, Wp), w (F, C, kh, kw), b (F,) -> out (N, F, Hq, Wq) =
    relu(max over each ph x pw window of conv + b); arg (N, F, Hq, Wq) =
    the window's first argmax as ``oh * Wo + ow``. Images ``lo:hi`` only.
    """
    n, c, hp, wp = xpad.shape
    f, _, kh, kw = w.shape
    hq, wq = out.shape[2], out.shape[3]
    width = wq * pw  # conv columns that reach a window
    wo = wp - dw * (kw - 1)
    block = max(1, min(hq, 2048 // (ph * wp)))
    lmax = (block * ph - 1) * wp + width
    acc = np.empty((f, lmax), dtype=out.dtype)  # conv rows of one block, grid layout
    for i_n in range(lo, hi):
        for q0 in range(0, hq, block):
            q1 = min(hq, q0 + block)
            oh0 = q0 * ph
            length = ((q1 - q0) * ph - 1) * wp + width
            acc[:, :length] = 0
            for ch in range(c):
                plane = xpad[i_n, ch].ravel()
                for i in range(kh):
                    j = 0
                    while j + 4 <= kw:  # four kernel columns per pass over acc
                        start = (oh0 + i * dh) * wp + j * dw
                        s0 = plane[start:start + length]
                        s1 = plane[start + dw:start + dw + length]
                        s2 = plane[start + 2 * dw:start + 2 * dw + length]
                        s3 = plane[start + 3 * dw:start + 3 * dw + length]
                        for fi in range(f):
                            w0 = w[fi, ch, i, j]
                            w1 = w[fi, ch, i, j + 1]
                            w2 = w[fi, ch, i, j + 2]
                            w3 = w[fi, ch, i, j + 3]
                            a = acc[fi]
                            for t in range(length):
                                a[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t]
                        j += 4
                    while j < kw:
                        start = (oh0 + i * dh) * wp + j * dw
                        seg = plane[start:start + length]
                        for fi in range(f):
                            wv = w[fi, ch, i, j]
                            a = acc[fi]
                            for t in range(length):
                                a[t] += wv * seg[t]
                        j += 1
            for fi in range(f):
                for q in range(q0, q1):
                    for p in range(wq):
                        best = -np.inf
                        where = 0
                        for r in range(ph):
                            base = (q * ph + r - oh0) * wp + p * pw
                            for s in range(pw):
                                v = acc[fi, base + s]
                                if v > best:
                                    best = v
                                    where = (q * ph + r) * wo + p * pw + s
                        z = best + b[fi]
                        out[i_n, fi, q, p] = z if z > 0 else 0
                        arg[i_n, fi, q, p] = where


@njit(cache=True, fastmath=True)
def fused_forward_rows(xpad, w, b, sh, sw, dh, dw, ph, pw, out, arg, lo, hi):
    """Any stride: one conv row at a time for all filters, then the pool (as above)."""
    n, c, _, _ = xpad.shape
    f, _, kh, kw = w.shape
    hq, wq = out.shape[2], out.shape[3]
    width = wq * pw
    wo = (xpad.shape[3] - dw * (kw - 1) - 1) // sw + 1
    acc = np.empty((f, width), dtype=out.dtype)
    best = np.empty((f, wq), dtype=out.dtype)
    where = np.empty((f, wq), dtype=np.int32)
    for i_n in range(lo, hi):
        for q in range(hq):
            best[:] = -np.inf
            where[:] = 0
            for r in range(ph):
                oh = q * ph + r
                acc[:] = 0
                for ch in range(c):
                    for i in range(kh):
                        row = xpad[i_n, ch, oh * sh + i * dh]
                        for j in range(kw):
                            off = j * dw
                            for fi in range(f):
                                wv = w[fi, ch, i, j]
                                for t in range(width):
                                    acc[fi, t] += wv * row[t * sw + off]
                for fi in range(f):
                    for p in range(wq):
                        for s in range(pw):
                            v = acc[fi, p * pw + s]
                            if v > best[fi, p]:
                                best[fi, p] = v
                                where[fi, p] = oh * wo + p * pw + s
            for fi in range(f):
                for p in range(wq):
                    z = best[fi, p] + b[fi]
                    out[i_n, fi, q, p] = z if z > 0 else 0
                    arg[i_n, fi, q, p] = where[fi, p]


@njit(cache=True, fastmath=True)
def fused_backward_weight(xpad, gout, out, arg, sh, sw, dh, dw, kh, kw, wo, dw2, db, lo, hi):
    """dw2 (F, C*kh*kw) and db (F,) += the gradient at the argmax positions of
    the windows that passed the ReLU, gathering each receptive field. Filters ``lo:hi``."""
    n, c, hp, wp = xpad.shape
    f, k = dw2.shape
    hq, wq = out.shape[2], out.shape[3]
    offs = patch_offsets(c, hp, wp, kh, kw, dh, dw)
    xflat = xpad.ravel()
    image = c * hp * wp
    for i_f in range(lo, hi):
        acc = np.zeros(k, dtype=dw2.dtype)
        bsum = 0.0
        for i_n in range(n):
            for q in range(hq):
                for p in range(wq):
                    if out[i_n, i_f, q, p] <= 0:
                        continue
                    gv = gout[i_n, i_f, q, p]
                    bsum += gv
                    oh, ow = divmod(arg[i_n, i_f, q, p], wo)
                    base = i_n * image + oh * sh * wp + ow * sw
                    for t in range(k):
                        acc[t] += gv * xflat[base + offs[t]]
        dw2[i_f] += acc
        db[i_f] += bsum


@njit(cache=True, fastmath=True)
def fused_backward_input(w2, gout, out, arg, sh, sw, dh, dw, kh, kw, wo, dxpad, lo, hi):
    """dxpad (N, C, Hp, Wp) += each passing window's gradient times the weights,
    scattered onto the receptive field of its argmax. Images ``lo:hi``."""
    n, c, hp, wp = dxpad.shape
    f, k = w2.shape
    hq, wq = out.shape[2], out.shape[3]
    offs = patch_offsets(c, hp, wp, kh, kw, dh, dw)
    for i_n in range(lo, hi):
        dflat = dxpad[i_n].ravel()
        for i_f in range(f):
            wf = w2[i_f]
            for q in range(hq):
                for p in range(wq):
                    if out[i_n, i_f, q, p] <= 0:
                        continue
                    gv = gout[i_n, i_f, q, p]
                    oh, ow = divmod(arg[i_n, i_f, q, p], wo)
                    base = oh * sh * wp + ow * sw
                    for t in range(k):
                        dflat[base + offs[t]] += gv * wf[t]


# Dense backward for small pools (stride 1): most conv positions are some window's argmax
# there, so the gradient is scattered once onto the flattened grid and both gradients
# become long contiguous multiply-adds that vectorize, instead of per-window gathers.
@njit(cache=True)
def scatter_to_grid(gout, out, arg, wo, wp, grid):
    """grid (N, F, L) zeroed, L = (Ho-1)*Wp + Wo: each passing window's gradient at its
    argmax ``oh * Wp + ow`` (the conv output on the padded input's row pitch)."""
    n, f, hq, wq = out.shape
    for i_n in range(n):
        for i_f in range(f):
            for q in range(hq):
                for p in range(wq):
                    if out[i_n, i_f, q, p] > 0:
                        oh, ow = divmod(arg[i_n, i_f, q, p], wo)
                        grid[i_n, i_f, oh * wp + ow] = gout[i_n, i_f, q, p]


@njit(cache=True, fastmath=True)
def dense_backward_weight(xpad, grid, dh, dw, dw4, db, lo, hi):
    """dw4 (F, C, kh, kw) and db (F,) += correlations of the grid gradient with the
    shifted input planes (stride 1), four kernel columns per pass over the
    gradient (one load of it feeds four sums). Filters ``lo:hi``."""
    n, c, hp, wp = xpad.shape
    _, _, kh, kw = dw4.shape
    length = grid.shape[2]
    zero = dw4.dtype.type(0)
    for i_f in range(lo, hi):
        bsum = zero
        for i_n in range(n):
            gz = grid[i_n, i_f]
            for t in range(length):
                bsum += gz[t]
            for ch in range(c):
                plane = xpad[i_n, ch].ravel()
                for i in range(kh):
                    j = 0
                    while j + 4 <= kw:
                        o = i * dh * wp + j * dw
                        s0 = plane[o:o + length]
                        s1 = plane[o + dw:o + dw + length]
                        s2 = plane[o + 2 * dw:o + 2 * dw + length]
                        s3 = plane[o + 3 * dw:o + 3 * dw + length]
                        a0 = zero
                        a1 = zero
                        a2 = zero
                        a3 = zero
                        for t in range(length):
                            gv = gz[t]
                            a0 += gv * s0[t]
                            a1 += gv * s1[t]
                            a2 += gv * s2[t]
                            a3 += gv * s3[t]
                        dw4[i_f, ch, i, j] += a0
                        dw4[i_f, ch, i, j + 1] += a1
                        dw4[i_f, ch, i, j + 2] += a2
                        dw4[i_f, ch, i, j + 3] += a3
                        j += 4
                    while j < kw:
                        o = i * dh * wp + j * dw
                        s0 = plane[o:o + length]
                        a0 = zero
                        for t in range(length):
                            a0 += gz[t] * s0[t]
                        dw4[i_f, ch, i, j] += a0
                        j += 1
        db[i_f] += bsum


@njit(cache=True, fastmath=True)
def dense_backward_input(w, grid, dh, dw, dxpad, lo, hi):
    """dxpad (N, C, Hp, Wp) += the grid gradient spread back through each kernel
    offset (stride 1), four filters per pass over the input row (one load and
    store of it per four multiply-adds). Images ``lo:hi``."""
    n, c, hp, wp = dxpad.shape
    f, _, kh, kw = w.shape
    length = grid.shape[2]
    for i_n in range(lo, hi):
        for ch in range(c):
            dplane = dxpad[i_n, ch].ravel()
            for i in range(kh):
                for j in range(kw):
                    off = i * dh * wp + j * dw
                    seg = dplane[off:off + length]
                    i_f = 0
                    while i_f + 4 <= f:
                        w0 = w[i_f, ch, i, j]
                        w1 = w[i_f + 1, ch, i, j]
                        w2 = w[i_f + 2, ch, i, j]
                        w3 = w[i_f + 3, ch, i, j]
                        g0 = grid[i_n, i_f]
                        g1 = grid[i_n, i_f + 1]
                        g2 = grid[i_n, i_f + 2]
                        g3 = grid[i_n, i_f + 3]
                        for t in range(length):
                            seg[t] += w0 * g0[t] + w1 * g1[t] + w2 * g2[t] + w3 * g3[t]
                        i_f += 4
                    while i_f < f:
                        wv = w[i_f, ch, i, j]
                        g0 = grid[i_n, i_f]
                        for t in range(length):
                            seg[t] += wv * g0[t]
                        i_f += 1


# One parallel driver per kernel: ``parts`` slices of the kernel's outer axis, one per thread.
@njit(parallel=True, cache=True)
def parallel_forward_grid(xpad, w, b, dh, dw, ph, pw, out, arg, parts):
    n = xpad.shape[0]
    for t in prange(parts):
        fused_forward_grid(xpad, w, b, dh, dw, ph, pw, out, arg, t * n // parts, (t + 1) * n // parts)


@njit(parallel=True, cache=True)
def parallel_forward_rows(xpad, w, b, sh, sw, dh, dw, ph, pw, out, arg, parts):
    n = xpad.shape[0]
    for t in prange(parts):
        fused_forward_rows(xpad, w, b, sh, sw, dh, dw, ph, pw, out, arg, t * n // parts, (t + 1) * n // parts)


@njit(parallel=True, cache=True)
def parallel_backward_weight(xpad, gout, out, arg, sh, sw, dh, dw, kh, kw, wo, dw2, db, parts):
    f = dw2.shape[0]
    for t in prange(parts):
        fused_backward_weight(xpad, gout, out, arg, sh, sw, dh, dw, kh, kw, wo, dw2, db,
                              t * f // parts, (t + 1) * f // parts)


@njit(parallel=True, cache=True)
def parallel_backward_input(w2, gout, out, arg, sh, sw, dh, dw, kh, kw, wo, dxpad, parts):
    n = dxpad.shape[0]
    for t in prange(parts):
        fused_backward_input(w2, gout, out, arg, sh, sw, dh, dw, kh, kw, wo, dxpad,
                             t * n // parts, (t + 1) * n // parts)


@njit(parallel=True, cache=True)
def parallel_dense_backward_weight(xpad, grid, dh, dw, dw4, db, parts):
    f = dw4.shape[0]
    for t in prange(parts):
        dense_backward_weight(xpad, grid, dh, dw, dw4, db, t * f // parts, (t + 1) * f // parts)


@njit(parallel=True, cache=True)
def parallel_dense_backward_input(w, grid, dh, dw, dxpad, parts):
    n = dxpad.shape[0]
    for t in prange(parts):
        dense_backward_input(w, grid, dh, dw, dxpad, t * n // parts, (t + 1) * n // parts)


#: multiply-adds below which a kernel runs on the calling thread (waking threads costs more)
PARALLEL_MIN_WORK = 1 << 21


def _blas_pinned_to_one_thread() -> bool:
    return any(os.environ.get(v, "").strip() == "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                             "MKL_NUM_THREADS"))


#: Whether the kernels may use Numba's threads. Only when BLAS is pinned to one thread
#: (``OPENBLAS_NUM_THREADS=1``): a training step alternates these kernels with BLAS calls, and
#: BLAS's worker threads, still spinning after a GEMM, and OpenMP's fight over the cores; LeNet-5
#: at 2 threads measured 23-29 ms a step that way, against 11.6 ms with serial kernels and 8.5 ms
#: with parallel kernels and one BLAS thread.
PARALLEL = _blas_pinned_to_one_thread()


def parts_for(work: int, count: int) -> int:
    """How many threads to give a kernel of ``work`` multiply-adds over ``count`` outer items (1: serial)."""
    if not PARALLEL or work < PARALLEL_MIN_WORK:
        return 1
    return max(1, min(count, numba.get_num_threads()))


def forward(xpad, w, b, g, ph, pw, out, arg):
    """The fused forward of one batch (see :func:`fused_forward_grid`); geometry ``g``."""
    n, f = xpad.shape[0], w.shape[0]
    parts = parts_for(n * f * g.ho * g.wo * w[0].size, n)
    if g.sh == g.sw == 1:
        if parts == 1:
            fused_forward_grid(xpad, w, b, g.dh, g.dw, ph, pw, out, arg, 0, n)
        else:
            parallel_forward_grid(xpad, w, b, g.dh, g.dw, ph, pw, out, arg, parts)
    elif parts == 1:
        fused_forward_rows(xpad, w, b, g.sh, g.sw, g.dh, g.dw, ph, pw, out, arg, 0, n)
    else:
        parallel_forward_rows(xpad, w, b, g.sh, g.sw, g.dh, g.dw, ph, pw, out, arg, parts)


def backward_weight(xpad, gout, out, arg, g, dw2, db):
    """dw2 (F, C*kh*kw) and db (F,) of the fused op."""
    f = dw2.shape[0]
    args = (xpad, gout, out, arg, g.sh, g.sw, g.dh, g.dw, g.kh, g.kw, g.wo, dw2, db)
    parts = parts_for(out.size * dw2.shape[1], f)
    if parts == 1:
        fused_backward_weight(*args, 0, f)
    else:
        parallel_backward_weight(*args, parts)


def backward_input(w2, gout, out, arg, g, dxpad):
    """dxpad (N, C, Hp, Wp) of the fused op."""
    n = dxpad.shape[0]
    args = (w2, gout, out, arg, g.sh, g.sw, g.dh, g.dw, g.kh, g.kw, g.wo, dxpad)
    parts = parts_for(out.size * w2.shape[1], n)
    if parts == 1:
        fused_backward_input(*args, 0, n)
    else:
        parallel_backward_input(*args, parts)


#: largest pool (elements per window) whose backward runs dense on the grid (stride 1)
DENSE_MAX_POOL = 4


def dense_backward(g, pool) -> bool:
    """True when the fused op's backward should scatter to the grid and run dense."""
    return g.sh == g.sw == 1 and pool[0] * pool[1] <= DENSE_MAX_POOL


def backward_dense(xpad, w, gout, out, arg, g, dxpad, dw4, db):
    """Both gradients of the fused op through the grid (see :func:`scatter_to_grid`);
    ``dxpad`` and/or ``dw4``/``db`` may be None when not needed."""
    n, f = out.shape[0], out.shape[1]
    wp = xpad.shape[3]
    grid = np.zeros((n, f, (g.ho - 1) * wp + g.wo), dtype=gout.dtype)  # (N, F, L)
    scatter_to_grid(gout, out, arg, g.wo, wp, grid)
    work = grid.size * w[0].size
    if dw4 is not None:
        parts = parts_for(work, f)
        if parts == 1:
            dense_backward_weight(xpad, grid, g.dh, g.dw, dw4, db, 0, f)
        else:
            parallel_dense_backward_weight(xpad, grid, g.dh, g.dw, dw4, db, parts)
    if dxpad is not None:
        parts = parts_for(work, n)
        if parts == 1:
            dense_backward_input(w, grid, g.dh, g.dw, dxpad, 0, n)
        else:
            parallel_dense_backward_input(w, grid, g.dh, g.dw, dxpad, parts)
