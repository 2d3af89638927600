"""Optional compiled kernel (Numba) for Adam's update: one pass instead of twelve.

NumPy's in-place update (:meth:`ngrad.optim.Adam._adam_update`) reads and
writes ``W``, ``v``, ``s`` and a scratch buffer in twelve separate passes; this
loop does the same arithmetic, in the same order and precision, in one pass
(bit-identical results in float32 and float64). Imported only through
:func:`ngrad.backend.numba_kernels`, when Numba is installed and enabled.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def adam_update(W, g, v, s, beta1, one_minus_beta1, beta2, one_minus_beta2, e, a):
    """In place: ``v = beta1*v + (1-beta1)*g``, ``s = beta2*s + (1-beta2)*g*g``,
    ``W -= a * v / (sqrt(s) + e)``. 1-D arrays of one length and dtype (flat
    views of the parameter and its state); the scalars in that dtype (``a``
    and ``e`` carry the bias corrections)."""
    for i in range(W.size):
        gi = g[i]
        vi = beta1 * v[i] + one_minus_beta1 * gi
        si = beta2 * s[i] + one_minus_beta2 * (gi * gi)
        v[i] = vi
        s[i] = si
        W[i] -= a * (vi / (np.sqrt(si) + e))
