"""The machine a result came from: CPU, cores, memory, load, library versions, BLAS."""
from __future__ import annotations

import os
import platform
import sys
import time


def _cpuinfo() -> dict:
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" not in line:
                    if info:
                        break  # first processor block is enough
                    continue
                k, v = (s.strip() for s in line.split(":", 1))
                info.setdefault(k, v)
    except OSError:
        pass
    return info


def _mem_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def loadavg():
    """The 1, 5 and 15 minute load averages, or None where unknown."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_ticks():
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


def busy_cores(seconds: float = 0.5):
    """How many cores' worth of CPU the whole machine used over ``seconds`` (None where unknown)."""
    try:
        b0, t0 = _cpu_ticks()
        time.sleep(seconds)
        b1, t1 = _cpu_ticks()
    except (OSError, ValueError):
        return None
    return (b1 - b0) / max(t1 - t0, 1) * (os.cpu_count() or 1)


def wait_until_idle(max_wait_s: float, threshold: float, log=None):
    """Sleep until other processes use fewer than ``threshold`` cores, or ``max_wait_s`` passed.

    Returns (busy cores at the last look, seconds waited).
    """
    waited = 0.0
    busy = busy_cores()
    while busy is not None and busy >= threshold and waited < max_wait_s:
        if log and waited == 0:
            log(f"  waiting for the machine to quieten ({busy:.1f} cores busy)")
        time.sleep(2.0)
        waited += 2.5
        busy = busy_cores()
    return busy, waited


def _blas() -> str:
    import numpy

    try:
        cfg = numpy.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        text = f"{blas.get('name')} {blas.get('version')}"
        conf = blas.get("openblas configuration")
        return f"{text} ({conf})" if conf else text
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def _version(dist):
    """A distribution's version from its metadata, without importing it (the parent never imports torch)."""
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None


def _torch_version():
    return _version("torch")


def _numba_line():
    """Whether ngrad's optional compiled kernels run: Numba's version, or why not."""
    v = _version("numba")
    if v is None:
        return "not installed (ngrad runs its NumPy paths)"
    from ngrad.backend import numba_enabled  # reads NGRAD_NUMBA as the children will

    if not numba_enabled():
        return f"{v}, off (NGRAD_NUMBA=0: ngrad runs its NumPy paths)"
    return f"{v} (ngrad's compiled kernels on)"


def _heap_line():
    """Whether ngrad keeps freed memory in the heap (``ngrad.heap``), as its benchmark children will."""
    import ngrad  # noqa: F401 - importing applies NGRAD_HEAP_CACHE
    from ngrad.heap import heap_caching_enabled

    if heap_caching_enabled():
        return "on (ngrad.heap: freed memory kept for reuse)"
    return "off (NGRAD_HEAP_CACHE=0, or the C library is not glibc)"


def describe(threads: int) -> dict:
    import numpy

    cpu = _cpuinfo()
    flags = cpu.get("flags", "").split()
    return {
        "cpu": cpu.get("model name", platform.processor() or "unknown"),
        "cpu_family_model": f"family {cpu.get('cpu family', '?')} model {cpu.get('model', '?')}",
        "cpu_mhz": cpu.get("cpu MHz"),
        "simd": " ".join(x for x in ("avx2", "fma", "avx512f") if x in flags) or "unknown",
        "cores": os.cpu_count(),
        "memory_gib": _mem_total_gib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "blas": _blas(),
        "torch": _torch_version(),
        "numba": _numba_line(),
        "heap_cache": _heap_line(),
        "threads": threads,
    }


def summary_line(m: dict) -> str:
    return (
        f"{m['cpu']} ({m['cpu_family_model']}, {m['simd']}), {m['cores']} cores, {m['memory_gib']} GiB; "
        f"Python {m['python']}, NumPy {m['numpy']} ({m['blas']}), "
        f"PyTorch {m['torch'] or 'not installed'}, Numba {m.get('numba', 'unknown')}; ngrad heap caching {m.get('heap_cache', 'unknown')}; threads {m['threads']}"
    )
