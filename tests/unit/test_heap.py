"""ngrad.heap: freed array memory kept in glibc's heap for reuse, switchable, off where not glibc."""
import json
import os
import subprocess
import sys

import pytest

from ngrad import heap


def _glibc():
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


needs_glibc = pytest.mark.skipif(not _glibc(), reason="heap caching applies to glibc's malloc only")

# Allocate, touch and free 30 arrays of 3 MiB (90 MiB: above glibc's largest dynamic trim
# threshold of 64 MiB, each array below NumPy's 4 MiB huge-page advice) twice; report the
# minor page faults of the second round, when the first round's memory could be reused.
_PROBE = """
import json, resource, sys
import numpy as np
import ngrad
from ngrad.heap import heap_caching_enabled

def round_():
    arrays = [np.ones(3 * 2**20 // 8) for _ in range(30)]
    del arrays

def peak_kib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

round_()
peak1 = peak_kib()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
round_()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"on": heap_caching_enabled(), "faults": faults, "peak_growth_kib": peak_kib() - peak1}))
"""


def _probe(env_value):
    env = dict(os.environ)
    env.pop("NGRAD_HEAP_CACHE", None)
    if env_value is not None:
        env["NGRAD_HEAP_CACHE"] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _thp_always():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[always]" in f.read()
    except OSError:
        return False


@needs_glibc
def test_on_by_default_and_freed_memory_is_reused():
    r = _probe(None)
    assert r["on"] is True
    # 90 MiB are 23 thousand 4 KiB pages; reused heap memory faults (almost) none of them
    assert r["faults"] < 1500, r
    # and the second round reuses the first one's memory instead of adding to the peak
    assert r["peak_growth_kib"] < 8 * 1024, r


@needs_glibc
def test_environment_turns_it_off_and_the_pages_fault_again():
    off = _probe("0")
    assert off["on"] is False
    if not _thp_always():  # with transparent huge pages always on, faults come 2 MiB at a time
        assert off["faults"] > 10 * max(_probe(None)["faults"], 100), off


@needs_glibc
def test_switch_returns_previous_setting_and_restores():
    prev = heap.set_heap_caching(False)
    try:
        assert heap.heap_caching_enabled() is False
        assert heap.set_heap_caching(True) is False
        assert heap.heap_caching_enabled() is True
    finally:
        heap.set_heap_caching(prev)


def test_does_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_state", {"libc": None, "looked": True, "on": False})
    assert heap.set_heap_caching(True) is False
    assert heap.heap_caching_enabled() is False
