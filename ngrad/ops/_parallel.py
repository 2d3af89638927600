"""A convolution's batch chunks (and batch norm's channels) on several threads, with BLAS
at one thread meanwhile.

The im2col convolutions (:mod:`ngrad.ops.conv`) run a loop over batch chunks:
unfold a chunk (a compiled kernel that releases the GIL), then a few small
GEMMs (NumPy releases the GIL in BLAS). Left to itself, a multi-threaded
OpenBLAS splits each of those small GEMMs over its threads, and that is
slower than one thread: a ResNet layer of 16 channels at 32x32, batch 64,
took 19.4 ms a forward with 2 BLAS threads against 9.6 ms with one. So while
the chunks run, BLAS is set to one thread (through threadpoolctl, restored
afterwards), and the chunks are split between as many Python threads as BLAS
had: the same cores, used by whole chunks instead of slivers of GEMMs
(that layer: about 6 ms on 2 threads). With Numba, a thread's run of chunks
is one compiled call that holds no GIL at all
(:mod:`ngrad.ops._numba_im2col`); before, each chunk's Python took the
GIL back between its calls and waited for the other thread to drop it (the
same layer, paired in one process: 6.4 -> 5.1 ms forward, 11.6 -> 8.9 ms
backward).

The number of threads follows BLAS's own setting, so ``OPENBLAS_NUM_THREADS=1``
(or ``OMP_NUM_THREADS=1``, or threadpoolctl) keeps everything on the calling
thread. Without threadpoolctl, or without the compiled kernels, nothing here
runs and BLAS is left alone. Each worker builds its columns in its own buffer
(:func:`ngrad.ops.conv_utils.workspace` is per thread) and writes disjoint
images of the output, so the output and the input gradient are the serial
loop's numbers bit for bit. The chunks go in ``RUNS_PER_THREAD`` runs per
thread, and each thread takes the next run when it is done with one, so a
thread that is slowed (another process on its core; measured on a ResNet-14
step, 2 threads: paired 0.90-0.99 of the time against one run per thread)
leaves more of them to the others. A sum over chunks (the weight gradient) is
summed by each run over its chunks, in order, and the runs' sums are added in
run order on the calling thread: the same numbers whichever thread ran which
run, on one thread the serial numbers, on more the same up to rounding.

The compiled BatchNorm2d kernels (:mod:`ngrad.ops._numba_bn`) share out
their channels the same way: channels are independent, so the numbers are
the same bits on any number of threads.

While a parallel region runs, BLAS calls from other threads of the process
also run on one thread.
"""
from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

#: multiply-adds below which a loop stays on the calling thread (handing work over costs more)
MIN_WORK = 1 << 21
#: elements of an elementwise pass (batch norm) below which it stays on the calling thread
MIN_ELEMENTS = 1 << 21
#: runs of chunks per thread: each thread takes the next run when it is done with one, so a thread
#: that is slowed (another process on its core) takes fewer
RUNS_PER_THREAD = 4
#: multiply-adds of one GEMM from which OpenBLAS splits it over its threads
MIN_GEMM = 1 << 18

_lock = threading.Lock()
_UNSET = object()
_blas = _UNSET  # threadpoolctl's controller of NumPy's BLAS, or None where there is none
_pool = None  # ThreadPoolExecutor, grown to the largest worker count asked for
_pool_size = 0
_depth = 0  # parallel regions running (they may nest or overlap from several threads)
_saved = 1  # BLAS's thread count before the outermost region


def _after_fork_in_child() -> None:
    """A forked child (e.g. a process pool's worker) has none of the parent's threads: forget the
    pool and any region that was running, and take a fresh lock (the parent's may have been held)."""
    global _lock, _pool, _pool_size, _depth
    _lock = threading.Lock()
    _pool, _pool_size, _depth = None, 0, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _blas_controller():
    """threadpoolctl's controller of the BLAS that NumPy calls, or None (no threadpoolctl, or
    no BLAS that is NumPy's)."""
    global _blas
    if _blas is _UNSET:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = None
        else:
            _blas = _numpys_blas(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _blas


def _numpys_blas(found):
    """Of the BLAS libraries loaded, NumPy's: the one its wheel bundles (SciPy's wheel
    brings a second OpenBLAS), else the only one."""
    import numpy

    bundled = os.path.dirname(os.path.abspath(numpy.__file__))  # .../numpy; its libraries in .../numpy.libs
    mine = [c for c in found if os.path.abspath(c.filepath or "").startswith(bundled)]
    if len(mine) == 1:
        return mine[0]
    return found[0] if len(found) == 1 else None


def workers(chunks: int) -> int:
    """How many threads a loop over ``chunks`` batch chunks may use: BLAS's thread count
    (at most one per chunk), 1 inside a running region, without threadpoolctl or with
    BLAS at one thread."""
    if chunks < 2 or _depth:
        return 1
    blas = _blas_controller()
    if blas is None:
        return 1
    return max(1, min(chunks, blas.num_threads))


def _enter(blas) -> None:
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = blas.num_threads
            blas.set_num_threads(1)
        _depth += 1


def _leave(blas) -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0:
            blas.set_num_threads(_saved)


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="ngrad-conv")
            _pool_size = size
        return _pool


def split(n: int, step: int, parts: int) -> list:
    """[(lo, hi), ...]: images [0, n) in ``parts`` runs of whole chunks of ``step`` images
    (the serial loop's chunks, so each run's chunks are the same)."""
    chunks = -(-n // step)
    bounds = [min(n, (i * chunks // parts) * step) for i in range(parts + 1)]
    return [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def run(fn, n: int, step: int, parallel: bool = True) -> list:
    """``fn(lo, hi)`` over runs of the items [0, n) (images, channels) in chunks of ``step``: on
    the calling thread alone, or split between :func:`workers` threads (BLAS at one thread until
    all are done). Returns the results in item order, one per run."""
    count = workers(-(-n // step)) if parallel else 1
    if count == 1:  # (one chunk: BLAS keeps its threads, which pay on one large GEMM)
        return [fn(0, n)]
    blas = _blas_controller()
    runs = split(n, step, count * RUNS_PER_THREAD)
    results = [None] * len(runs)
    taken = itertools.count()  # the next run's index (next() is atomic: it holds the GIL)

    def take():  # runs, one after another, until none is left
        while True:
            i = next(taken)
            if i >= len(runs):
                return
            results[i] = fn(*runs[i])

    _enter(blas)
    try:
        pool = _executor(count - 1)
        futures = [pool.submit(take) for _ in range(count - 1)]
        try:
            take()
        finally:
            for f in futures:  # wait for every worker before BLAS is restored
                f.result()
        return results
    finally:
        _leave(blas)
