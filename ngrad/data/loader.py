"""Mini-batches: the course's ``random_mini_batches`` and a resumable ``DataLoader``.

Two layouts meet here. The Deep Learning Specialization stores examples as
columns, ``X`` of shape ``(n_x, m)`` and ``Y`` of shape ``(1, m)``; ngrad (like
PyTorch and Keras) stores them as rows, ``X`` of shape ``(m, n_x)``. Both are
handled by saying which axis holds the examples.

Examples
--------
>>> import numpy as np
>>> X, Y = np.arange(12.0).reshape(2, 6), np.arange(6).reshape(1, 6)
>>> batches = random_mini_batches(X, Y, mini_batch_size=4, seed=0)
>>> [b[0].shape for b in batches]
[(2, 4), (2, 2)]
>>> loader = DataLoader(X.T, Y.ravel(), batch_size=4, shuffle=True, seed=0)
>>> [len(yb) for xb, yb in loader]
[4, 2]
"""
from __future__ import annotations

import math

import numpy

from ngrad.errors import ShapeError

__all__ = ["DataLoader", "random_mini_batches"]


def random_mini_batches(X, Y, mini_batch_size: int = 64, seed: int = 0, axis: int = 1):
    """Shuffle ``(X, Y)`` together and cut them into mini-batches, as the course does.

    The recipe of the course (C2W2, "Optimization Methods"): seed NumPy's legacy
    generator with ``seed``, draw ``permutation(m)``, shuffle both arrays with it,
    cut ``m // mini_batch_size`` complete batches and keep the last, smaller one.
    The permutation comes from ``numpy.random.RandomState(seed)``, which draws
    exactly what ``np.random.seed(seed); np.random.permutation(m)`` draws without
    touching NumPy's global generator.

    Parameters
    ----------
    X : ndarray, shape (n_x, m) with ``axis=1`` (course) or (m, n_x) with ``axis=0``
    Y : ndarray, shape (1, m) / (n_y, m) with ``axis=1``, (m,) / (m, n_y) with ``axis=0``
    mini_batch_size : int
    seed : int
    axis : int
        The axis of ``X`` and ``Y`` that holds the ``m`` examples: 1 for the
        course's column layout (the default, so course code runs unchanged),
        0 for ngrad's row layout.

    Returns
    -------
    list of (mini_batch_X, mini_batch_Y)
        ``ceil(m / mini_batch_size)`` pairs; each is a slice along ``axis``.
    """
    X, Y = numpy.asarray(X), numpy.asarray(Y)
    m = _num_examples((X, Y), axis, "random_mini_batches")
    _check_batch_size(mini_batch_size, "random_mini_batches")
    permutation = numpy.random.RandomState(seed).permutation(m)
    shuffled_X = numpy.take(X, permutation, axis=axis)
    shuffled_Y = numpy.take(Y, permutation, axis=axis)
    batches = []
    for start in range(0, m, mini_batch_size):
        stop = min(start + mini_batch_size, m)
        batches.append((_slice(shuffled_X, start, stop, axis), _slice(shuffled_Y, start, stop, axis)))
    return batches


def _slice(a, start: int, stop: int, axis: int):
    """``a[..., start:stop, ...]`` along ``axis`` (a view)."""
    index = [slice(None)] * a.ndim
    index[axis] = slice(start, stop)
    return a[tuple(index)]


def _num_examples(arrays, axis: int, who: str) -> int:
    """The common length of ``arrays`` along ``axis``; a clear error when they differ."""
    if not arrays:
        raise ValueError(f"{who}: expected at least one array")
    sizes = []
    for a in arrays:
        if a.ndim == 0 or not -a.ndim <= axis < a.ndim:
            raise ShapeError(f"{who}: an array of shape {a.shape} has no example axis {axis}")
        sizes.append(a.shape[axis])
    if len(set(sizes)) != 1:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ShapeError(
            f"{who}: the arrays hold different numbers of examples on axis {axis} "
            f"({', '.join(map(str, sizes))}; shapes {shapes})"
        )
    return sizes[0]


def _check_batch_size(batch_size, who: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
        raise ValueError(f"{who}: batch size must be a positive integer, got {batch_size!r}")


class DataLoader:
    """Iterate over mini-batches of row-major arrays, optionally shuffled.

    Each pass (epoch) yields tuples ``(X_batch, y_batch, ...)``, one slice of
    every array along axis 0, in the same order for all arrays. With
    ``shuffle=True`` the order is redrawn at the start of every epoch from the
    loader's own generator, so a loader built with a seed yields the same
    epochs every time. The last partial batch is kept unless ``drop_last``.

    A loader is resumable: :meth:`state_dict` records the epoch, the number of
    batches already yielded in it and the generator state that drew this
    epoch's order; :meth:`load_state_dict` on a fresh loader over the same
    arrays makes the next pass continue exactly where that one stopped.

    Parameters
    ----------
    *arrays : array_like, each of shape (m, ...)
        Examples on axis 0; all arrays must have the same length ``m``.
    batch_size : int
    shuffle : bool
        Redraw the order of examples at every epoch.
    seed : int, optional
        Seeds the loader's own generator (``numpy.random.default_rng(seed)``).
    rng : numpy.random.Generator, optional
        Use this generator instead (``seed`` and ``rng`` are exclusive). With
        neither, a shuffling loader seeds its generator from ngrad's library
        generator, so ``ngrad.manual_seed`` makes the order repeatable (a
        loader that does not shuffle draws nothing).
    drop_last : bool
        Skip the last batch when it holds fewer than ``batch_size`` examples.

    Notes
    -----
    A shuffled epoch gathers every array once in the new order (one copy of
    the data per epoch) and then yields views of it, so the batches themselves
    cost no allocation. Treat yielded arrays as read-only.
    """

    def __init__(self, *arrays, batch_size: int = 32, shuffle: bool = False, seed=None, rng=None,
                 drop_last: bool = False):
        self.arrays = tuple(numpy.asarray(a) for a in arrays)
        self.num_samples = _num_examples(self.arrays, 0, "DataLoader")
        _check_batch_size(batch_size, "DataLoader")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = None if not shuffle and seed is None and rng is None else _make_rng(seed, rng)
        self.epoch = 0  # completed passes
        self.batch = 0  # batches yielded in the current pass
        self._epoch_rng_state = None  # generator state before this pass drew its order
        self._resume_order = None  # (order, first batch) set by load_state_dict

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.arrays)} arrays, num_samples={self.num_samples}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")

    def __iter__(self):
        order, first = self._start_epoch()
        data = self.arrays if order is None else tuple(a[order] for a in self.arrays)
        bs, n_batches = self.batch_size, len(self)
        for i in range(first, n_batches):
            self.batch = i + 1
            start = i * bs
            yield tuple(a[start:start + bs] for a in data)
        self.epoch += 1
        self.batch = 0
        self._epoch_rng_state = None

    def _start_epoch(self):
        """The order of this pass (None: natural order) and the first batch to yield."""
        if self._resume_order is not None:
            resumed, self._resume_order = self._resume_order, None
            return resumed
        self.batch = 0
        if not self.shuffle:
            return None, 0
        self._epoch_rng_state = self.rng.bit_generator.state
        return self.rng.permutation(self.num_samples), 0

    # ----------------------------------------------------------- resuming
    def state_dict(self) -> dict:
        """The loader's position as a JSON-serialisable dict.

        ``rng_state`` is the generator state that draws the order of the pass
        in progress (mid-epoch) or of the next pass (between epochs).
        """
        mid_epoch = self.batch > 0 and self._epoch_rng_state is not None
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "num_samples": self.num_samples,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "rng_state": self._epoch_rng_state if mid_epoch else _rng_state(self.rng),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a position saved by :meth:`state_dict`.

        The order of an interrupted pass is redrawn here, at once, so that the
        generator ends where the interrupted run's generator was.
        """
        for key in ("num_samples", "batch_size", "shuffle"):
            if state[key] != getattr(self, key):
                raise ValueError(
                    f"DataLoader.load_state_dict: the saved loader had {key}={state[key]!r}, "
                    f"this one has {getattr(self, key)!r}"
                )
        if state["rng_state"] is not None and self.rng is not None:
            self.rng.bit_generator.state = state["rng_state"]
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self._epoch_rng_state = None
        self._resume_order = None
        if self.batch > 0:
            order = None
            if self.shuffle:
                self._epoch_rng_state = self.rng.bit_generator.state
                order = self.rng.permutation(self.num_samples)
            self._resume_order = (order, self.batch)


def _rng_state(rng):
    return None if rng is None else rng.bit_generator.state


def _make_rng(seed, rng) -> numpy.random.Generator:
    """The loader's generator from ``seed`` / ``rng`` (see :class:`DataLoader`)."""
    if seed is not None and rng is not None:
        raise ValueError("DataLoader: pass seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, numpy.random.Generator):
            raise TypeError(f"DataLoader: rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is None:
        from ngrad.random import get_generator

        seed = int(get_generator().integers(2**63))
    return numpy.random.default_rng(seed)
