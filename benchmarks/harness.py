"""Timing and memory helpers used inside the per-framework processes."""
from __future__ import annotations

import gc
import math
import resource
import time


class Pending(Exception):
    """This framework's side of a workload does not exist yet (shown as "pending")."""


def ngrad_pending(*layers: str) -> Pending:
    """The "pending" of an ngrad side not written yet, saying which ``ngrad.nn`` layers it waits for."""
    import ngrad.nn

    missing = [n for n in layers if not hasattr(ngrad.nn, n)]
    if missing:
        return Pending("ngrad side not written yet; waits for " + ", ".join(f"ngrad.nn.{n}" for n in missing))
    return Pending("ngrad side not written yet (the layers it needs exist: " + ", ".join(layers) + ")")


class Timing:
    """How long to warm up and how many timed blocks to take."""

    def __init__(self, warmup_s: float, warmup_min: int, block_s: float, blocks: int):
        self.warmup_s = warmup_s
        self.warmup_min = warmup_min
        self.block_s = block_s
        self.blocks = blocks

    @classmethod
    def full(cls):
        return cls(warmup_s=0.3, warmup_min=2, block_s=0.1, blocks=15)

    @classmethod
    def quick(cls):
        return cls(warmup_s=0.0, warmup_min=1, block_s=0.0, blocks=2)

    def as_dict(self):
        return dict(self.__dict__)


def time_step(step, timing: Timing) -> dict:
    """Warm ``step`` up, then time ``timing.blocks`` blocks of repeated calls.

    A block repeats ``step`` enough times to last at least ``block_s`` seconds
    (judged from the warm-up). Returns the repetitions per block and, for
    every block, the wall seconds per call and the CPU seconds per call (the
    process's CPU time: with one thread, a block whose CPU time falls well
    short of its wall time spent that difference waiting for a core).
    """
    n = 0
    t0 = time.perf_counter()
    while n < timing.warmup_min or time.perf_counter() - t0 < timing.warmup_s:
        step()
        n += 1
    per_call = (time.perf_counter() - t0) / n
    reps = max(1, math.ceil(timing.block_s / per_call)) if timing.block_s > 0 and per_call > 0 else 1
    blocks, cpu = [], []
    for _ in range(timing.blocks):
        c = time.process_time()
        t = time.perf_counter()
        for _ in range(reps):
            step()
        blocks.append((time.perf_counter() - t) / reps)
        cpu.append((time.process_time() - c) / reps)
    gc.collect()
    return {"reps": reps, "warmup_calls": n, "block_s_per_call": blocks, "block_cpu_s_per_call": cpu}


def tracemalloc_peak_mib(step, calls: int = 3) -> float:
    """Peak of the allocations traced while ``step`` runs ``calls`` times, MiB.

    NumPy reports its data buffers to tracemalloc (PyTorch does not), so this
    is the working set of a NumPy-based step: arrays alive at the same moment.
    Taken after the timed blocks so tracing never slows them.
    """
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for _ in range(calls):
            step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def peak_rss_mib() -> float:
    """This process's peak resident set size, MiB.

    ``VmHWM`` from ``/proc/self/status`` where there is one: ``ru_maxrss``
    also counts the parent's memory at the moment of the fork, so on Linux
    it is never below the runner's own size.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
