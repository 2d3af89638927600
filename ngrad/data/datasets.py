"""Data sets: the course's generated sets and files, scikit-learn's bundled sets, and helpers.

Three sources, one layout convention: ngrad's rows ``X (m, n_features)`` and
labels ``y (m,)`` by default, the course's columns ``X (n_features, m)`` and
``Y (1, m)`` with ``layout="course"``. Loaders with a test set return
``(X_train, y_train, X_test, y_test)`` in the course's order.

- generated, exactly as the course draws them (:mod:`ngrad.data.generators`):
  :func:`load_planar_dataset`, :func:`load_extra_datasets`,
  :func:`load_circles`, :func:`load_moons`;
- the course's files, found in the course's data directory
  (:mod:`ngrad.data.course_files`): :func:`load_cat_vs_noncat`,
  :func:`load_signs`, :func:`load_football`;
- bundled with scikit-learn, no download: :func:`load_digits`,
  :func:`load_breast_cancer`;
- helpers matching the course: :func:`flatten_images`, :func:`scale_pixels`,
  :func:`one_hot`.

>>> import numpy as np
>>> X = np.zeros((5, 64, 64, 3), dtype=np.uint8)
>>> flatten_images(X).shape, flatten_images(X, layout="course").shape
((5, 12288), (12288, 5))
>>> one_hot(np.array([2, 0, 1]))
array([[0., 0., 1.],
       [1., 0., 0.],
       [0., 1., 0.]], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from ngrad.backend import get_default_dtype
from ngrad.data.course_files import (
    ENV_VAR,
    DataFormatError,
    find_course_file,
    load_cat_vs_noncat,
    load_football,
    load_signs,
)
from ngrad.data.generators import (
    load_circles,
    load_extra_datasets,
    load_moons,
    load_planar_dataset,
    make_blobs,
    make_circles,
    make_gaussian_quantiles,
    make_moons,
    make_no_structure,
)
from ngrad.errors import DTypeError, ShapeError

__all__ = [
    "DataFormatError",
    "ENV_VAR",
    "find_course_file",
    "flatten_images",
    "load_breast_cancer",
    "load_cat_vs_noncat",
    "load_circles",
    "load_digits",
    "load_extra_datasets",
    "load_football",
    "load_moons",
    "load_planar_dataset",
    "load_signs",
    "make_blobs",
    "make_circles",
    "make_gaussian_quantiles",
    "make_moons",
    "make_no_structure",
    "one_hot",
    "scale_pixels",
]


# ------------------------------------------------------ scikit-learn's bundle
def load_digits(test_fraction=None, seed: int = 0, layout: str = "rows"):
    """scikit-learn's 8x8 handwritten digits: 1797 images, 10 classes, pixels 0-16.

    Bundled with scikit-learn (``pip install "ngrad[data]"``); nothing is downloaded.

    Parameters
    ----------
    test_fraction : float, optional
        Hold out this fraction as a stratified, shuffled test set.
    seed : int
        Seed of the split.
    layout : {"rows", "course"}

    Returns
    -------
    X : ndarray, float64, shape (1797, 64); y : ndarray, int64, shape (1797,)
        Or, with ``test_fraction``, ``(X_train, y_train, X_test, y_test)``.
        The course layout transposes ``X`` to ``(64, m)`` and ``y`` to ``(1, m)``.
    """
    return _bundled("load_digits", test_fraction, seed, layout)


def load_breast_cancer(test_fraction=None, seed: int = 0, layout: str = "rows"):
    """scikit-learn's Wisconsin breast-cancer set: 569 tumours, 30 features, 0 malignant / 1 benign.

    Parameters and returns as :func:`load_digits`, with ``X`` of shape ``(569, 30)``.
    """
    return _bundled("load_breast_cancer", test_fraction, seed, layout)


def _bundled(name: str, test_fraction, seed: int, layout: str):
    _check_layout(layout, name)
    try:
        import sklearn.datasets
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{name} needs scikit-learn: pip install \"ngrad[data]\"") from e
    bunch = getattr(sklearn.datasets, name)()
    X, y = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)
    if test_fraction is None:
        return _to_layout(X, y, layout)
    from ngrad.data.split import train_dev_split

    X_train, X_test, y_train, y_test = train_dev_split(X, y, fraction=test_fraction, stratify=y, seed=seed)
    return (*_to_layout(X_train, y_train, layout), *_to_layout(X_test, y_test, layout))


# ------------------------------------------------------------------- helpers
def flatten_images(X, layout: str = "rows"):
    """Flatten images to feature vectors, as the course's ``X.reshape(X.shape[0], -1).T``.

    Parameters
    ----------
    X : array_like, shape (m, height, width, channels) or (m, height, width)
    layout : {"rows", "course"}

    Returns
    -------
    ndarray, shape (m, height * width * channels) -- or (height * width * channels, m)
    """
    X = np.asarray(X)
    if X.ndim < 3:
        raise ShapeError(f"flatten_images: expected images (m, height, width[, channels]), got shape {X.shape}")
    _check_layout(layout, "flatten_images")
    flat = X.reshape(X.shape[0], -1)  # (m, h*w*c)
    return flat if layout == "rows" else np.ascontiguousarray(flat.T)


def scale_pixels(X, dtype=None):
    """Scale 0-255 pixel values to [0, 1]: ``X / 255``, as the course does.

    Parameters
    ----------
    X : array_like, any shape
    dtype : floating dtype, optional
        Defaults to ngrad's default float (float32); float64 matches the course's digits.

    Returns
    -------
    ndarray, same shape as X
    """
    dtype = np.dtype(get_default_dtype() if dtype is None else dtype)
    if dtype.kind != "f":
        raise DTypeError(f"scale_pixels: dtype must be floating, got {dtype}")
    return np.asarray(X, dtype=dtype) / dtype.type(255)


def one_hot(y, num_classes=None, layout: str = "rows", dtype=None):
    """One-hot encode integer class labels (the course's ``convert_to_one_hot(Y, C)``).

    Parameters
    ----------
    y : array_like of int, shape (m,), (1, m) or (m, 1)
        Class indices in ``[0, num_classes)``.
    num_classes : int, optional
        Defaults to ``y.max() + 1``.
    layout : {"rows", "course"}
    dtype : floating dtype, optional
        Defaults to ngrad's default float (float32).

    Returns
    -------
    ndarray, shape (m, num_classes) -- or (num_classes, m) in the course layout
    """
    y = _labels_1d(y)
    _check_layout(layout, "one_hot")
    C = int(y.max()) + 1 if num_classes is None and y.size else int(num_classes or 0)
    if y.size and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"one_hot: labels must lie in [0, {C}), got min {y.min()} and max {y.max()}")
    Y = np.eye(C, dtype=get_default_dtype() if dtype is None else dtype)[y]  # (m, C)
    return Y if layout == "rows" else np.ascontiguousarray(Y.T)


def _labels_1d(y):
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ShapeError(f"one_hot: expected labels (m,), (1, m) or (m, 1), got shape {y.shape}")
    if y.size and y.dtype.kind not in "iub":
        if y.dtype.kind != "f" or not np.all(y == np.round(y)):
            raise DTypeError(f"one_hot: expected integer class labels, got dtype {y.dtype}")
    return y.astype(np.int64)


def _to_layout(X, y, layout: str):
    if layout == "rows":
        return X, y
    return np.ascontiguousarray(X.T), y.reshape(1, -1)


def _check_layout(layout: str, who: str) -> None:
    if layout not in ("rows", "course"):
        raise ValueError(f"{who}: layout must be 'rows' or 'course', got {layout!r}")
