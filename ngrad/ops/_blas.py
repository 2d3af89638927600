"""NumPy's own GEMM, for compiled loops that call BLAS without Python in between.

A convolution's batch-chunk loop (:mod:`ngrad.ops.conv`) alternates an
im2col copy with a few small GEMMs. Run as Python, each chunk takes and
drops the GIL several times; with the chunks split between two threads
(:mod:`ngrad.ops._parallel`), every retake waits for the other thread, and
a ResNet step gained only 1.4x from a second core. The compiled chunk loops
(:mod:`ngrad.ops._numba_im2col`) call the same ``cblas_?gemm`` that
``numpy.matmul`` calls, through its address, so a whole run of chunks is one
call that holds no GIL, and the products are NumPy's bit for bit.

The address is looked up in the libraries that NumPy's core extension
module is linked against: NumPy's wheels bundle OpenBLAS built with 64-bit
integers and the symbols ``scipy_cblas_sgemm64_`` / ``scipy_cblas_dgemm64_``
(NumPy 2.x) or ``cblas_sgemm64_`` / ``cblas_dgemm64_`` (NumPy 1.26). Only
these 64-bit-integer interfaces are used; anywhere else (another BLAS, or a
platform where the lookup fails) :func:`gemm_address` is None and the
convolutions keep their Python loops, with the same numbers.
"""
from __future__ import annotations

import ctypes

import numpy

#: ``cblas_?gemm`` names with 64-bit integers, by dtype character, most likely first
SYMBOLS = {
    "f": ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
    "d": ("scipy_cblas_dgemm64_", "cblas_dgemm64_"),
}

_found: dict = {}


def _core_library():
    """ctypes' handle of NumPy's core extension module (its BLAS is among its dependencies), or None."""
    try:
        from numpy._core import _multiarray_umath as core  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import _multiarray_umath as core
    try:
        return ctypes.CDLL(core.__file__)
    except OSError:  # pragma: no cover - e.g. a frozen or static build
        return None


def gemm_address(dtype) -> int | None:
    """The address of NumPy's row-major ``cblas_sgemm`` (float32) or ``cblas_dgemm``
    (float64) with 64-bit integers, or None (another dtype, or no such function found)."""
    char = numpy.dtype(dtype).char
    if char not in SYMBOLS:
        return None
    if char not in _found:
        lib, address = _core_library(), None
        for name in SYMBOLS[char] if lib is not None else ():
            try:
                address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
                break
            except AttributeError:
                continue
        _found[char] = address
    return _found[char]
