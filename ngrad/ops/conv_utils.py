"""Convolution geometry and the im2col/col2im machinery, in one place.

Everything here works on NCHW arrays (see ``docs/conv_layout.md`` for why
ngrad's convolutions are channels-first). The ops in :mod:`ngrad.ops.conv`,
:mod:`ngrad.ops.pool` and :mod:`ngrad.ops.upsample` get their padding,
output sizes, window views and column matrices from here and nowhere else.

Column layout ("planar"): ``im2col`` of x (N, C, H, W) is the matrix

    cols[(c, i, j), (n, oh, ow)] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]

of shape (C*kh*kw, N*Ho*Wo): channels and kernel offsets down, batch and
output positions across. A convolution is then ``W.reshape(F, -1) @ cols``
-> (F, N*Ho*Wo), one GEMM whose long axis is batch x space even when F and C
are small, and the copy that builds ``cols`` moves runs of ``Wo`` contiguous
floats (never runs of ``C``, which are 1-3 floats in a first layer).
``col2im`` is its exact adjoint: ``<im2col(x), c> == <x, col2im(c)>``.

The ops build ``cols`` a batch chunk at a time into a reused buffer
(:class:`ColumnChunks` over :func:`workspace`), so the columns of a whole
batch never exist at once.

With Numba installed and enabled (:func:`ngrad.backend.numba_kernels`),
:func:`unfold` and :func:`col2im` run compiled loops
(:mod:`ngrad.ops._numba_im2col`) for C-contiguous float32/float64 NumPy
arrays: they read the unpadded input and write zeros where a window reaches
into the padding, so no padded copy of the input (nor of the gradient grid)
is made; the numbers are NumPy's bit for bit. Other arrays take the NumPy
path: a padded copy (:func:`pad2d`), then one strided copy of its window view.

Examples
--------
>>> import numpy as np
>>> g = conv_geometry("conv2d", (5, 5), 3, stride=2, padding="same")
>>> (g.ho, g.wo), g.pads
((3, 3), ((1, 1), (1, 1)))
>>> x = np.arange(2 * 1 * 5 * 5, dtype=np.float64).reshape(2, 1, 5, 5)
>>> im2col(x, g).shape
(9, 18)
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy

from ngrad.backend import get_array_module, numba_kernels
from ngrad.errors import ShapeError

#: target size of one chunk of columns; a chunk of this size stays in L2
CHUNK_BYTES = 1 << 20
#: largest scratch buffer kept for reuse (bigger ones, e.g. one huge image's columns, are freed after use)
WORKSPACE_MAX_BYTES = 64 << 20
#: output positions per image from which a convolution uses one GEMM per image
BATCH_MAJOR_MIN = 256


# ------------------------------------------------------------------ arguments
def pair(value, what: str, op: str) -> tuple:
    """``value`` (an int or a pair of ints) as a pair of positive ints."""
    if isinstance(value, int):
        value = (value, value)
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ShapeError(f"{op}: {what} must be an int or a pair of ints, got {value!r}") from None
    if a < 1 or b < 1:
        raise ShapeError(f"{op}: {what} must be positive, got {value!r}")
    return a, b


def same_padding(size: int, k: int, s: int = 1, d: int = 1) -> tuple:
    """Keras/TensorFlow ``'same'`` padding of one axis as (before, after).

    The output has ``ceil(size / s)`` positions; the padding that needs is
    split evenly, the odd one out at the end (bottom/right).

    >>> same_padding(64, 4), same_padding(5, 3, 2), same_padding(6, 1, 2)
    ((1, 2), (1, 1), (0, 0))
    """
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _pads(padding, op: str) -> tuple:
    """An int, (ph, pw) or ((top, bottom), (left, right)) as the latter."""
    if isinstance(padding, int):
        padding = (padding, padding)
    try:
        ph, pw = padding
        ph = (ph, ph) if isinstance(ph, int) else tuple(ph)
        pw = (pw, pw) if isinstance(pw, int) else tuple(pw)
        pads = (tuple(int(p) for p in ph), tuple(int(p) for p in pw))
        assert len(pads[0]) == len(pads[1]) == 2
    except (TypeError, ValueError, AssertionError):
        raise ShapeError(
            f"{op}: padding must be 'valid', 'same', an int, (ph, pw) or ((top, bottom), (left, right)); "
            f"got {padding!r}"
        ) from None
    if min(pads[0] + pads[1]) < 0:
        raise ShapeError(f"{op}: padding must not be negative, got {padding!r}")
    return pads


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of one sliding-window op over an (H, W) input.

    ``h, w``: input size; ``kh, kw``: kernel; ``sh, sw``: stride; ``dh, dw``:
    dilation; ``pads``: ((top, bottom), (left, right)). Derived: the padded
    size ``hp, wp`` and the output size ``ho, wo``.
    """

    h: int
    w: int
    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    dh: int = 1
    dw: int = 1
    pads: tuple = ((0, 0), (0, 0))

    @property
    def hp(self) -> int:
        return self.h + self.pads[0][0] + self.pads[0][1]

    @property
    def wp(self) -> int:
        return self.w + self.pads[1][0] + self.pads[1][1]

    @property
    def ho(self) -> int:
        return (self.hp - self.dh * (self.kh - 1) - 1) // self.sh + 1

    @property
    def wo(self) -> int:
        return (self.wp - self.dw * (self.kw - 1) - 1) // self.sw + 1

    @property
    def padded(self) -> bool:
        return any(self.pads[0]) or any(self.pads[1])

    @property
    def kk(self) -> int:
        return self.kh * self.kw


def conv_geometry(op: str, in_hw, kernel, stride=1, padding="valid", dilation=1) -> ConvGeometry:
    """Check and resolve the arguments of a sliding-window op.

    ``padding`` is ``'valid'`` (none), ``'same'`` (Keras/TensorFlow: output
    ``ceil(H / stride)``, asymmetric when needed with the extra row/column at
    the bottom/right), an int, (ph, pw) or ((top, bottom), (left, right)).
    Raises :class:`~ngrad.ShapeError` naming ``op`` when the (padded) input
    is smaller than the (dilated) kernel.
    """
    h, w = in_hw
    kh, kw = pair(kernel, "kernel_size", op)
    sh, sw = pair(stride, "stride", op)
    dh, dw = pair(dilation, "dilation", op)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            pads = (same_padding(h, kh, sh, dh), same_padding(w, kw, sw, dw))
        else:
            raise ShapeError(f"{op}: padding must be 'valid', 'same' or numbers, got {padding!r}")
    else:
        pads = _pads(padding, op)
    g = ConvGeometry(h, w, kh, kw, sh, sw, dh, dw, pads)
    if g.ho < 1 or g.wo < 1:
        raise ShapeError(
            f"{op}: input of spatial size {(h, w)} (padded {(g.hp, g.wp)}) is smaller than the "
            f"kernel {(kh, kw)} with dilation {(dh, dw)}"
        )
    return g


# ------------------------------------------------------------------ buffers
_local = threading.local()


def workspace(name: str, shape, dtype, xp):
    """A reused scratch array of ``shape`` (contents undefined).

    One flat buffer per (name, dtype) and thread, grown when needed (up to
    ``WORKSPACE_MAX_BYTES``; larger requests get a fresh array); callers must
    not keep the result past their own use (it is handed out again).
    """
    size = math.prod(shape)
    if size * xp.dtype(dtype).itemsize > WORKSPACE_MAX_BYTES:  # rare huge images: not kept
        return xp.empty(shape, dtype)
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (name, xp.dtype(dtype).str, xp.__name__)
    buf = pool.get(key)
    if buf is None or buf.size < size:
        buf = pool[key] = xp.empty(max(size, 1), dtype)
    return buf[:size].reshape(shape)


def use_batch_major(g: ConvGeometry) -> bool:
    """Column layout for a convolution: one GEMM per image when the output
    planes are large enough (>= ``BATCH_MAJOR_MIN`` positions) to make
    good GEMMs on their own (no transposing pass afterwards), else planar
    (the batch folded into one GEMM per chunk)."""
    return g.ho * g.wo >= BATCH_MAJOR_MIN


def chunk_images(per_image_elems: int, itemsize: int, n: int) -> int:
    """How many images one chunk of ``per_image_elems`` columns each holds."""
    return max(1, min(n, CHUNK_BYTES // max(per_image_elems * itemsize, 1)))


# ------------------------------------------------------------------ padding
def pad2d(x, pads, value=0.0):
    """x (N, C, H, W) padded by ((top, bottom), (left, right)) with ``value``.

    Returns ``x`` itself when there is nothing to pad, else a new array.
    """
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.empty((n, c, h + t + b, w + l + r), dtype=x.dtype)  # (N, C, Hp, Wp)
    if t:
        out[:, :, :t] = value
    if b:
        out[:, :, t + h:] = value
    if l:
        out[:, :, t:t + h, :l] = value
    if r:
        out[:, :, t:t + h, l + w:] = value
    out[:, :, t:t + h, l:l + w] = x
    return out


def crop2d(xpad, pads):
    """The inverse of :func:`pad2d`: a view of the unpadded part."""
    (t, b), (l, r) = pads
    h, w = xpad.shape[-2:]
    return xpad[..., t:h - b, l:w - r]


# ------------------------------------------------------------------ windows
def window_view(xpad, g: ConvGeometry, batch_major: bool = False):
    """The sliding windows of a padded input as a strided view (no copy).

    xpad (N, C, Hp, Wp) -> (C, kh, kw, N, Ho, Wo) with
    ``view[c, i, j, n, oh, ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]``,
    or (N, C, kh, kw, Ho, Wo) when ``batch_major``.
    """
    xp = get_array_module(xpad)
    n, c = xpad.shape[:2]
    s_n, s_c, s_h, s_w = xpad.strides
    kernel, kstrides = (g.kh, g.kw), (g.dh * s_h, g.dw * s_w)
    out, ostrides = (g.ho, g.wo), (g.sh * s_h, g.sw * s_w)
    if batch_major:
        return xp.lib.stride_tricks.as_strided(xpad, (n, c) + kernel + out, (s_n, s_c) + kstrides + ostrides)
    return xp.lib.stride_tricks.as_strided(xpad, (c,) + kernel + (n,) + out, (s_c,) + kstrides + (s_n,) + ostrides)


def offset_slice(g: ConvGeometry, i: int, j: int):
    """Index of the input positions that kernel offset (i, j) reads, as (rows, cols) slices."""
    r0, c0 = i * g.dh, j * g.dw
    return (slice(r0, r0 + g.sh * (g.ho - 1) + 1, g.sh), slice(c0, c0 + g.sw * (g.wo - 1) + 1, g.sw))


def im2col_kernels(*arrays):
    """The compiled im2col/col2im kernels when they can take ``arrays`` (NumPy,
    C-contiguous, all of one dtype, float32 or float64) and Numba is on, else None."""
    dtype = arrays[0].dtype
    if dtype.char not in "fd":
        return None
    for a in arrays:
        if type(a) is not numpy.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
            return None
    return numba_kernels("ops._numba_im2col")


def _is_padded(x, g: ConvGeometry) -> bool:
    """Whether x (n, C, ., .) is the padded input (Hp, Wp) rather than the input (H, W) of ``g``."""
    hw = tuple(x.shape[2:])
    if hw == (g.hp, g.wp):
        return True  # also when g pads nothing: then the two are one
    if hw != (g.h, g.w):
        raise ShapeError(f"unfold: input of spatial size {hw} fits neither {(g.h, g.w)} nor, padded, "
                         f"{(g.hp, g.wp)}")
    return False


def source_pads(x, g: ConvGeometry) -> tuple:
    """(top, left): the padding the compiled im2col adds to x (n, C, ., .) for ``g``, nothing
    when x is already the padded input (see :func:`unfold`)."""
    return (0, 0) if _is_padded(x, g) else (g.pads[0][0], g.pads[1][0])


def _planes(g: ConvGeometry, n: int, c: int, batch_major: bool) -> tuple:
    """The column matrix's shape as planes: (n, C, kh, kw, Ho, Wo) or, planar, (C, kh, kw, n, Ho, Wo)."""
    if batch_major:
        return n, c, g.kh, g.kw, g.ho, g.wo
    return c, g.kh, g.kw, n, g.ho, g.wo


def unfold_source(x, g: ConvGeometry):
    """The array that the columns of a convolution over x (N, C, H, W) are built from:
    x itself when the compiled kernels take it (they pad on the fly), else its
    padded copy (N, C, Hp, Wp). Either goes to :func:`unfold`."""
    if im2col_kernels(x) is not None:
        return x
    return pad2d(x, g.pads)


def unfold(x, g: ConvGeometry, out=None, batch_major: bool = False):
    """Columns of x (n, C, H, W), or of the already padded xpad (n, C, Hp, Wp).

    The two are told apart by their spatial size (when ``g`` pads nothing
    they are one). Planar: (C*kh*kw, n*Ho*Wo); ``batch_major``:
    (n, C*kh*kw, Ho*Wo), one column matrix per image. Written into ``out``
    when given (a C-contiguous array of that size).
    """
    xp = get_array_module(x)
    n, c = x.shape[:2]
    padded = _is_padded(x, g)
    shape = (n, c * g.kk, g.ho * g.wo) if batch_major else (c * g.kk, n * g.ho * g.wo)
    if out is None:
        out = xp.empty(shape, dtype=x.dtype)
    k = im2col_kernels(x, out)
    if k is not None:  # one compiled pass, the padding written as zeros
        pt, pl = (0, 0) if padded else (g.pads[0][0], g.pads[1][0])
        k.unfold(x, out.reshape(_planes(g, n, c, batch_major)), g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, pt, pl,
                 batch_major)
        return out.reshape(shape)
    xpad = x if padded else pad2d(x, g.pads)
    view = window_view(xpad, g, batch_major)
    out = out.reshape(view.shape)
    out[...] = view
    return out.reshape(shape)


class ColumnChunks:
    """The columns of x (N, C, H, W) (or of its padded copy) for a convolution
    ``g``, a batch chunk at a time, into one reused buffer.

    What holds for the whole batch is settled once per op: the chunk size
    (``step`` images, about ``CHUNK_BYTES`` of columns), the buffer, and the
    compiled kernel or the NumPy path. A chunk then costs one kernel call:
    a ResNet's 32x32 stage has one image per chunk, 64 chunks per layer and
    pass, and :func:`unfold`'s checks and :func:`workspace` per chunk cost
    more than a tenth of the copy itself. Columns as :func:`unfold`'s:
    (m, C*kh*kw, Ho*Wo) per chunk of m images when ``batch_major``, else
    (C*kh*kw, m*Ho*Wo). ``x=None`` gives the buffer alone (:meth:`buffer`).
    """

    __slots__ = ("x", "g", "batch_major", "c", "k", "p", "step", "_flat", "_kernel", "_pads")

    def __init__(self, x, g: ConvGeometry, batch_major: bool, n: int, c: int, dtype, xp):
        self.x, self.g, self.batch_major, self.c = x, g, batch_major, c
        self.k, self.p = c * g.kk, g.ho * g.wo
        self.step = chunk_images(self.k * self.p, xp.dtype(dtype).itemsize, n)
        self._flat = workspace("cols", (self.step * self.k * self.p,), dtype, xp)
        self._kernel = None if x is None else im2col_kernels(x, self._flat)
        self._pads = (0, 0) if x is None else source_pads(x, g)

    def buffer(self, m: int):
        """The buffer shaped as the columns of m images (contents undefined)."""
        size = m * self.k * self.p
        if self.batch_major:
            return self._flat[:size].reshape(m, self.k, self.p)
        return self._flat[:size].reshape(self.k, m * self.p)

    def unfold(self, a: int, m: int):
        """The columns of images [a, a + m), in :meth:`buffer`'s array."""
        out = self.buffer(m)
        x, g = self.x[a:a + m], self.g
        if self._kernel is None:
            return unfold(x, g, out, self.batch_major)
        self._kernel.unfold(x, out.reshape(_planes(g, m, self.c, self.batch_major)), g.kh, g.kw, g.sh, g.sw,
                            g.dh, g.dw, self._pads[0], self._pads[1], self.batch_major)
        return out


def fold_add(cols, dxpad, g: ConvGeometry, batch_major: bool = False):
    """Add columns back onto a padded input grid: the adjoint of :func:`unfold`.

    cols (C*kh*kw, n*Ho*Wo) (or (n, C*kh*kw, Ho*Wo) when ``batch_major``) is
    added in place into dxpad (n, C, Hp, Wp), one strided add per kernel
    offset (overlapping windows accumulate).
    """
    n, c = dxpad.shape[:2]
    if batch_major:
        c6 = cols.reshape(n, c, g.kh, g.kw, g.ho, g.wo).transpose(1, 2, 3, 0, 4, 5)  # (C, kh, kw, n, Ho, Wo)
    else:
        c6 = cols.reshape(c, g.kh, g.kw, n, g.ho, g.wo)
    d = dxpad.transpose(1, 0, 2, 3)  # (C, n, Hp, Wp), a view
    for i in range(g.kh):
        for j in range(g.kw):
            rows, cols_ = offset_slice(g, i, j)
            d[:, :, rows, cols_] += c6[:, i, j]


def im2col(x, g: ConvGeometry, batch_major: bool = False):
    """x (N, C, H, W) -> cols (C*kh*kw, N*Ho*Wo) (or (N, C*kh*kw, Ho*Wo) when
    ``batch_major``), padding included (see module doc)."""
    return unfold(unfold_source(x, g), g, batch_major=batch_major)


def col2im(cols, g: ConvGeometry, n: int, c: int, batch_major: bool = False, out=None):
    """cols (C*kh*kw, N*Ho*Wo) (or (N, C*kh*kw, Ho*Wo)) -> (N, C, H, W): sums every
    column entry onto the input position it was copied from (padding dropped).
    The adjoint of :func:`im2col`. Written into ``out`` (N, C, H, W) when given.

    Compiled (see module doc), each input plane is summed in place, its kernel
    offsets in :func:`fold_add`'s order (the same numbers); else through a
    zeroed padded grid and :func:`fold_add`.
    """
    xp = get_array_module(cols)
    if out is None:
        out = xp.empty((n, c, g.h, g.w), dtype=cols.dtype)
    k = im2col_kernels(cols, out)
    if k is not None:
        k.fold(cols.reshape(_planes(g, n, c, batch_major)), out, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw,
               g.pads[0][0], g.pads[1][0], batch_major)
        return out
    dxpad = xp.zeros((n, c, g.hp, g.wp), dtype=cols.dtype)
    fold_add(cols, dxpad, g, batch_major)
    out[...] = crop2d(dxpad, g.pads)
    return out


# ------------------------------------------------------------------ layouts
def planar_to_nchw(planar, out, bias=None):
    """(F, n, P) planar GEMM output -> out (n, F, P), adding ``bias`` (F,) on the way."""
    xp = get_array_module(planar)
    src = planar.transpose(1, 0, 2)  # (n, F, P) view
    if bias is None:
        out[...] = src
    else:
        xp.add(src, bias[:, None], out=out)
    return out


def nchw_to_planar(y, out):
    """y (n, F, Ho, Wo) -> out (F, n*Ho*Wo), the layout of the GEMMs."""
    n, f = y.shape[:2]
    out.reshape(f, n, -1)[...] = y.reshape(n, f, -1).transpose(1, 0, 2)
    return out


def to_nhwc_array(x):
    """(N, C, H, W) -> (N, H, W, C), a contiguous copy."""
    return get_array_module(x).ascontiguousarray(x.transpose(0, 2, 3, 1))


def to_nchw_array(x):
    """(N, H, W, C) -> (N, C, H, W), a contiguous copy."""
    return get_array_module(x).ascontiguousarray(x.transpose(0, 3, 1, 2))
