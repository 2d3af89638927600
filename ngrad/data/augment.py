"""Data augmentation of image batches: random flips, rotations, translations and pad-and-crop.

Each transformation exists twice:

- as a function on a NumPy batch, e.g. ``random_rotation(X, 0.2, rng=0)``;
- as an ``nn`` layer (Keras's preprocessing layers ``RandomFlip``,
  ``RandomRotation``, ``RandomTranslation``), put first in a model: it
  transforms the batch in training mode and is the identity in evaluation
  mode, so ``Model.evaluate`` / ``predict`` see the real images.

Randomness comes from ``rng``: ``None`` (the library generator, seeded by
``ngrad.manual_seed``), an int seed or a ``numpy.random.Generator``; a layer
built with a seed owns a generator, so a run is repeatable and every call
still draws new transformations. Each image of a batch gets its own draw.

Rotations and translations map every output pixel back into the input
(inverse mapping) and interpolate there, bilinearly or from the nearest
pixel; where the source falls outside the image, ``fill_mode`` decides, as
in Keras: ``'reflect'`` (d c b a | a b c d | d c b a, Keras's default),
``'wrap'`` (a b c d | a b c d), ``'nearest'`` (a a a | a b c d | d d d) or
``'constant'`` (``fill_value``). NumPy only; no SciPy.

Layout: NCHW (N, C, H, W) like the rest of ngrad's image code; pass
``data_format="channels_last"`` for NHWC batches such as the course's
``(m, 64, 64, 3)`` arrays. Integer images (uint8) keep their dtype through
flips and nearest interpolation and become float32 through bilinear
interpolation.

The course's ``data_augmenter()`` (C4W2 transfer learning) is::

    nn.Sequential(RandomFlip("horizontal"), RandomRotation(0.2))

>>> import numpy as np
>>> X = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3)
>>> random_flip(X, rng=0)[:, 0, 0]  # each image flipped or not: here the second
array([[0., 1., 2.],
       [8., 7., 6.]], dtype=float32)
"""
from __future__ import annotations

import math

import numpy

from ngrad.backend import get_default_dtype
from ngrad.nn.module import Module
from ngrad.random import resolve_rng
from ngrad.tensor import Tensor, _wrap

FILL_MODES = ("reflect", "wrap", "nearest", "constant")
INTERPOLATIONS = ("bilinear", "nearest")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")

__all__ = [
    "FILL_MODES", "RandomFlip", "RandomPadCrop", "RandomRotation", "RandomTranslation", "data_augmenter",
    "random_flip", "random_pad_crop", "random_rotation", "random_translation", "rotation_matrices", "warp",
]


# ------------------------------------------------------------------ arguments
def _generator(rng) -> numpy.random.Generator:
    return rng if isinstance(rng, numpy.random.Generator) else resolve_rng(rng)


def _last(data_format: str, who: str) -> bool:
    if data_format in ("channels_first", "NCHW"):
        return False
    if data_format in ("channels_last", "NHWC"):
        return True
    raise ValueError(f"{who}: data_format must be 'channels_first' (NCHW) or 'channels_last' (NHWC), "
                     f"got {data_format!r}")


def _batch(X, who: str):
    X = numpy.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"{who}: expected a batch of images (N, C, H, W) or (N, H, W, C), got shape {X.shape}")
    return X


def _range(factor, who: str, what: str) -> tuple:
    """A factor ``f`` as the range (-f, f); a pair (lower, upper) as itself."""
    if isinstance(factor, (int, float)):
        lo, hi = -abs(float(factor)), abs(float(factor))
    else:
        try:
            lo, hi = (float(v) for v in factor)
        except (TypeError, ValueError):
            raise ValueError(f"{who}: {what} must be a number or a pair (lower, upper), got {factor!r}") from None
    if lo > hi:
        raise ValueError(f"{who}: {what} range ({lo}, {hi}) has lower > upper")
    return lo, hi


def _check_modes(fill_mode: str, interpolation: str, who: str) -> None:
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{who}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{who}: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")


# ------------------------------------------------------------------ sampling
def _fill_index(i, size: int, fill_mode: str):
    """Integer source indices mapped into [0, size) by ``fill_mode``; 'constant' clips (masked later)."""
    if fill_mode == "reflect":  # half-sample symmetric: -1 -> 0, size -> size - 1
        m = numpy.mod(i, 2 * size)
        return numpy.where(m >= size, 2 * size - 1 - m, m)
    if fill_mode == "wrap":
        return numpy.mod(i, size)
    return numpy.clip(i, 0, size - 1)


def _gather(Xl, n, yi, xi, fill_mode, fill_value):
    """Xl (N, H, W, C) at integer sources (N, H, W) -> (N, H, W, C), filled outside the image."""
    h, w = Xl.shape[1:3]
    out = Xl[n, _fill_index(yi, h, fill_mode), _fill_index(xi, w, fill_mode)]  # (N, H, W, C)
    if fill_mode == "constant":
        outside = (yi < 0) | (yi >= h) | (xi < 0) | (xi >= w)  # (N, H, W)
        out[outside] = fill_value
    return out


def warp(X, matrix, offset, interpolation: str = "bilinear", fill_mode: str = "reflect", fill_value: float = 0.0,
         data_format: str = "channels_first"):
    """Resample every image at ``source = matrix @ (y, x) + offset`` (inverse mapping).

    Parameters
    ----------
    X : array (N, C, H, W), or (N, H, W, C) with ``channels_last``
    matrix : array (N, 2, 2)
        Per image, maps output pixel coordinates (row y, column x) to source coordinates.
    offset : array (N, 2)
        Per image, added to the source (row, column).

    Returns
    -------
    array shaped like ``X``
    """
    _check_modes(fill_mode, interpolation, "warp")
    last = _last(data_format, "warp")
    X = _batch(X, "warp")
    Xl = X if last else X.transpose(0, 2, 3, 1)  # (N, H, W, C) view
    n, h, w = Xl.shape[:3]
    yy, xx = numpy.meshgrid(numpy.arange(h, dtype=numpy.float64), numpy.arange(w, dtype=numpy.float64),
                            indexing="ij")  # (H, W)
    A, b = numpy.asarray(matrix, numpy.float64), numpy.asarray(offset, numpy.float64)
    ys = A[:, 0, 0, None, None] * yy + A[:, 0, 1, None, None] * xx + b[:, 0, None, None]  # (N, H, W)
    xs = A[:, 1, 0, None, None] * yy + A[:, 1, 1, None, None] * xx + b[:, 1, None, None]  # (N, H, W)
    idx = numpy.arange(n)[:, None, None]
    if interpolation == "nearest":
        out = _gather(Xl, idx, numpy.floor(ys + 0.5).astype(numpy.int64), numpy.floor(xs + 0.5).astype(numpy.int64),
                      fill_mode, fill_value)
    else:
        out = _bilinear(Xl, idx, ys, xs, fill_mode, fill_value)
    return out if last else numpy.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _bilinear(Xl, idx, ys, xs, fill_mode, fill_value):
    """Bilinear interpolation of Xl (N, H, W, C) at real sources (N, H, W)."""
    dtype = Xl.dtype if Xl.dtype.kind == "f" else numpy.dtype(get_default_dtype())
    y0, x0 = numpy.floor(ys), numpy.floor(xs)
    wy, wx = (ys - y0).astype(dtype)[..., None], (xs - x0).astype(dtype)[..., None]  # (N, H, W, 1)
    y0, x0 = y0.astype(numpy.int64), x0.astype(numpy.int64)

    def at(yi, xi):
        return _gather(Xl, idx, yi, xi, fill_mode, fill_value).astype(dtype, copy=False)

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx  # (N, H, W, C)
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy


# ------------------------------------------------------------------ transformations
def random_flip(X, mode: str = "horizontal", rng=None, data_format: str = "channels_first"):
    """Flip each image left-right (``'horizontal'``), up-down (``'vertical'``) or both, each with probability 1/2.

    Keras's ``RandomFlip``. Shape: (N, C, H, W) -> the same (NHWC with ``channels_last``).
    """
    if mode not in FLIP_MODES:
        raise ValueError(f"random_flip: mode must be one of {FLIP_MODES}, got {mode!r}")
    X = _batch(X, "random_flip")
    last = _last(data_format, "random_flip")
    gen = _generator(rng)
    out = X.copy()
    h_axis, w_axis = (1, 2) if last else (2, 3)
    if mode in ("horizontal", "horizontal_and_vertical"):
        pick = gen.random(len(X)) < 0.5  # (N,)
        out[pick] = numpy.flip(out[pick], axis=w_axis)
    if mode in ("vertical", "horizontal_and_vertical"):
        pick = gen.random(len(X)) < 0.5
        out[pick] = numpy.flip(out[pick], axis=h_axis)
    return out


def rotation_matrices(angles, h: int, w: int):
    """Inverse-mapping ``(matrix (N, 2, 2), offset (N, 2))`` of counter-clockwise rotations by ``angles``
    (radians) about the image centre, for :func:`warp`."""
    angles = numpy.asarray(angles, numpy.float64)
    c, s = numpy.cos(angles), numpy.sin(angles)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    # source (y, x) = centre + R @ (y - cy, x - cx), rows down: y_s = c*dy + s*dx, x_s = -s*dy + c*dx
    matrix = numpy.stack([numpy.stack([c, s], -1), numpy.stack([-s, c], -1)], -2)  # (N, 2, 2)
    offset = numpy.stack([cy - c * cy - s * cx, cx + s * cy - c * cx], -1)  # (N, 2)
    return matrix, offset


def random_rotation(X, factor, fill_mode: str = "reflect", interpolation: str = "bilinear", fill_value: float = 0.0,
                    rng=None, data_format: str = "channels_first"):
    """Rotate each image by a random angle, counter-clockwise for positive angles (Keras's ``RandomRotation``).

    Parameters
    ----------
    factor : float or (lower, upper)
        A fraction of a full turn: the angle is drawn uniformly from
        ``[-factor * 2 pi, factor * 2 pi]`` (``0.2``: up to 72 degrees either way).

    Shape: (N, C, H, W) -> the same.
    """
    _check_modes(fill_mode, interpolation, "random_rotation")
    X = _batch(X, "random_rotation")
    lo, hi = _range(factor, "random_rotation", "factor")
    angles = _generator(rng).uniform(lo, hi, len(X)) * 2 * math.pi  # (N,)
    h, w = X.shape[1:3] if _last(data_format, "random_rotation") else X.shape[2:]
    matrix, offset = rotation_matrices(angles, h, w)
    return warp(X, matrix, offset, interpolation, fill_mode, fill_value, data_format)


def _shift(X, dy, dx, interpolation, fill_mode, fill_value, data_format):
    """Translate image i by (dy[i], dx[i]) pixels (down and right for positive values)."""
    n = len(X)
    matrix = numpy.broadcast_to(numpy.eye(2), (n, 2, 2))
    return warp(X, matrix, numpy.stack([-dy, -dx], -1), interpolation, fill_mode, fill_value, data_format)


def random_translation(X, height_factor, width_factor=None, fill_mode: str = "reflect",
                       interpolation: str = "bilinear", fill_value: float = 0.0, rng=None,
                       data_format: str = "channels_first"):
    """Shift each image by random fractions of its height and width (Keras's ``RandomTranslation``).

    Parameters
    ----------
    height_factor, width_factor : float or (lower, upper)
        The shift is drawn uniformly from ``[-f * H, f * H]`` (down for
        positive values) and ``[-f * W, f * W]`` (right); ``width_factor``
        defaults to ``height_factor``.

    Shape: (N, C, H, W) -> the same.
    """
    _check_modes(fill_mode, interpolation, "random_translation")
    X = _batch(X, "random_translation")
    lo_h, hi_h = _range(height_factor, "random_translation", "height_factor")
    lo_w, hi_w = _range(height_factor if width_factor is None else width_factor, "random_translation",
                        "width_factor")
    h, w = X.shape[1:3] if _last(data_format, "random_translation") else X.shape[2:]
    gen = _generator(rng)
    dy, dx = gen.uniform(lo_h, hi_h, len(X)) * h, gen.uniform(lo_w, hi_w, len(X)) * w
    return _shift(X, dy, dx, interpolation, fill_mode, fill_value, data_format)


def random_pad_crop(X, padding: int = 4, fill_mode: str = "constant", fill_value: float = 0.0, rng=None,
                    data_format: str = "channels_first"):
    """Pad each image by ``padding`` pixels and crop a random window of the original size.

    The CIFAR recipe (zero padding by default): a whole-pixel shift of up to
    ``padding`` in each direction; sizes are kept, so it works inside a model.

    Shape: (N, C, H, W) -> the same.
    """
    if int(padding) < 0:
        raise ValueError(f"random_pad_crop: padding must be >= 0, got {padding}")
    _check_modes(fill_mode, "nearest", "random_pad_crop")
    X = _batch(X, "random_pad_crop")
    gen = _generator(rng)
    p = int(padding)
    dy, dx = (gen.integers(-p, p + 1, len(X)).astype(numpy.float64) for _ in range(2))
    return _shift(X, dy, dx, "nearest", fill_mode, fill_value, data_format)


# ------------------------------------------------------------------ layers
class _Augmentation(Module):
    """A random transformation applied in training mode only; the identity in evaluation mode."""

    def __init__(self, rng=None, data_format: str = "channels_first"):
        super().__init__()
        self.seed = int(rng) if isinstance(rng, (int, numpy.integer)) else None
        self.rng = rng if isinstance(rng, numpy.random.Generator) else (
            numpy.random.default_rng(self.seed) if self.seed is not None else None)
        self.data_format = "channels_last" if _last(data_format, type(self).__name__) else "channels_first"

    def _apply(self, X, gen):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x):
        if not self.training:
            return x
        if isinstance(x, Tensor) and x.requires_grad:
            raise RuntimeError(f"{type(self).__name__} makes new input images and passes no gradient back; "
                               f"put it first in the model, on data that does not require grad")
        data = x.data if isinstance(x, Tensor) else numpy.asarray(x)
        out = self._apply(data, self.rng if self.rng is not None else resolve_rng(None))
        return _wrap(numpy.asarray(out), False, None)

    def _config(self) -> dict:
        cfg = {"data_format": self.data_format}
        if self.seed is not None:
            cfg["rng"] = self.seed
        return cfg


class RandomFlip(_Augmentation):
    """Flip each image of a training batch with probability 1/2 (Keras's ``RandomFlip``).

    Parameters
    ----------
    mode : 'horizontal', 'vertical' or 'horizontal_and_vertical'
    rng : None, int or numpy Generator
    data_format : 'channels_first' or 'channels_last'

    Shape: (N, C, H, W) -> the same; the identity in evaluation mode.
    """

    def __init__(self, mode: str = "horizontal", rng=None, data_format: str = "channels_first"):
        super().__init__(rng, data_format)
        if mode not in FLIP_MODES:
            raise ValueError(f"RandomFlip: mode must be one of {FLIP_MODES}, got {mode!r}")
        self.mode = mode

    def _apply(self, X, gen):
        return random_flip(X, self.mode, gen, self.data_format)

    def extra_repr(self) -> str:
        return repr(self.mode)

    def get_config(self) -> dict:
        return {"mode": self.mode, **self._config()}


class _Warping(_Augmentation):
    def __init__(self, fill_mode, interpolation, fill_value, rng, data_format):
        super().__init__(rng, data_format)
        _check_modes(fill_mode, interpolation, type(self).__name__)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def _warp_config(self) -> dict:
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation, "fill_value": self.fill_value,
                **self._config()}


class RandomRotation(_Warping):
    """Rotate each image of a training batch by a random angle (Keras's ``RandomRotation``).

    Parameters
    ----------
    factor : float or (lower, upper)
        Fractions of a full turn (``0.2``: up to +/-72 degrees; positive is counter-clockwise).
    fill_mode : 'reflect' (default), 'wrap', 'nearest' or 'constant'
    interpolation : 'bilinear' (default) or 'nearest'
    fill_value : float
        For ``fill_mode='constant'``.

    Shape: (N, C, H, W) -> the same; the identity in evaluation mode.
    """

    def __init__(self, factor, fill_mode: str = "reflect", interpolation: str = "bilinear", fill_value: float = 0.0,
                 rng=None, data_format: str = "channels_first"):
        super().__init__(fill_mode, interpolation, fill_value, rng, data_format)
        self.factor = _range(factor, "RandomRotation", "factor")

    def _apply(self, X, gen):
        return random_rotation(X, self.factor, self.fill_mode, self.interpolation, self.fill_value, gen,
                               self.data_format)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, fill_mode={self.fill_mode!r}"

    def get_config(self) -> dict:
        return {"factor": list(self.factor), **self._warp_config()}


class RandomTranslation(_Warping):
    """Shift each image of a training batch by random fractions of its size (Keras's ``RandomTranslation``).

    Parameters
    ----------
    height_factor, width_factor : float or (lower, upper)
        ``width_factor`` defaults to ``height_factor``.

    Shape: (N, C, H, W) -> the same; the identity in evaluation mode.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 fill_value: float = 0.0, rng=None, data_format: str = "channels_first"):
        super().__init__(fill_mode, interpolation, fill_value, rng, data_format)
        self.height_factor = _range(height_factor, "RandomTranslation", "height_factor")
        self.width_factor = _range(height_factor if width_factor is None else width_factor, "RandomTranslation",
                                   "width_factor")

    def _apply(self, X, gen):
        return random_translation(X, self.height_factor, self.width_factor, self.fill_mode, self.interpolation,
                                  self.fill_value, gen, self.data_format)

    def extra_repr(self) -> str:
        return f"height_factor={self.height_factor}, width_factor={self.width_factor}, fill_mode={self.fill_mode!r}"

    def get_config(self) -> dict:
        return {"height_factor": list(self.height_factor), "width_factor": list(self.width_factor),
                **self._warp_config()}


class RandomPadCrop(_Augmentation):
    """Pad each image of a training batch and crop a random window of the original size.

    Shape: (N, C, H, W) -> the same; the identity in evaluation mode.
    """

    def __init__(self, padding: int = 4, fill_mode: str = "constant", fill_value: float = 0.0, rng=None,
                 data_format: str = "channels_first"):
        super().__init__(rng, data_format)
        _check_modes(fill_mode, "nearest", "RandomPadCrop")
        if int(padding) < 0:
            raise ValueError(f"RandomPadCrop: padding must be >= 0, got {padding}")
        self.padding, self.fill_mode, self.fill_value = int(padding), fill_mode, float(fill_value)

    def _apply(self, X, gen):
        return random_pad_crop(X, self.padding, self.fill_mode, self.fill_value, gen, self.data_format)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, fill_mode={self.fill_mode!r}"

    def get_config(self) -> dict:
        return {"padding": self.padding, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                **self._config()}


def data_augmenter(rng=None, data_format: str = "channels_first"):
    """The course's ``data_augmenter()``: ``RandomFlip('horizontal')`` then ``RandomRotation(0.2)``."""
    from ngrad.nn.containers import Sequential

    seeds = (None, None) if rng is None else tuple(int(s) for s in numpy.random.default_rng(rng).integers(0, 2**31, 2))
    return Sequential(RandomFlip("horizontal", rng=seeds[0], data_format=data_format),
                      RandomRotation(0.2, rng=seeds[1], data_format=data_format))
