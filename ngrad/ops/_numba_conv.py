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
                    for j in range(kw):
                        start = (oh0 + i * dh) * wp + j * dw
                        seg = plane[start:start + length]
                        for fi in range(f):
                            wv = w[fi, ch, i, j]
                            a = acc[fi]
                            for t in range(length):
                                a[t] += wv * seg[t]
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


#: multiply-adds below which a kernel runs on the calling thread (waking threads costs more)
PARALLEL_MIN_WORK = 1 << 21


def parts_for(work: int, count: int) -> int:
    """How many threads to give a kernel of ``work`` multiply-adds over ``count`` outer items (1: serial)."""
    if work < PARALLEL_MIN_WORK:
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
