"""The course's generated 2-D data sets, drawn exactly as the course draws them.

The course seeds NumPy's legacy global generator (``np.random.seed``) and then
draws, directly or through scikit-learn's ``make_*`` functions called with
``random_state=None``. Here the same draws come from a private
``np.random.RandomState(seed)`` used in the same order, so the arrays are
identical to the course's while the caller's global NumPy state is left alone.

Every loader returns ngrad's row layout by default -- ``X`` of shape
``(m, 2)`` and labels ``y`` of shape ``(m,)`` -- or, with ``layout="course"``,
the course's ``X`` of shape ``(2, m)`` and ``Y`` of shape ``(1, m)``. The
dtypes are the course's (float64 features; uint8 labels for the flower,
int64 for scikit-learn's sets).

==========================  ===========  =================================
loader                      assignment   course function
==========================  ===========  =================================
:func:`load_planar_dataset` C1W3         ``planar_utils.load_planar_dataset``
:func:`load_extra_datasets` C1W3         ``planar_utils.load_extra_datasets``
:func:`load_circles`        C2W1         ``init_utils.load_dataset``
:func:`load_moons`          C2W2         ``opt_utils.load_dataset``
==========================  ===========  =================================

>>> X, y = load_planar_dataset()
>>> X.shape, y.shape, int(y.sum())
((400, 2), (400,), 200)
>>> X, Y = load_planar_dataset(layout="course")
>>> X.shape, Y.shape
((2, 400), (1, 400))
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "load_circles",
    "load_extra_datasets",
    "load_moons",
    "load_planar_dataset",
    "make_blobs",
    "make_circles",
    "make_gaussian_quantiles",
    "make_moons",
    "make_no_structure",
]

LAYOUTS = ("rows", "course")


# --------------------------------------------------------------- the flower
def load_planar_dataset(seed: int = 1, m: int = 400, a: float = 4.0, layout: str = "rows"):
    """The C1W3 "flower": two classes of points on the petals of a rose curve.

    For class ``j`` in {0, 1} (``N = m // 2`` points each)::

        t = linspace(3.12 j, 3.12 (j + 1), N) + 0.2 randn(N)    # angle
        r = a sin(4 t) + 0.2 randn(N)                           # radius
        x = (r sin t, r cos t)

    Parameters
    ----------
    seed : int
        The course's ``np.random.seed(1)``.
    m : int
        Number of points (even).
    a : float
        The maximum ray of the flower.
    layout : {"rows", "course"}

    Returns
    -------
    X : ndarray, float64, shape (m, 2) -- or (2, m) in the course layout
    y : ndarray, uint8, shape (m,) -- or (1, m) in the course layout
    """
    _check_layout(layout, "load_planar_dataset")
    if m < 2 or m % 2:
        raise ValueError(f"load_planar_dataset: m must be a positive even number, got {m}")
    rs = np.random.RandomState(seed)
    N = m // 2
    X = np.zeros((m, 2))  # (m, 2)
    y = np.zeros(m, dtype=np.uint8)  # (m,)
    for j in range(2):
        t = np.linspace(3.12 * j, 3.12 * (j + 1), N) + rs.randn(N) * 0.2  # (N,)
        r = a * np.sin(4 * t) + rs.randn(N) * 0.2  # (N,)
        X[N * j : N * (j + 1)] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[N * j : N * (j + 1)] = j
    return _layout(X, y, layout)


# --------------------------------------------------- the course's sklearn sets
def load_circles(layout: str = "rows"):
    """The C2W1 (initialization) circles: 300 training and 100 test points.

    The course runs ``np.random.seed(1)``, ``make_circles(n_samples=300,
    noise=.05)``, then ``np.random.seed(2)``, ``make_circles(n_samples=100,
    noise=.05)``. Needs scikit-learn (``pip install "ngrad[data]"``).

    Returns
    -------
    X_train : ndarray, float64, shape (300, 2) -- or (2, 300)
    y_train : ndarray, int64, shape (300,) -- or (1, 300)
    X_test : ndarray, float64, shape (100, 2) -- or (2, 100)
    y_test : ndarray, int64, shape (100,) -- or (1, 100)
    """
    _check_layout(layout, "load_circles")
    train = make_circles(300, noise=0.05, seed=1, layout=layout)
    test = make_circles(100, noise=0.05, seed=2, layout=layout)
    return (*train, *test)


def load_moons(layout: str = "rows"):
    """The C2W2 (optimization) moons: ``np.random.seed(3)``, ``make_moons(300, noise=.2)``.

    Needs scikit-learn (``pip install "ngrad[data]"``).

    Returns
    -------
    X : ndarray, float64, shape (300, 2) -- or (2, 300)
    y : ndarray, int64, shape (300,) -- or (1, 300)
    """
    return make_moons(300, noise=0.2, seed=3, layout=layout)


def load_extra_datasets(seed: int = 0, N: int = 200, layout: str = "rows"):
    """The C1W3 extra sets: noisy circles, noisy moons, blobs, gaussian quantiles, no structure.

    The course draws them one after the other from NumPy's global generator
    without seeding it (blobs alone has ``random_state=5``), so their values
    depend on whatever ran before. Here they are drawn in the course's order
    from one generator seeded with ``seed``::

        make_circles(N, factor=.5, noise=.3)
        make_moons(N, noise=.2)
        make_blobs(N, random_state=5, n_features=2, centers=6)   # labels % 2
        make_gaussian_quantiles(cov=.5, n_samples=N, n_features=2, n_classes=2)
        rand(N, 2), rand(N, 2)                                   # no structure

    Returns
    -------
    dict
        ``{"noisy_circles", "noisy_moons", "blobs", "gaussian_quantiles",
        "no_structure"}`` -> ``(X, y)`` in the requested layout. The blobs'
        six centres are folded into two classes (``y % 2``) as the course
        does; see :func:`make_no_structure` for its labels.
    """
    _check_layout(layout, "load_extra_datasets")
    rs = np.random.RandomState(seed)
    return {
        "noisy_circles": make_circles(N, factor=0.5, noise=0.3, seed=rs, layout=layout),
        "noisy_moons": make_moons(N, noise=0.2, seed=rs, layout=layout),
        "blobs": make_blobs(N, centers=6, seed=5, fold=2, layout=layout),
        "gaussian_quantiles": make_gaussian_quantiles(N, cov=0.5, seed=rs, layout=layout),
        "no_structure": make_no_structure(N, seed=rs, layout=layout),
    }


# ------------------------------------------------------- seeded sklearn calls
def make_circles(n_samples: int = 100, factor: float = 0.8, noise=None, seed=0, layout: str = "rows"):
    """scikit-learn's ``make_circles`` drawn from ``RandomState(seed)``.

    ``seed`` may also be a ``np.random.RandomState`` to continue drawing from.

    Returns
    -------
    X : ndarray, float64, shape (n_samples, 2); y : ndarray, int64, shape (n_samples,)
    (course layout: (2, n_samples) and (1, n_samples))
    """
    datasets = _sklearn_datasets("make_circles")
    X, y = datasets.make_circles(n_samples=n_samples, factor=factor, noise=noise,
                                 random_state=_random_state(seed))
    return _layout(X, y, layout)


def make_moons(n_samples: int = 100, noise=None, seed=0, layout: str = "rows"):
    """scikit-learn's ``make_moons`` drawn from ``RandomState(seed)`` (shapes as :func:`make_circles`)."""
    datasets = _sklearn_datasets("make_moons")
    X, y = datasets.make_moons(n_samples=n_samples, noise=noise, random_state=_random_state(seed))
    return _layout(X, y, layout)


def make_blobs(n_samples: int = 100, centers: int = 3, seed=0, fold=None, layout: str = "rows"):
    """scikit-learn's ``make_blobs`` in 2-D, labels optionally folded to ``y % fold`` classes."""
    datasets = _sklearn_datasets("make_blobs")
    X, y = datasets.make_blobs(n_samples=n_samples, n_features=2, centers=centers,
                               random_state=_random_state(seed))
    if fold is not None:
        y = y % fold
    return _layout(X, y, layout)


def make_gaussian_quantiles(n_samples: int = 100, cov: float = 1.0, n_classes: int = 2, seed=0,
                            layout: str = "rows"):
    """scikit-learn's ``make_gaussian_quantiles`` in 2-D, shuffled (shapes as :func:`make_circles`)."""
    datasets = _sklearn_datasets("make_gaussian_quantiles")
    X, y = datasets.make_gaussian_quantiles(mean=None, cov=cov, n_samples=n_samples, n_features=2,
                                            n_classes=n_classes, shuffle=True,
                                            random_state=_random_state(seed))
    return _layout(X, y, layout)


def make_no_structure(n_samples: int = 200, seed=0, layout: str = "rows"):
    """Uniform points with random labels: the course's ``rand(N, 2), rand(N, 2)``.

    The course's labels are the raw second ``rand(N, 2)`` draw, which its
    notebook cannot use as labels; here they are that draw's first column
    thresholded at 0.5, so the same two draws give usable 0/1 labels.

    Returns
    -------
    X : ndarray, float64, shape (n_samples, 2); y : ndarray, int64, shape (n_samples,)
    """
    rs = _random_state(seed)
    X = rs.rand(n_samples, 2)  # (N, 2)
    y = (rs.rand(n_samples, 2)[:, 0] > 0.5).astype(np.int64)  # (N,)
    return _layout(X, y, layout)


# ------------------------------------------------------------------- helpers
def _random_state(seed) -> np.random.RandomState:
    """A private legacy generator: the course's ``np.random.seed(seed)`` without the global state."""
    if isinstance(seed, np.random.RandomState):
        return seed
    return np.random.RandomState(seed)


def _sklearn_datasets(who: str):
    try:
        import sklearn.datasets
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{who} needs scikit-learn: pip install \"ngrad[data]\"") from e
    return sklearn.datasets


def _check_layout(layout: str, who: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"{who}: layout must be 'rows' or 'course', got {layout!r}")


def _layout(X, y, layout: str):
    """``(X (m, n), y (m,))`` as is, or the course's ``(X (n, m), Y (1, m))``."""
    _check_layout(layout, "layout")
    if layout == "rows":
        return X, y
    return np.ascontiguousarray(X.T), y.reshape(1, -1)
