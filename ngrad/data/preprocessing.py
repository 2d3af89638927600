"""Preprocessing fitted on training data: ``Standardizer``.

Statistics are computed on the training set only and then applied unchanged
to validation, test and serving data. A fitted standardizer round-trips
through a JSON-able config, so a saved model can carry it.

>>> import numpy as np
>>> s = Standardizer().fit(np.array([[0.0, 10.0], [2.0, 30.0]]))
>>> s.transform(np.array([[1.0, 20.0]]))
array([[0., 0.]])
>>> Standardizer.from_config(s.get_config()).mean
array([ 1., 20.])
"""
from __future__ import annotations

import numpy

from ngrad.errors import ShapeError

__all__ = ["Standardizer"]


class Standardizer:
    """Shift and scale features to zero mean and unit variance: ``(X - mean) / std``.

    Parameters
    ----------
    axis : int or tuple of int
        The axis (axes) to average over: 0 for ngrad's rows ``(m, n_x)``,
        1 for the course's columns ``(n_x, m)``.
    eps : float
        Features whose standard deviation is at most ``eps`` (constant
        features) are only centred, never divided by ~0.

    Attributes
    ----------
    mean, std : ndarray, shape of X with ``axis`` removed (float64)
    """

    def __init__(self, axis=0, eps: float = 1e-8):
        self.axis = axis if isinstance(axis, int) else tuple(axis)
        self.eps = float(eps)
        self.mean = None
        self.std = None

    def __repr__(self) -> str:
        state = "unfitted" if self.mean is None else f"features={self.mean.shape}"
        return f"Standardizer(axis={self.axis}, {state})"

    def fit(self, X) -> "Standardizer":
        """Learn the mean and standard deviation of the training data ``X``."""
        X = _as_float_array(X, "fit")
        if X.size == 0:
            raise ValueError("Standardizer.fit: X is empty")
        self.mean = X.mean(axis=self.axis, dtype=numpy.float64)
        std = X.std(axis=self.axis, dtype=numpy.float64)
        self.std = numpy.where(std > self.eps, std, 1.0)
        return self

    def transform(self, X):
        """``(X - mean) / std``, in X's floating dtype (float64 for integer input)."""
        X = _as_float_array(X, "transform")
        mean, std = self._broadcastable(X, "transform")
        return ((X - mean) / std).astype(X.dtype, copy=False)

    def fit_transform(self, X):
        """:meth:`fit` then :meth:`transform` on the same data."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """``Z * std + mean``: undo :meth:`transform`."""
        Z = _as_float_array(Z, "inverse_transform")
        mean, std = self._broadcastable(Z, "inverse_transform")
        return (Z * std + mean).astype(Z.dtype, copy=False)

    def _broadcastable(self, X, who: str):
        """mean and std reshaped to broadcast against ``X``."""
        if self.mean is None:
            raise RuntimeError(f"Standardizer.{who}: call fit(X_train) first")
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        try:
            axes = tuple(sorted(a % X.ndim for a in axes))
            mean = numpy.expand_dims(self.mean, axes)
            numpy.broadcast_shapes(mean.shape, X.shape)
        except (ValueError, numpy.exceptions.AxisError):
            raise ShapeError(
                f"Standardizer.{who}: fitted on features of shape {self.mean.shape} "
                f"(averaged over axis {self.axis}), cannot apply to X of shape {X.shape}"
            ) from None
        if X.ndim != mean.ndim:
            raise ShapeError(
                f"Standardizer.{who}: fitted on {mean.ndim}-d data, got X of shape {X.shape}"
            )
        return mean, numpy.expand_dims(self.std, axes)

    # ------------------------------------------------------------ config
    def get_config(self) -> dict:
        """A JSON-serialisable dict from which :meth:`from_config` rebuilds this standardizer."""
        return {
            "class_name": "Standardizer",
            "axis": self.axis if isinstance(self.axis, int) else list(self.axis),
            "eps": self.eps,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }

    @classmethod
    def from_config(cls, config: dict) -> "Standardizer":
        """Rebuild a standardizer saved with :meth:`get_config`."""
        s = cls(axis=config["axis"], eps=config.get("eps", 1e-8))
        if config.get("mean") is not None:
            s.mean = numpy.asarray(config["mean"], dtype=numpy.float64)
            s.std = numpy.asarray(config["std"], dtype=numpy.float64)
        return s


def _as_float_array(X, who: str):
    """X as a floating NumPy array (integers become float64)."""
    X = numpy.asarray(getattr(X, "data", X))
    if X.dtype.kind not in "fiub":
        raise TypeError(f"Standardizer.{who}: expected numeric data, got dtype {X.dtype}")
    return X if X.dtype.kind == "f" else X.astype(numpy.float64)
