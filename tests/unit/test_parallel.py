"""Convolutions over batch chunks and batch norm over channels on several threads
(ngrad.ops._parallel): the same numbers as one thread, BLAS at one thread inside the region and
restored after it."""
import threading

import numpy as np
import pytest

import ngrad
from ngrad import backend
from ngrad.ops import _parallel, conv_utils
from ngrad.ops.batchnorm2d import batch_norm2d
from ngrad.ops.conv import conv2d

pytest.importorskip("numba")
threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture
def blas():
    controller = _parallel._blas_controller()
    if controller is None:
        pytest.skip("no single BLAS library found by threadpoolctl")
    before = controller.num_threads
    yield controller
    controller.set_num_threads(before)


def _two_blas_threads(controller):
    controller.set_num_threads(2)
    if controller.num_threads < 2:
        pytest.skip("BLAS will not take 2 threads here")


def _on_one_and_two_threads(monkeypatch, blas, run):
    """``run()`` with the compiled kernels, BLAS at one thread and then at two; checks that the
    second really split its work between threads. -> (one-thread result, two-thread result)."""
    prev = backend.set_numba_enabled(True)
    try:
        blas.set_num_threads(1)
        one = run()
        _two_blas_threads(blas)
        calls, split = [], _parallel.split

        def recording_split(*args):
            calls.append(args)
            return split(*args)

        monkeypatch.setattr(_parallel, "split", recording_split)
        two = run()
    finally:
        backend.set_numba_enabled(prev)
    assert calls, "the work never ran on two threads"
    return one, two


def test_split_runs_whole_chunks_over_every_image():
    assert _parallel.split(10, 3, 2) == [(0, 6), (6, 10)]  # chunks [0,3) [3,6) | [6,9) [9,10)
    assert _parallel.split(64, 1, 2) == [(0, 32), (32, 64)]
    assert _parallel.split(5, 2, 4) == [(0, 2), (2, 4), (4, 5)]  # no empty run
    for n, step, parts in [(7, 2, 3), (64, 7, 2), (1, 1, 2), (100, 9, 5)]:
        runs = _parallel.split(n, step, parts)
        assert runs[0][0] == 0 and runs[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(runs, runs[1:]))
        assert all(lo % step == 0 for lo, _ in runs)


def test_run_uses_the_blas_threads_with_blas_at_one_thread_inside(blas):
    _two_blas_threads(blas)
    seen = []

    caller = threading.get_ident()
    started = {True: threading.Event(), False: threading.Event()}  # the caller / the worker in a run

    def fn(lo, hi):
        seen.append((threading.get_ident(), blas.num_threads, _parallel.workers(8)))
        mine = threading.get_ident() == caller
        started[mine].set()
        assert started[not mine].wait(30)  # each thread held until the other has taken a run too
        return lo, hi

    # 4 chunks of 2 on 2 threads: runs of one chunk each (RUNS_PER_THREAD), taken as threads free up
    assert _parallel.run(fn, 8, 2) == [(0, 2), (2, 4), (4, 6), (6, 8)]  # in item order, whoever ran them
    assert len({ident for ident, _, _ in seen}) == 2  # the calling thread and one worker
    assert all(threads == 1 for _, threads, _ in seen)  # BLAS at one thread meanwhile
    assert all(nested == 1 for _, _, nested in seen)  # no nested split
    assert blas.num_threads == 2  # restored


def test_run_stays_on_the_calling_thread_when_blas_has_one_thread_or_one_chunk(blas):
    blas.set_num_threads(1)
    assert _parallel.run(lambda lo, hi: threading.get_ident(), 8, 2) == [threading.get_ident()]
    _two_blas_threads(blas)
    assert _parallel.run(lambda lo, hi: (lo, hi), 3, 4) == [(0, 3)]  # one chunk
    assert _parallel.run(lambda lo, hi: (lo, hi), 8, 2, parallel=False) == [(0, 8)]


def test_run_restores_blas_when_a_run_fails(blas):
    _two_blas_threads(blas)

    def fn(lo, hi):
        if lo:
            raise ValueError("worker failed")
        return lo

    with pytest.raises(ValueError, match="worker failed"):
        _parallel.run(fn, 8, 2)
    assert blas.num_threads == 2 and _parallel._depth == 0


@pytest.mark.parametrize("kernel, stride, size", [(3, 1, 16), (3, 2, 16), (3, 1, 6),  # batch-major, col2im, planar
                                                  (1, 1, 6), (1, 2, 6)])  # 1x1: images split, no columns
def test_conv2d_on_two_threads_gives_the_one_thread_numbers(monkeypatch, blas, kernel, stride, size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 3, size, size)).astype(np.float32)
    w = rng.standard_normal((4, 3, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    monkeypatch.setattr(conv_utils, "CHUNK_BYTES", 2 * 27 * size * size * 4)  # 3x3: 2 images a chunk, 5 chunks
    monkeypatch.setattr(_parallel, "MIN_GEMM", 0)  # 1x1: split even these small GEMMs
    monkeypatch.setattr(_parallel, "MIN_WORK", 0)

    def run():
        xt = ngrad.tensor(x, requires_grad=True)
        wt = ngrad.tensor(w, requires_grad=True)
        bt = ngrad.tensor(b, requires_grad=True)
        y = conv2d(xt, wt, bt, stride=stride, padding=1 if kernel == 3 else 0)
        y.backward(ngrad.tensor(np.cos(np.arange(y.size, dtype=np.float32)).reshape(y.shape)))
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()

    one, two = _on_one_and_two_threads(monkeypatch, blas, run)
    np.testing.assert_array_equal(two[0], one[0])  # the output: disjoint images, the same GEMMs
    np.testing.assert_array_equal(two[1], one[1])  # the input gradient likewise
    np.testing.assert_allclose(two[2], one[2], rtol=1e-5, atol=1e-5)  # dW: the runs' sums added at the end
    np.testing.assert_array_equal(two[3], one[3])


def test_the_blas_controlled_is_numpys_even_beside_scipys():
    pytest.importorskip("scipy.linalg")  # SciPy's wheel loads a second OpenBLAS
    import os

    found = threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
    chosen = _parallel._numpys_blas(found)
    if chosen is None:
        pytest.skip("NumPy's BLAS is not one threadpoolctl finds here")
    numpy_dir = os.path.dirname(os.path.abspath(np.__file__))
    assert len(found) == 1 or os.path.abspath(chosen.filepath).startswith(numpy_dir)


@pytest.mark.parametrize("relu", [False, True])
def test_batch_norm2d_on_two_threads_gives_the_one_thread_numbers(monkeypatch, blas, relu):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6, 5, 5)).astype(np.float32)
    gamma = rng.standard_normal(6).astype(np.float32)
    beta = rng.standard_normal(6).astype(np.float32)
    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 0)  # split even these few channels

    def run():
        xt = ngrad.tensor(x, requires_grad=True)
        wt = ngrad.tensor(gamma, requires_grad=True)
        bt = ngrad.tensor(beta, requires_grad=True)
        rm, rv = np.zeros(6, np.float32), np.ones(6, np.float32)
        y = batch_norm2d(xt, rm, rv, wt, bt, training=True, activation="relu" if relu else None)
        y.backward(ngrad.tensor(np.sin(np.arange(y.size, dtype=np.float32)).reshape(y.shape)))
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(), rm, rv

    one, two = _on_one_and_two_threads(monkeypatch, blas, run)
    for a, b in zip(two, one):  # channels are independent: the same bits
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_threads(blas):
    import multiprocessing

    _two_blas_threads(blas)
    assert _parallel.run(lambda lo, hi: (lo, hi), 8, 2) == _parallel.split(8, 2, 8)  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:  # the child would wait forever on the parent's dead worker thread
        result = pool.apply_async(_parallel_run_in_child).get(timeout=60)
    assert result == _parallel.split(8, 2, 8)


def _parallel_run_in_child():
    return _parallel.run(lambda lo, hi: (lo, hi), 8, 2)


def test_a_slowed_thread_takes_fewer_runs(blas):
    """The threads take the next run as they finish one: the calling thread, held in its first
    run until the worker has taken every other one, runs that one alone, and the results stay in
    item order."""
    _two_blas_threads(blas)
    caller = threading.get_ident()
    ran, caller_in_a_run, others_done = {}, threading.Event(), threading.Event()

    def fn(lo, hi):
        ran[lo] = threading.get_ident()
        if threading.get_ident() == caller:
            caller_in_a_run.set()
            assert others_done.wait(30)
        else:
            assert caller_in_a_run.wait(30)
            if len(ran) == 8:
                others_done.set()
        return lo, hi

    assert _parallel.run(fn, 16, 2) == _parallel.split(16, 2, 8)
    assert len(ran) == 8 and sum(ident == caller for ident in ran.values()) == 1
