"""Optional compiled kernels (Numba) for image batch normalization (NCHW).

The NumPy path of :class:`ngrad.ops.batchnorm2d.BatchNorm2d` makes five
full-size passes in the forward and seven in the backward, each over the whole
batch. These kernels work one channel at a time on the 3-D view ``(N, C, HW)``,
so the channel's values stay in the CPU cache between passes:

- forward: the sum, the sum of squared deviations from the mean and the
  output ``y = (x - mean) * scale + bias``;
- backward: ``sum(g)`` with ``sum(g * (x - mean))``, then
  ``gx = k * g + c1 * (x - mean) + c0`` (coefficients from the module
  :mod:`ngrad.ops.batchnorm2d`'s formula).

With ``relu`` the forward writes ``max(y, 0)`` (BatchNorm followed by ReLU,
one pass instead of two) and the backward first masks ``g`` with ``y > 0``,
recomputing ``y`` from ``x`` with the forward's expression (the same bits), so
nothing but the input is kept for the backward. The numbers are those of the
ReLU op applied to the normalised output: NaN propagates through the forward,
and the mask multiplies by 1 or 0 as ``g * (y > 0)`` does.

Reductions add each row ``x[n, c, :]`` into a buffer of ``HW`` partial sums in
the input's dtype, move those into float64 partial sums every ``ROWS`` rows,
and add the float64 buffer up at the end, in order. The loops are elementwise,
so LLVM vectorises them without ``fastmath`` (8 float32 lanes, where float64
partial sums took 4 and a conversion each: for 64x16x32x32 on one core the
forward 0.99 -> 0.57 ms, the backward 1.15 -> 0.62 ms, 1.35 -> 1.0 ms with the
ReLU's mask), and the order of the additions is the code's: the fused ReLU
gives the unfused numbers bit for bit.
The mean sums ``x - x0`` (``x0`` the channel's first value) and adds ``x0``
back in float64, so its rounding follows the values' spread, not their size
(a constant channel has its value as mean, exactly). The variance is taken
about the rounded mean ``mc`` and corrected,
``(sum(d**2) - sum(d)**2 / M) / M`` with ``d = x - mc``: the variance about the
mean. The elementwise passes compute in the input's dtype in the NumPy path's
order, so float32 output matches it to float rounding. Without ``fastmath``
the arithmetic stays IEEE, so a NaN in a channel gives NaN statistics and
outputs for that channel, as NumPy does.
``error_model="numpy"`` makes a zero variance with ``eps=0`` give ``inf``
rather than raise.

Both kernels release the GIL and take a channel range, so that threads can
share the channels (:mod:`ngrad.ops._parallel`); the numbers do not depend on
the split. Imported only through :func:`ngrad.backend.numba_kernels` (Numba installed and
not switched off). Callers pass C-contiguous arrays of one float dtype.
"""
from __future__ import annotations

import numpy as np
from numba import njit


#: rows whose values a partial sum adds in the input's dtype before it is added to a float64 sum
ROWS = 64


@njit(inline="always")
def _flush(acc, total):
    """total[:] += acc (float64 += the input's dtype), then acc[:] = 0: the end of a run of rows."""
    zero = acc.dtype.type(0)
    for b in range(acc.size):
        total[b] += acc[b]
        acc[b] = zero


@njit(inline="always")
def _sum64(total):
    """float64 ``sum(total)``, in order."""
    s = 0.0
    for b in range(total.size):
        s += total[b]
    return s


@njit(inline="always")
def _relu(v, zero):
    """``max(v, 0)`` as the ReLU kernel computes it: NaN stays NaN, -0.0 becomes +0.0."""
    return v if (v > zero or v != v) else zero


@njit(inline="always")
def _affine(v, mc, sc, bc, has_bias):
    """The forward's ``(x - mean) * scale (+ bias)``, in x's dtype (one expression for both kernels)."""
    if has_bias:
        return (v - mc) * sc + bc
    return (v - mc) * sc


@njit(cache=True, error_model="numpy", nogil=True)
def bn_forward(x3, weight, bias, has_weight, has_bias, eps, y3, mean, var, inv_std, relu, c_lo, c_hi):
    """Training-mode batch norm forward on ``x3`` (N, C, HW), writing ``y3`` (N, C, HW).

    ``weight``, ``bias`` (C,) are read only when ``has_weight`` / ``has_bias``
    (pass any array of the dtype otherwise). Writes the batch ``mean``, the
    biased ``var`` and ``inv_std = 1 / sqrt(var + eps)``, each (C,) in x's
    dtype. ``y = (x - mean) * scale + bias`` with ``scale = inv_std * weight``,
    computed in x's dtype as the NumPy path does; ``max(y, 0)`` with ``relu``.
    Only the channels [c_lo, c_hi) (channels are independent: threads may split them).
    """
    n, nc, hw = x3.shape
    m = n * hw
    acc1, acc2 = np.zeros(hw, x3.dtype), np.zeros(hw, x3.dtype)  # per position: runs of ROWS rows
    tot1, tot2 = np.empty(hw), np.empty(hw)  # float64: the runs added up
    for c in range(c_lo, c_hi):
        x0 = x3[0, c, 0] if m else x3.dtype.type(0)  # a shift: the sums' rounding follows the spread, not the mean
        tot1[:] = 0.0
        for a in range(n):
            row = x3[a, c]
            for b in range(hw):
                acc1[b] += row[b] - x0
            if (a + 1) % ROWS == 0 or a + 1 == n:
                _flush(acc1, tot1)
        mean[c] = np.float64(x0) + _sum64(tot1) / m
        mc = mean[c]  # the rounded mean, as saved for the backward
        tot1[:] = 0.0
        tot2[:] = 0.0
        for a in range(n):
            row = x3[a, c]
            for b in range(hw):
                d = row[b] - mc
                acc1[b] += d
                acc2[b] += d * d
            if (a + 1) % ROWS == 0 or a + 1 == n:
                _flush(acc1, tot1)
                _flush(acc2, tot2)
        s1, s2 = _sum64(tot1), _sum64(tot2)
        v = (s2 - s1 * s1 / m) / m  # about the rounded mean, corrected: the variance about the mean
        if v < 0.0:  # rounding, for a constant channel (NaN stays NaN)
            v = 0.0
        var[c] = v
        inv_std[c] = 1.0 / np.sqrt(v + eps)
        sc = inv_std[c] * weight[c] if has_weight else inv_std[c]
        bc = bias[c] if has_bias else sc  # sc: an unread stand-in of the dtype
        zero = y3.dtype.type(0)
        for a in range(n):
            row, out = x3[a, c], y3[a, c]
            if relu:
                for b in range(hw):
                    out[b] = _relu(_affine(row[b], mc, sc, bc, has_bias), zero)
            else:
                for b in range(hw):
                    out[b] = _affine(row[b], mc, sc, bc, has_bias)


@njit(cache=True, error_model="numpy", nogil=True)
def bn_backward(x3, g3, mean, inv_std, weight, has_weight, bias, has_bias, relu, need_x, gx3, gw, gb, c_lo, c_hi):
    """Training-mode batch norm backward on ``x3``, ``g3`` (N, C, HW), the forward's ``mean``, ``inv_std`` (C,).

    Writes ``gb = sum(g)`` and ``gw = sum(g * (x - mean)) * inv_std`` (C,) and,
    when ``need_x``, ``gx3`` (N, C, HW) ``= k*g - (k*inv_std/M)*gw*(x - mean) - (k/M)*gb``
    with ``k = inv_std * weight`` (``weight`` read only when ``has_weight``).
    With ``relu``, ``g`` is first ``g * (y > 0)``, ``y`` recomputed from x, the
    weight and ``bias`` (C,) (read only when ``has_bias``) as :func:`bn_forward` computes it.
    Only the channels [c_lo, c_hi).
    """
    n, nc, hw = x3.shape
    m = n * hw
    acc_g, acc_s = np.zeros(hw, x3.dtype), np.zeros(hw, x3.dtype)  # per position: runs of ROWS rows
    tot_g, tot_s = np.empty(hw), np.empty(hw)  # float64: the runs added up
    one, zero = g3.dtype.type(1), g3.dtype.type(0)
    for c in range(c_lo, c_hi):
        mc = mean[c]
        sc = inv_std[c] * weight[c] if has_weight else inv_std[c]  # the forward's scale
        bc = bias[c] if has_bias else sc
        tot_g[:] = 0.0
        tot_s[:] = 0.0
        for a in range(n):
            row, grow = x3[a, c], g3[a, c]
            for b in range(hw):
                gv = grow[b]
                if relu:
                    gv = gv * (one if _affine(row[b], mc, sc, bc, has_bias) > zero else zero)
                acc_g[b] += gv
                acc_s[b] += gv * (row[b] - mc)
            if (a + 1) % ROWS == 0 or a + 1 == n:
                _flush(acc_g, tot_g)
                _flush(acc_s, tot_s)
        sg = _sum64(tot_g)
        gwc = _sum64(tot_s) * inv_std[c]
        gb[c] = sg
        gw[c] = gwc
        if not need_x:
            continue
        k = sc  # inv_std * weight in x's dtype, as the NumPy path
        kk = np.float64(k)
        c1 = gx3.dtype.type(-(kk * inv_std[c] / m) * gwc)
        c0 = gx3.dtype.type(-(kk / m) * sg)
        for a in range(n):
            row, grow, out = x3[a, c], g3[a, c], gx3[a, c]
            if relu:
                for b in range(hw):
                    gm = grow[b] * (one if _affine(row[b], mc, sc, bc, has_bias) > zero else zero)
                    out[b] = (gm * k + (row[b] - mc) * c1) + c0
            else:
                for b in range(hw):
                    out[b] = (grow[b] * k + (row[b] - mc) * c1) + c0
