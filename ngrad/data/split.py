"""Train / dev / test splits, as taught in "Structuring Machine Learning Projects".

With a million examples a 98 / 1 / 1 split still leaves 10 000 dev and 10 000
test examples; with a few thousand, 60 / 20 / 20 is the older rule of thumb.
Either way dev and test must come from the *same* distribution -- the one you
care about doing well on. When training data comes partly from elsewhere (web
images for a mobile app), a *train-dev* set carved from the training
distribution separates variance from data mismatch (see :mod:`ngrad.diagnose`).

Every function here splits NumPy arrays, ngrad Tensors and lists along axis 0
and returns the pieces in scikit-learn's order::

    X_train, X_dev, X_test, y_train, y_dev, y_test = train_dev_test_split(X, y)

>>> import numpy as np
>>> X, y = np.arange(200).reshape(100, 2), np.arange(100) % 2
>>> X_train, X_dev, X_test, y_train, y_dev, y_test = train_dev_test_split(
...     X, y, fractions=(0.8, 0.1, 0.1), stratify=y)
>>> len(y_train), len(y_dev), len(y_test), int(y_dev.sum())
(80, 10, 10, 5)
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

__all__ = [
    "check_same_distribution",
    "split_indices",
    "train_dev_split",
    "train_dev_test_split",
]

SET_NAMES = ("train", "dev", "test")


# ----------------------------------------------------------------- public API
def train_dev_test_split(
    *arrays,
    fractions=None,
    counts=None,
    stratify=None,
    sources=None,
    dev_sources=None,
    train_dev=None,
    shuffle=True,
    seed=0,
):
    """Split arrays into train, dev and test sets (and optionally a train-dev set).

    Parameters
    ----------
    *arrays : ndarray, Tensor or list
        Same length ``m`` along axis 0 (examples first).
    fractions : (float, float, float), optional
        Train, dev and test fractions summing to 1. Default ``(0.98, 0.01, 0.01)``,
        the course's split for large data sets. Dev and test sizes round up so a
        non-zero fraction never yields an empty set.
    counts : (int, int, int), optional
        Exact sizes instead of fractions; one entry may be ``None`` for "the rest".
    stratify : array_like, optional
        Labels (length ``m``); every set keeps their proportions.
    sources : array_like, optional
        Where each example comes from (``"web"``, ``"mobile"``...). Dev and test are
        stratified by source and checked to come from the same distribution.
    dev_sources : sequence, optional
        With ``sources``: the sources dev and test are drawn from (the data you care
        about). Everything else goes to training. Sizes then refer to those
        sources only: ``counts=(None, 2500, 2500)`` takes 2 500 dev and 2 500 test
        examples from them and puts every other example in train.
    train_dev : float or int, optional
        Carve a train-dev set from the training set: a fraction of it, or a count.
    shuffle : bool
        Shuffle before splitting (default). ``False`` keeps the order: the first
        examples go to train, then dev, then test.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    list
        For each array, its train, (train-dev,) dev and test parts in that order.

    Raises
    ------
    ValueError
        Inconsistent lengths, bad fractions or counts, or dev and test that do not
        share one distribution of ``sources``.
    """
    m = _common_length(arrays, stratify, sources)
    index_sets = split_indices(
        m,
        fractions=fractions,
        counts=counts,
        stratify=stratify,
        sources=sources,
        dev_sources=dev_sources,
        shuffle=shuffle,
        seed=seed,
    )
    if train_dev is not None:
        train_labels = None if stratify is None else _as_1d(stratify, "stratify")[index_sets[0]]
        train, tdev = _carve(index_sets[0], train_dev, train_labels, shuffle, seed + 1)
        index_sets = [train, tdev, index_sets[1], index_sets[2]]
    return [take(a, idx) for a in arrays for idx in index_sets]


def train_dev_split(*arrays, fraction=None, count=None, stratify=None, shuffle=True, seed=0):
    """Carve a train-dev set out of a training set (same distribution as train).

    The network never trains on the train-dev set; its error minus the training
    error is the variance, and dev error minus train-dev error the data mismatch.

    Parameters
    ----------
    *arrays : ndarray, Tensor or list
        The training data, same length along axis 0.
    fraction, count : float or int
        Size of the train-dev set (give one). Default ``fraction=0.05``.
    stratify : array_like, optional
        Labels whose proportions both parts keep.
    shuffle, seed
        As in :func:`train_dev_test_split`.

    Returns
    -------
    list
        For each array, its train and train-dev parts.
    """
    if fraction is not None and count is not None:
        raise ValueError("train_dev_split: give fraction= or count=, not both")
    size = count if count is not None else (0.05 if fraction is None else fraction)
    m = _common_length(arrays, stratify, None)
    labels = None if stratify is None else _as_1d(stratify, "stratify")
    train, tdev = _carve(np.arange(m), size, labels, shuffle, seed)
    return [take(a, idx) for a in arrays for idx in (train, tdev)]


def split_indices(
    m,
    fractions=None,
    counts=None,
    stratify=None,
    sources=None,
    dev_sources=None,
    shuffle=True,
    seed=0,
):
    """Index arrays ``[train, dev, test]`` for ``m`` examples (see :func:`train_dev_test_split`)."""
    rng = np.random.default_rng(seed)
    src = None if sources is None else _as_1d(sources, "sources")
    pool = np.arange(m)
    forced_train = np.arange(0)
    if dev_sources is not None:
        if src is None:
            raise ValueError("dev_sources= needs sources= (one source label per example)")
        pool, forced_train = _by_sources(src, dev_sources)
    sizes = _sizes(len(pool), fractions, counts)
    keys = _strata(pool, stratify, src)
    train, dev, test = _split_pool(pool, sizes, keys, shuffle, rng)
    train = np.concatenate([train, forced_train])
    if shuffle:
        rng.shuffle(train)
    if src is not None and len(dev) and len(test):
        check_same_distribution(src[dev], src[test])
    return [train if shuffle else np.sort(train), dev, test]


def check_same_distribution(dev_sources, test_sources, tol=0.05):
    """Raise ``ValueError`` unless dev and test draw on the same mix of sources.

    Every source in one set must appear in the other, and each source's share
    may differ by at most ``tol`` plus the rounding slack of the set sizes.

    Parameters
    ----------
    dev_sources, test_sources : array_like
        Source label of each dev and each test example.
    tol : float
        Allowed difference of each source's share.
    """
    dev_count = Counter(np.asarray(dev_sources).ravel().tolist())
    test_count = Counter(np.asarray(test_sources).ravel().tolist())
    n_dev, n_test = sum(dev_count.values()), sum(test_count.values())
    only_dev = sorted(set(dev_count) - set(test_count), key=str)
    only_test = sorted(set(test_count) - set(dev_count), key=str)
    if only_dev or only_test:
        parts = [f"source {s!r} is in dev ({_n(dev_count[s])}) but not in test" for s in only_dev]
        parts += [f"source {s!r} is in test ({_n(test_count[s])}) but not in dev" for s in only_test]
        raise ValueError(_mismatch_message(parts))
    slack = tol + 1.0 / max(n_dev, 1) + 1.0 / max(n_test, 1)
    parts = [
        f"source {s!r} is {dev_count[s] / n_dev:.1%} of dev but {test_count[s] / n_test:.1%} of test"
        for s in sorted(dev_count, key=str)
        if abs(dev_count[s] / n_dev - test_count[s] / n_test) > slack
    ]
    if parts:
        raise ValueError(_mismatch_message(parts))


def take(a, idx):
    """``a[idx]`` along axis 0 for ndarrays, Tensors (differentiable) and lists."""
    if isinstance(a, (list, tuple)):
        return [a[i] for i in idx]
    if hasattr(a, "iloc"):  # pandas
        return a.iloc[idx]
    return a[idx]


# ------------------------------------------------------------------- sizes
def _sizes(m, fractions, counts):
    """(n_train, n_dev, n_test) for ``m`` examples."""
    if fractions is not None and counts is not None:
        raise ValueError("give fractions= or counts=, not both")
    if counts is not None:
        return _sizes_from_counts(m, counts)
    return _sizes_from_fractions(m, (0.98, 0.01, 0.01) if fractions is None else fractions)


def _sizes_from_fractions(m, fractions):
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError(f"fractions must be three non-negative numbers (train, dev, test), got {fractions!r}")
    if not math.isclose(f.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must sum to 1, got {fractions!r} (sum {f.sum():g})")
    n_dev, n_test = (math.ceil(m * x - 1e-9) for x in f[1:])
    n_train = m - n_dev - n_test
    if n_train < 0 or (f[0] > 0 and n_train == 0):
        raise ValueError(
            f"{m} examples are too few for fractions {tuple(fractions)}: "
            f"dev {n_dev} and test {n_test} leave {max(n_train, 0)} for training"
        )
    return n_train, n_dev, n_test


def _sizes_from_counts(m, counts):
    if len(counts) != 3:
        raise ValueError(f"counts must be (train, dev, test), got {counts!r}")
    if sum(c is None for c in counts) > 1:
        raise ValueError(f"at most one of counts may be None (the rest), got {counts!r}")
    for name, c in zip(SET_NAMES, counts):
        if c is not None and (int(c) != c or c < 0):
            raise ValueError(f"counts: the {name} count must be a non-negative integer, got {c!r}")
    given = sum(int(c) for c in counts if c is not None)
    if given > m:
        raise ValueError(f"counts {tuple(counts)} ask for {given} examples but only {m} are available")
    rest = m - given
    return tuple(rest if c is None else int(c) for c in counts)


# ---------------------------------------------------------------- splitting
def _split_pool(pool, sizes, keys, shuffle, rng):
    """Split ``pool`` (indices) into three index arrays of ``sizes``, stratified by ``keys``."""
    if keys is None:
        order = rng.permutation(pool) if shuffle else pool
        a, b, _ = sizes
        return order[:a], order[a : a + b], order[a + b : sum(sizes)]
    if not shuffle:
        raise ValueError("stratified splits need shuffle=True")
    classes, inverse = np.unique(keys, return_inverse=True)
    class_counts = np.bincount(inverse, minlength=len(classes))
    dev_counts = _approximate_mode(class_counts, sizes[1], rng)
    test_counts = _approximate_mode(class_counts - dev_counts, sizes[2], rng)
    train_counts = _approximate_mode(class_counts - dev_counts - test_counts, sizes[0], rng)
    parts = ([], [], [])
    for c in range(len(classes)):
        members = rng.permutation(pool[inverse == c])
        bounds = np.cumsum([train_counts[c], dev_counts[c], test_counts[c]])
        for part, lo, hi in zip(parts, np.r_[0, bounds[:-1]], bounds):
            part.append(members[lo:hi])
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


def _approximate_mode(class_counts, n_draws, rng):
    """Per-class counts summing to ``n_draws``, as close as possible to the proportions.

    Floors the proportional shares, then gives the leftover draws to the classes
    with the largest remainders (ties broken at random).
    """
    total = class_counts.sum()
    if n_draws == 0 or total == 0:
        return np.zeros_like(class_counts)
    continuous = class_counts * (n_draws / total)
    floored = np.floor(continuous + 1e-9).astype(int)
    floored = np.minimum(floored, class_counts)
    need = n_draws - floored.sum()
    remainder = continuous - floored
    order = np.lexsort((rng.random(len(class_counts)), -remainder))
    for c in order:
        if need == 0:
            break
        if floored[c] < class_counts[c]:
            floored[c] += 1
            need -= 1
    return floored


def _carve(indices, size, labels, shuffle, seed):
    """Split ``indices`` into (rest, carved) with ``size`` (fraction or count) carved."""
    n = len(indices)
    if isinstance(size, (float, np.floating)):
        if not 0 < size < 1:
            raise ValueError(f"a train-dev fraction must lie in (0, 1), got {size} (give an int for a count)")
        k = math.ceil(n * size - 1e-9)
    else:
        k = int(size)
    if not 0 < k < n:
        raise ValueError(f"a train-dev set of {size!r} does not fit in a training set of {n} examples")
    rng = np.random.default_rng(seed)
    keys = None if labels is None else np.asarray(labels)
    local = np.arange(n)
    rest, carved, _ = _split_pool(local, (n - k, k, 0), keys, shuffle, rng)
    return indices[rest], indices[carved]


def _by_sources(src, dev_sources):
    """(pool of examples from ``dev_sources``, every other example)."""
    wanted = list(dev_sources) if not isinstance(dev_sources, str) else [dev_sources]
    known = set(src.tolist())
    missing = [s for s in wanted if s not in known]
    if missing:
        raise ValueError(f"dev_sources {missing!r} never appear in sources (known: {sorted(known, key=str)!r})")
    mask = np.isin(src, wanted)
    return np.flatnonzero(mask), np.flatnonzero(~mask)


def _strata(pool, stratify, src):
    """Stratification keys for ``pool``: labels, sources, or both combined."""
    parts = []
    if stratify is not None:
        parts.append(_as_1d(stratify, "stratify")[pool].astype(str))
    if src is not None:
        parts.append(src[pool].astype(str))
    if not parts:
        return None
    keys = parts[0]
    for p in parts[1:]:
        keys = np.char.add(np.char.add(keys, "\x1f"), p)
    return keys


# ----------------------------------------------------------------- helpers
def _as_1d(a, name):
    arr = np.asarray(a)
    if arr.ndim > 1 and sum(d > 1 for d in arr.shape) <= 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one label per example (1-D), got shape {arr.shape}")
    return arr


def _length(a):
    shape = getattr(a, "shape", None)
    if shape is not None:
        if len(shape) == 0:
            raise ValueError("cannot split a 0-d array: examples go along axis 0")
        return shape[0]
    return len(a)


def _common_length(arrays, stratify, sources):
    if not arrays:
        raise ValueError("give at least one array to split")
    named = [(f"array {i}", a) for i, a in enumerate(arrays)]
    named += [(n, a) for n, a in (("stratify", stratify), ("sources", sources)) if a is not None]
    lengths = {name: _length(a) for name, a in named}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"all inputs need the same number of examples along axis 0 ({detail})")
    m = next(iter(lengths.values()))
    if m == 0:
        raise ValueError("cannot split an empty data set")
    return m


def _n(count):
    return f"{count} example" + ("" if count == 1 else "s")


def _mismatch_message(parts):
    return (
        "dev and test must come from the same distribution (the data you want to do well on), but "
        + "; ".join(parts)
        + ". Draw both from the same sources (dev_sources=[...]), large enough to hold each source's share."
    )
