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
(:mod:`ngrad.ops._parallel`). Imported only through :func:`ngrad.backend.numba_kernels` (Numba installed and
not switched off); :mod:`ngrad.ops.conv_utils` calls it with C-contiguous
NumPy arrays of one float dtype. Column layouts as in that module: planar
(C, kh, kw, n, Ho, Wo) and batch-major (n, C, kh, kw, Ho, Wo).
"""
from __future__ import annotations

from numba import njit, uint64


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
