"""Loaders for the course's own data files (cat vs non-cat, SIGNS, football).

The files are not shipped with ngrad. Point the loaders at the course's data
directory with ``data_dir=`` or the ``NGRAD_DATA`` environment variable; a
file is found in that directory or any folder below it, so one directory
holding the course's ``datasets/`` folders serves every loader::

    X_train, y_train, X_test, y_test, classes = load_cat_vs_noncat(data_dir="course_data")

==============================  ===========  =====================================
loader                          assignment   files
==============================  ===========  =====================================
:func:`load_cat_vs_noncat`      C1W2, C1W4   ``train_catvnoncat.h5``, ``test_catvnoncat.h5``
:func:`load_signs`              C2W3, C4W1   ``train_signs.h5``, ``test_signs.h5``
:func:`load_football`           C2W1         ``data.mat``
==============================  ===========  =====================================

Images come back as the course stores them, ``(m, 64, 64, 3)`` uint8
(see :func:`ngrad.data.datasets.flatten_images` and ``scale_pixels``); labels
are ``(m,)`` in ngrad's row layout or ``(1, m)`` with ``layout="course"``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = [
    "DataFormatError",
    "ENV_VAR",
    "find_course_file",
    "load_cat_vs_noncat",
    "load_football",
    "load_signs",
]

ENV_VAR = "NGRAD_DATA"
_INSTALL_HINT = 'pip install "ngrad[data]"'


class DataFormatError(ValueError):
    """A data file that is there but not laid out as expected; the message names the key or shape."""


# ------------------------------------------------------------- finding files
def find_course_file(name: str, data_dir=None) -> Path:
    """Find the course's file ``name`` in ``data_dir`` (or ``$NGRAD_DATA``) or a folder below it.

    Shallower matches win; among equally deep ones the first in sorted order.

    Parameters
    ----------
    name : str
        The course's file name, e.g. ``"train_catvnoncat.h5"``.
    data_dir : str or os.PathLike, optional
        The directory to search; defaults to the ``NGRAD_DATA`` environment variable.

    Raises
    ------
    FileNotFoundError
        Naming the file, the directory searched and how to point ngrad at it.
    """
    root = _data_root(name, data_dir)
    found = _search(root, name)
    if found is None:
        raise FileNotFoundError(
            f"{name} not found in {root} or its subfolders. Put the course's {name} there "
            f"(any subfolder works), or pass data_dir= / set {ENV_VAR} to the directory that holds it."
        )
    return found


def _data_root(name: str, data_dir) -> Path:
    source = "data_dir"
    if data_dir is None:
        data_dir, source = os.environ.get(ENV_VAR), ENV_VAR
    if not data_dir:
        raise FileNotFoundError(
            f"{name}: no data directory given. Pass data_dir= (the course's data directory, "
            f"searched with its subfolders) or set the {ENV_VAR} environment variable."
        )
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"{name}: the data directory {root} (from {source}) does not exist. Put the course's "
            f"{name} in a directory and pass it as data_dir= or set {ENV_VAR}."
        )
    return root


def _search(root: Path, name: str):
    """Breadth-first search for ``name`` below ``root`` (no symlinked folders followed)."""
    level = [root]
    while level:
        for folder in level:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        level = [sub for folder in level for sub in _subfolders(folder)]
    return None


def _subfolders(folder: Path):
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]


# ------------------------------------------------------------------ HDF5 sets
def load_cat_vs_noncat(data_dir=None, layout: str = "rows"):
    """The C1W2/C1W4 cat vs non-cat images (209 train, 72 cats; 50 test, 33 cats).

    Reads ``train_catvnoncat.h5`` and ``test_catvnoncat.h5`` with h5py, as
    the course's ``load_data()`` (``lr_utils`` / ``dnn_app_utils``) does.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        The course's data directory (searched with its subfolders); default ``$NGRAD_DATA``.
    layout : {"rows", "course"}
        Labels as ``(m,)`` or as the course's ``(1, m)``.

    Returns
    -------
    X_train : ndarray, uint8, shape (209, 64, 64, 3)
    y_train : ndarray, int64, shape (209,) -- or (1, 209)
    X_test : ndarray, uint8, shape (50, 64, 64, 3)
    y_test : ndarray, int64, shape (50,) -- or (1, 50)
    classes : ndarray, shape (2,)
        ``["non-cat", "cat"]`` as str; the course's raw bytes with ``layout="course"``.
    """
    return _load_h5_pair("train_catvnoncat.h5", "test_catvnoncat.h5", data_dir, layout)


def load_signs(data_dir=None, layout: str = "rows"):
    """The SIGNS hand signs 0-5 (C2W3, C4W1, C4W2): 1080 train, 120 test images.

    Reads ``train_signs.h5`` and ``test_signs.h5`` with h5py, as the course's
    ``load_dataset()`` does.

    Returns
    -------
    X_train : ndarray, uint8, shape (1080, 64, 64, 3)
    y_train : ndarray, int64, shape (1080,) -- or (1, 1080)
    X_test : ndarray, uint8, shape (120, 64, 64, 3)
    y_test : ndarray, int64, shape (120,) -- or (1, 120)
    classes : ndarray, int64, shape (6,)
        ``[0, 1, 2, 3, 4, 5]``.
    """
    return _load_h5_pair("train_signs.h5", "test_signs.h5", data_dir, layout)


def _load_h5_pair(train_name: str, test_name: str, data_dir, layout: str):
    _check_layout(layout, train_name)
    X_train, y_train, classes = _read_h5(find_course_file(train_name, data_dir), "train")
    X_test, y_test, _ = _read_h5(find_course_file(test_name, data_dir), "test")
    if layout == "course":
        return X_train, y_train.reshape(1, -1), X_test, y_test.reshape(1, -1), classes
    return X_train, y_train, X_test, y_test, _decode(classes)


def _read_h5(path: Path, split: str):
    """``(X (m, h, w, c), y (m,), classes)`` from the course's ``{split}_set_x/y`` HDF5 layout."""
    h5py = _require("h5py", "the course's .h5 files")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable HDF5 file ({e})") from e
    with f:
        X = _h5_key(f, f"{split}_set_x", path)
        y = _h5_key(f, f"{split}_set_y", path)
        classes = _h5_key(f, "list_classes", path)
    _check_images(X, f"{split}_set_x", path)
    y = _check_labels(y, X.shape[0], f"{split}_set_y", path)
    return X, y, classes


def _h5_key(f, key: str, path: Path):
    if key not in f:
        raise DataFormatError(f"{path}: missing key {key!r} (keys present: {sorted(f.keys())})")
    return f[key][()]


def _check_images(X, key: str, path: Path) -> None:
    if X.ndim != 4 or X.shape[-1] != 3:
        raise DataFormatError(
            f"{path}: {key!r} has shape {X.shape}; expected images (m, height, width, 3)")


def _check_labels(y, m: int, key: str, path: Path):
    """Labels as ``(m,)``; the course's files hold (m,), some copies (1, m) or (m, 1)."""
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1 or y.shape[0] != m:
        raise DataFormatError(
            f"{path}: {key!r} has shape {y.shape}; expected ({m},), one label per example")
    return y


def _decode(classes):
    if classes.dtype.kind == "S":
        return np.array([c.decode("utf-8") for c in classes])
    return classes


# ------------------------------------------------------------------- football
def load_football(data_dir=None, layout: str = "rows"):
    """The C2W1 regularization "French football" data: where the goalkeeper kicked and who headed it.

    Reads ``data.mat`` with ``scipy.io.loadmat``: keys ``X``, ``y`` (211 train
    points) and ``Xval``, ``yval`` (200 test points), as the course's
    ``reg_utils.load_2D_dataset()`` does.

    Returns
    -------
    X_train : ndarray, float64, shape (211, 2) -- or (2, 211)
    y_train : ndarray, uint8, shape (211,) -- or (1, 211)
    X_test : ndarray, float64, shape (200, 2) -- or (2, 200)
    y_test : ndarray, uint8, shape (200,) -- or (1, 200)
    """
    _check_layout(layout, "data.mat")
    path = find_course_file("data.mat", data_dir)
    data = _read_mat(path)
    X_train, X_test = _mat_features(data, "X", path), _mat_features(data, "Xval", path)
    if X_train.shape[1] != X_test.shape[1]:
        raise DataFormatError(
            f"{path}: 'X' has {X_train.shape[1]} features but 'Xval' has {X_test.shape[1]}")
    y_train = _check_labels(_mat_key(data, "y", path), X_train.shape[0], "y", path)
    y_test = _check_labels(_mat_key(data, "yval", path), X_test.shape[0], "yval", path)
    if layout == "course":
        return (np.ascontiguousarray(X_train.T), y_train.reshape(1, -1),
                np.ascontiguousarray(X_test.T), y_test.reshape(1, -1))
    return X_train, y_train, X_test, y_test


def _read_mat(path: Path) -> dict:
    sio = _require("scipy.io", "the course's .mat files")
    try:
        return sio.loadmat(path)
    except Exception as e:  # scipy raises ValueError / TypeError / MatReadError on bad files
        raise DataFormatError(f"{path}: not a readable MATLAB .mat file ({e})") from e


def _mat_key(data: dict, key: str, path: Path):
    if key not in data:
        present = sorted(k for k in data if not k.startswith("__"))
        raise DataFormatError(f"{path}: missing key {key!r} (keys present: {present})")
    return np.asarray(data[key])


def _mat_features(data: dict, key: str, path: Path):
    X = _mat_key(data, key, path)
    if X.ndim != 2:
        raise DataFormatError(f"{path}: {key!r} has shape {X.shape}; expected (m, n_features)")
    return X


# ------------------------------------------------------------------- helpers
def _require(module: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        top = module.split(".")[0]
        raise ImportError(f"reading {what} needs {top}: {_INSTALL_HINT}") from e


def _check_layout(layout: str, who: str) -> None:
    if layout not in ("rows", "course"):
        raise ValueError(f"{who}: layout must be 'rows' or 'course', got {layout!r}")
