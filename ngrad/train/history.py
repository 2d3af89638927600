"""``History``: the per-epoch logs of a ``fit`` call, and learning-curve plots.

>>> h = History()
>>> h.on_epoch_end(0, {"loss": 0.9, "val_loss": 1.0})
>>> h.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.7})
>>> h.history["loss"], h.epoch
([0.9, 0.5], [0, 1])
"""
from __future__ import annotations

import os

from ngrad.train.base import Callback

__all__ = ["History", "plot_history"]


class History(Callback):
    """Records every epoch's logs; ``Model.fit`` returns it (also ``model.history``).

    Attributes
    ----------
    history : dict of str -> list of float
        ``history["loss"][e]`` is epoch ``e``'s training loss; validation
        entries are prefixed ``val_``. A key first logged late has ``nan``
        for the epochs before it, so all lists keep the same length.
    epoch : list of int
        The epoch indices recorded (0-based).
    """

    def __init__(self):
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_epoch_end(self, epoch, logs=None):
        self.history = self.with_epoch(epoch, logs)[1]
        self.epoch.append(epoch)

    def with_epoch(self, epoch, logs=None):
        """``(epochs, history)`` as they are once ``epoch`` is recorded with ``logs`` (copies).

        Used to save a snapshot that includes an epoch still being closed.
        """
        if self.epoch and self.epoch[-1] == epoch:
            return list(self.epoch), {k: list(v) for k, v in self.history.items()}
        n = len(self.epoch)
        history = {k: list(v) for k, v in self.history.items()}
        for key, value in (logs or {}).items():
            history.setdefault(key, [float("nan")] * n).append(_plain(value))
        for values in history.values():
            if len(values) == n:
                values.append(float("nan"))
        return self.epoch + [epoch], history

    def plot(self, path=None, keys=None, title: str | None = None):
        """Draw learning curves to a PNG; see :func:`plot_history`."""
        return plot_history(self, path, keys=keys, title=title)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


def _plain(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def plot_history(history, path=None, keys=None, title: str | None = None):
    """Plot training and validation curves per quantity (loss, accuracy, ...) to a PNG.

    Parameters
    ----------
    history : History or dict of str -> list
    path : str or PathLike, optional
        Where to write the PNG (default ``"learning_curves.png"``); written
        atomically. Uses matplotlib's Agg canvas (``pip install "ngrad[plot]"``)
        without touching the global pyplot backend.
    keys : list of str, optional
        Quantities to plot (default: every key without ``val_``, e.g.
        ``["loss", "accuracy"]``); the ``val_`` twin is drawn on the same axes.

    Returns
    -------
    str
        The path written.
    """
    from ngrad.io import atomic_write

    data = history.history if isinstance(history, History) else dict(history)
    keys = keys or [k for k in data if not k.startswith("val_")] or list(data)
    if not keys:
        raise ValueError("plot_history: the history is empty (train for at least one epoch)")
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=(5 * len(keys), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    for i, key in enumerate(keys, start=1):
        _plot_curves(fig.add_subplot(1, len(keys), i), data, key)
    if title:
        fig.suptitle(title)
    path = os.fspath(path or "learning_curves.png")
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write(path, buf.getvalue())
    return path


def _plot_curves(ax, data: dict, key: str) -> None:
    for name, style in ((key, "-"), (f"val_{key}", "--")):
        if name in data:
            values = data[name]
            ax.plot(range(1, len(values) + 1), values, style, marker="o", markersize=3,
                    label="validation" if name.startswith("val_") else "training")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.set_title(key)
    ax.grid(alpha=0.3)
    ax.legend()


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plotting learning curves needs matplotlib: pip install "ngrad[plot]"') from None
    return Figure, FigureCanvasAgg
