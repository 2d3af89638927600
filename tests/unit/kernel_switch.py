"""Run a function with ngrad's compiled (Numba) kernels switched on or off, whatever NGRAD_NUMBA says."""
from ngrad import backend


def with_kernels(compiled, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with the compiled kernels on (``compiled``) or off; the setting is restored."""
    prev = backend.set_numba_enabled(compiled)
    try:
        return fn(*args, **kwargs)
    finally:
        backend.set_numba_enabled(prev)
