"""The one seam through which ngrad gets its array module.

Every op asks :func:`get_array_module` for the module that owns its arrays
(NumPy today, CuPy when a user turns it on), so no op imports NumPy for math
directly. CuPy is imported lazily, only by :func:`use_cupy`, so ``import ngrad``
never pays for it and machines without a GPU never see it. The optional
compiled kernels (Numba) are switched here too: :func:`numba_kernels`,
:func:`set_numba_enabled`.

Examples
--------
>>> import numpy
>>> from ngrad.backend import get_array_module
>>> get_array_module(numpy.zeros(3)) is numpy
True
"""
from __future__ import annotations

import importlib
import importlib.util
import os

import numpy

_cupy = None  # the cupy module once use_cupy() succeeded, else None


def get_array_module(*arrays):
    """Return the array module (``numpy`` or ``cupy``) that owns ``arrays``.

    Costs one global lookup while CuPy is off, so ops may call it freely.
    """
    if _cupy is None:
        return numpy
    for a in arrays:
        if isinstance(a, _cupy.ndarray):
            return _cupy
    return numpy


def use_cupy():
    """Import CuPy and let ops dispatch to it for CuPy arrays.

    Raises ``RuntimeError`` with the reason when CuPy or a GPU is missing.
    """
    global _cupy
    try:
        import cupy  # noqa: PLC0415 - lazy on purpose
        cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # ImportError, CUDARuntimeError, ...
        raise RuntimeError(f"the CuPy backend is unavailable: {e}") from e
    _cupy = cupy
    return cupy


def cupy_enabled() -> bool:
    """True once :func:`use_cupy` succeeded."""
    return _cupy is not None


def to_numpy(a):
    """Return ``a`` as a NumPy array (copies from the GPU for CuPy arrays)."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return numpy.asarray(a)


# Data types ngrad knows by name; float32 is the default for floating data.
float16 = numpy.float16
float32 = numpy.float32
float64 = numpy.float64
int32 = numpy.int32
int64 = numpy.int64
bool_ = numpy.bool_

_default_float = numpy.dtype(numpy.float32)


def get_default_dtype():
    """The dtype given to floating data when none is asked for (float32)."""
    return _default_float


def set_default_dtype(dtype):
    """Set the default floating dtype (``ngrad.float32`` or ``ngrad.float64``).

    Course reproductions that must match NumPy's float64 digits use float64.
    """
    global _default_float
    dt = numpy.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dt}")
    _default_float = dt


def env_switch(name: str) -> bool:
    """An on/off environment switch of ngrad's, on by default: False only for 0/false/no/off."""
    return os.environ.get(name, "1").strip().lower() not in ("0", "false", "no", "off")


# ------------------------------------------------------------------ optional compiled kernels (Numba)
_numba = {"enabled": env_switch("NGRAD_NUMBA"), "modules": {}}


def numba_kernels(module: str):
    """The kernel module ``ngrad.<module>`` (e.g. ``"ops._numba_conv"``) when Numba is installed and
    the kernels are on, else None (the caller then runs its NumPy path).

    Kernel modules import Numba at their top and are imported here on first
    use only, so ``import ngrad`` never imports Numba.
    """
    if not _numba["enabled"]:
        return None
    found = _numba["modules"]
    if module not in found:
        try:
            found[module] = importlib.import_module(f"ngrad.{module}")
        except ImportError:
            found[module] = None
    return found[module]


def set_numba_enabled(flag: bool) -> bool:
    """Turn every compiled (Numba) kernel on or off; returns the previous setting.

    They are on by default when Numba is installed (``pip install "ngrad[fast]"``);
    ``NGRAD_NUMBA=0`` in the environment turns them off at start. Both paths
    give the same results to float rounding.
    """
    prev = _numba["enabled"]
    _numba["enabled"] = bool(flag)
    return prev


def numba_enabled() -> bool:
    """True when the compiled kernels are on and Numba can be imported."""
    if not _numba["enabled"]:
        return False
    return importlib.util.find_spec("numba") is not None
