"""Search spaces: distributions to sample hyperparameters from, on the right scale.

Course 2, week 3: sample at random rather than on a grid (you never know in
advance which hyperparameter matters), on an appropriate *scale*:

- a learning rate between 1e-4 and 1: ``r ~ U(-4, 0)``, ``lr = 10**r``
  (:func:`loguniform`), so 1e-4..1e-3 gets as many trials as 0.1..1;
- a momentum-like ``beta`` between 0.9 and 0.999: ``r ~ U(-3, -1)``,
  ``beta = 1 - 10**r`` (:func:`one_minus_loguniform`): the average over
  ``1 / (1 - beta)`` examples is what is sensitive near 1;
- units or layers: integers (:func:`randint`); activations: :func:`choice`.

Then zoom in coarse to fine (:func:`zoom`): a new, smaller space around the best
trials, narrowed on each parameter's own scale.

>>> import numpy as np
>>> space = {"lr": loguniform(1e-4, 1), "beta": one_minus_loguniform(0.9, 0.999), "epochs": 10}
>>> params = sample(space, np.random.default_rng(0))
>>> sorted(params), 1e-4 <= params["lr"] <= 1, 0.9 <= params["beta"] <= 0.999, params["epochs"]
(['beta', 'epochs', 'lr'], True, True, 10)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "Choice",
    "Distribution",
    "LogUniform",
    "OneMinusLogUniform",
    "RandInt",
    "Uniform",
    "choice",
    "loguniform",
    "one_minus_loguniform",
    "randint",
    "sample",
    "space_from_config",
    "space_to_config",
    "uniform",
    "zoom",
]


class Distribution:
    """A hyperparameter's distribution: ``sample(rng)`` and ``narrowed(values)``.

    Numeric distributions sample uniformly in a transformed coordinate ``t``
    (``x`` itself, ``log10 x`` or ``log10(1 - x)``); narrowing works on ``t`` too.
    """

    scale = "linear"
    kind = ""

    def sample(self, rng):
        raise NotImplementedError

    def narrowed(self, values, margin=0.25):
        raise NotImplementedError

    def to_config(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __repr__(self):
        args = ", ".join(repr(v) for v in self.__dict__.values())
        return f"{self.kind}({args})"


class _Interval(Distribution):
    """Uniform in ``t = forward(x)`` between ``low`` and ``high``."""

    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ValueError(f"{self.kind}: need finite low < high, got ({low!r}, {high!r})")
        self._check(low, high)
        self.low, self.high = low, high

    def _check(self, low, high):
        pass

    def forward(self, x):
        return np.asarray(x, dtype=float)

    def inverse(self, t):
        return np.asarray(t, dtype=float)

    def _t_bounds(self):
        a, b = float(self.forward(self.low)), float(self.forward(self.high))
        return min(a, b), max(a, b)

    def sample(self, rng):
        lo, hi = self._t_bounds()
        x = float(self.inverse(rng.uniform(lo, hi)))
        return min(max(x, self.low), self.high)

    def narrowed(self, values, margin=0.25):
        lo, hi = _window(self.forward(np.asarray(values, dtype=float)), self._t_bounds(), margin)
        ends = sorted(float(v) for v in self.inverse(np.array([lo, hi])))
        ends = [min(max(e, self.low), self.high) for e in ends]
        if not ends[0] < ends[1]:
            return self
        return type(self)(*ends)

    def to_config(self):
        return {self.kind: [self.low, self.high]}


class Uniform(_Interval):
    """Uniform on ``[low, high]`` (dropout rates, weights of a loss)."""

    kind = "uniform"


class LogUniform(_Interval):
    """``10**r`` with ``r`` uniform on ``[log10 low, log10 high]`` (learning rates, L2 strength)."""

    kind = "loguniform"
    scale = "log"

    def _check(self, low, high):
        if low <= 0:
            raise ValueError(f"loguniform: low must be positive, got {low!r}")

    def forward(self, x):
        return np.log10(x)

    def inverse(self, t):
        return 10.0 ** np.asarray(t, dtype=float)


class OneMinusLogUniform(_Interval):
    """``1 - 10**r`` with ``r`` uniform on ``[log10(1 - high), log10(1 - low)]`` (momentum, Adam betas)."""

    kind = "one_minus_loguniform"
    scale = "one_minus_log"

    def _check(self, low, high):
        if not 0 <= low < high < 1:
            raise ValueError(f"one_minus_loguniform: need 0 <= low < high < 1, got ({low!r}, {high!r})")

    def forward(self, x):
        return np.log10(1.0 - np.asarray(x, dtype=float))

    def inverse(self, t):
        return 1.0 - 10.0 ** np.asarray(t, dtype=float)


class RandInt(Distribution):
    """An integer uniform on ``low, low + 1, ..., high - 1`` (NumPy's convention: ``high`` excluded)."""

    kind = "randint"
    scale = "int"

    def __init__(self, low, high):
        if int(low) != low or int(high) != high or not low < high:
            raise ValueError(f"randint: need integers low < high (high excluded), got ({low!r}, {high!r})")
        self.low, self.high = int(low), int(high)

    def sample(self, rng):
        return int(rng.integers(self.low, self.high))

    def narrowed(self, values, margin=0.25):
        lo, hi = _window(np.asarray(values, dtype=float), (self.low, self.high - 1), margin)
        lo, hi = max(self.low, math.floor(lo)), min(self.high - 1, math.ceil(hi))
        return RandInt(lo, hi + 1)

    def to_config(self):
        return {"randint": [self.low, self.high]}


class Choice(Distribution):
    """One of ``options``, each equally likely (activations, optimizers, architectures)."""

    kind = "choice"
    scale = "categorical"

    def __init__(self, options):
        options = list(options)
        if not options:
            raise ValueError("choice: needs at least one option")
        self.options = options

    def sample(self, rng):
        value = self.options[int(rng.integers(len(self.options)))]
        return value.item() if isinstance(value, np.generic) else value

    def narrowed(self, values, margin=0.25):
        kept = [o for o in self.options if any(_same(o, v) for v in values)]
        return Choice(kept or self.options)

    def to_config(self):
        return {"choice": list(self.options)}


def _same(a, b):
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - options of odd types
        return a is b


def _window(t, bounds, margin):
    """``[min t - pad, max t + pad]`` clipped to ``bounds``; ``pad`` is ``margin`` of the
    spread of ``t``, or of the whole range when the values coincide."""
    lo, hi = float(np.min(t)), float(np.max(t))
    spread = hi - lo if hi > lo else bounds[1] - bounds[0]
    pad = margin * spread
    return max(bounds[0], lo - pad), min(bounds[1], hi + pad)


# ----------------------------------------------------------------- factories
def uniform(low, high):
    """:class:`Uniform` on ``[low, high]``."""
    return Uniform(low, high)


def loguniform(low, high):
    """:class:`LogUniform`: sampled on a log scale, e.g. ``loguniform(1e-4, 1)`` for a learning rate."""
    return LogUniform(low, high)


def one_minus_loguniform(low, high):
    """:class:`OneMinusLogUniform`: ``1 - beta`` on a log scale, e.g. ``one_minus_loguniform(0.9, 0.999)``."""
    return OneMinusLogUniform(low, high)


def randint(low, high):
    """:class:`RandInt`: an integer in ``[low, high)``."""
    return RandInt(low, high)


def choice(options):
    """:class:`Choice`: one of ``options``."""
    return Choice(options)


# ----------------------------------------------------------------- spaces
def sample(space, rng):
    """One point of ``space``: each distribution sampled, other values passed through."""
    _check_space(space)
    return {k: (v.sample(rng) if isinstance(v, Distribution) else v) for k, v in space.items()}


def zoom(space, results, top_k=5, margin=0.25, maximize=None):
    """Coarse to fine: a narrower space around the ``top_k`` best successful trials.

    Each numeric range shrinks to the span of the best values on its own scale
    (log for :func:`loguniform`, ``1 - x`` log for :func:`one_minus_loguniform`),
    widened by ``margin`` of that span and kept inside the old range; a choice
    keeps the options the best trials used. Constants stay.

    Parameters
    ----------
    space : dict
    results : SearchResult, list of Trial, or list of dicts
        Dicts need ``"score"`` and the parameters, as in the rows of
        :meth:`SearchResult.rows`; rows whose ``status`` is not ``"ok"`` are skipped.
    top_k : int
    margin : float
    maximize : bool, optional
        Defaults to the search's direction for a ``SearchResult``, else ``True``.

    Returns
    -------
    dict
        The new space.
    """
    _check_space(space)
    if top_k < 1:
        raise ValueError(f"zoom: top_k must be at least 1, got {top_k}")
    if maximize is None:
        maximize = getattr(results, "maximize", True)
    best = _best_points(results, top_k, maximize)
    out = {}
    for name, dist in space.items():
        if not isinstance(dist, Distribution):
            out[name] = dist
            continue
        values = [p[name] for p in best if name in p]
        if not values:
            raise ValueError(f"zoom: the results hold no value of {name!r}")
        out[name] = dist.narrowed(values, margin)
    return out


def _best_points(results, top_k, maximize):
    trials = getattr(results, "trials", results)
    points = []
    for t in trials:
        if hasattr(t, "params"):
            if t.status == "ok":
                points.append((t.score, t.params))
        elif t.get("status", "ok") == "ok" and t.get("score") not in (None, ""):
            points.append((float(t["score"]), t))
    if not points:
        raise ValueError("zoom: no successful trial to zoom in on")
    points.sort(key=lambda sp: sp[0], reverse=bool(maximize))
    return [p for _, p in points[:top_k]]


def _check_space(space):
    if not hasattr(space, "items") or not space:
        raise ValueError("a search space is a non-empty dict {name: distribution or constant}")


# ----------------------------------------------------------------- config
_KINDS = {
    "uniform": Uniform,
    "loguniform": LogUniform,
    "one_minus_loguniform": OneMinusLogUniform,
    "randint": RandInt,
    "choice": Choice,
}


def space_from_config(config):
    """A space from plain data: ``{"lr": {"loguniform": [1e-4, 1]}, "act": {"choice": ["relu"]}, "epochs": 10}``.

    A value that is a one-key dict naming a distribution becomes it; anything
    else is a constant.
    """
    if not hasattr(config, "items") or not config:
        raise ValueError("the space must be a non-empty table {name: {kind: arguments} or constant}")
    space = {}
    for name, spec in config.items():
        if hasattr(spec, "items") and len(spec) == 1 and next(iter(spec)) in _KINDS:
            kind, args = next(iter(spec.items()))
            space[name] = _build(name, kind, args)
        elif hasattr(spec, "items"):
            raise ValueError(f"space[{name!r}]: unknown distribution {list(spec)}; use one of {list(_KINDS)}")
        else:
            space[name] = spec
    return space


def _build(name, kind, args):
    try:
        return _KINDS[kind](args) if kind == "choice" else _KINDS[kind](*args)
    except TypeError as e:
        raise ValueError(f"space[{name!r}]: {kind} takes [low, high] (choice takes a list), got {args!r}") from e
    except ValueError as e:
        raise ValueError(f"space[{name!r}]: {e}") from e


def space_to_config(space):
    """The inverse of :func:`space_from_config`."""
    return {k: (v.to_config() if isinstance(v, Distribution) else v) for k, v in space.items()}
