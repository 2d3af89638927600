"""The search plot: the score against each hyperparameter, on the scale it was sampled on."""
from __future__ import annotations

import numpy as np

from ngrad.tune.space import Choice, Distribution

__all__ = ["plot_search"]


def plot_search(result, path, ncols=3):
    """Save a PNG with one panel per sampled hyperparameter.

    Log-sampled parameters get a log x-axis; ``one_minus_loguniform`` ones are
    drawn as ``1 - value`` on a log axis (the scale they were sampled on);
    choices are spread over their options. The best trial is starred.

    Parameters
    ----------
    result : SearchResult
    path : str or Path
    ncols : int

    Returns
    -------
    pathlib.Path
    """
    from ngrad.metrics import new_figure, save_figure

    names = [k for k, v in result.space.items() if isinstance(v, Distribution)]
    ok = result.ok
    n = max(1, len(names))
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = new_figure(figsize=(4.2 * ncols, 3.4 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    best = result.best
    for ax, name in zip(axes.ravel(), names):
        _panel(ax, name, result.space[name], ok, best, result.metric)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    if not names:
        axes[0, 0].text(0.5, 0.5, "nothing was sampled", ha="center", va="center")
    fig.suptitle(_title(result), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _panel(ax, name, dist, ok, best, metric):
    scores = np.array([t.score for t in ok], dtype=float)
    if isinstance(dist, Choice):
        labels = [str(o) for o in dist.options]
        x = np.array([labels.index(str(t.params[name])) for t in ok], dtype=float)
        x += np.random.default_rng(0).uniform(-0.15, 0.15, len(x))  # spread overlapping points
        ax.set_xticks(range(len(labels)), labels)
        xlabel = name
    else:
        raw = np.array([t.params[name] for t in ok], dtype=float)
        x = 1.0 - raw if dist.scale == "one_minus_log" else raw
        if dist.scale in ("log", "one_minus_log"):
            ax.set_xscale("log")
        xlabel = f"1 - {name}" if dist.scale == "one_minus_log" else name
    ax.scatter(x, scores, s=18, alpha=0.75)
    if best is not None and len(ok):
        i = ok.index(best)
        ax.scatter([x[i]], [scores[i]], marker="*", s=160, color="C3", label="best", zorder=3)
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel(xlabel + (" (log scale)" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)


def _title(result):
    direction = "higher" if result.maximize else "lower"
    head = f"{len(result.trials)} trials ({len(result.failed)} failed), {result.metric}: {direction} is better"
    if result.best is not None:
        head += f"; best {result.best.score:.4g} (trial {result.best.number})"
    return head
