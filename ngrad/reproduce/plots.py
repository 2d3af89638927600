"""The reproductions' figures: cost curves and decision boundaries, saved as PNG.

matplotlib is optional (``pip install "ngrad[plot]"``); without it the
functions return ``None`` and the experiment notes that its plots were skipped.
"""
from __future__ import annotations

import math

import numpy as np

REGION_COLORS = ("#f6b8b0", "#b3cde8")  # light red: predicted 0, light blue: predicted 1
PLOT_HINT = 'plots skipped: matplotlib is not installed (pip install "ngrad[plot]")'


def _figure(figsize):
    """A matplotlib ``Figure`` on its own Agg canvas (pyplot's backend is left alone), or ``None``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def cost_curves(path, curves: dict, title: str, xlabel: str = "iteration", ylabel: str = "cost",
                logy: bool = False):
    """One figure with a line per entry of ``curves`` (``{label: (xs, ys)}``); returns ``path``."""
    fig = _figure((7, 4))
    if fig is None:
        return None
    ax = fig.subplots()
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def decision_boundaries(path, panels: list, X, y, step: float = 0.02, ncols: int = 2):
    """Decision regions of one or more classifiers over the 2-D points ``X`` (m, 2), labels ``y`` (m,).

    ``panels`` is a list of ``(title, predict)`` where ``predict(points)``
    maps a (k, 2) array to k labels 0/1, as the course's ``plot_decision_boundary``
    draws them (padding 1 around the data). Returns ``path``.
    """
    X, y = np.asarray(X), np.asarray(y).reshape(-1)
    xx, yy = np.meshgrid(np.arange(X[:, 0].min() - 1, X[:, 0].max() + 1, step),
                         np.arange(X[:, 1].min() - 1, X[:, 1].max() + 1, step))
    grid = np.c_[xx.ravel(), yy.ravel()]  # (k, 2)
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = _figure((5 * ncols, 4 * nrows))
    if fig is None:
        return None
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (title, predict) in zip(axes.flat, panels):
        Z = np.asarray(predict(grid)).reshape(xx.shape)
        ax.contourf(xx, yy, Z, levels=[-0.5, 0.5, 1.5], colors=REGION_COLORS)  # same colors even if Z is constant
        ax.scatter(X[:, 0], X[:, 1], c=y, s=20, cmap="Spectral", edgecolors="white", linewidths=0.4)
        ax.set(title=title, xlabel="x1", ylabel="x2")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def saved(result, path) -> None:
    """Record a plot in ``result`` (or the note that plots were skipped)."""
    if path is None:
        if PLOT_HINT not in result.notes:
            result.notes.append(PLOT_HINT)
    else:
        result.plots.append(path)
