"""Progress display for fit / evaluate / predict.

On a terminal (``isatty()``) with ``verbose=1`` a bar is redrawn in place,
with tqdm when it is installed (``pip install "ngrad[progress]"``) and a
plain carriage-return line otherwise; redraws are throttled to ``interval``
seconds, so a fast loop pays a clock read per batch. Anywhere else (CI logs,
files, pytest's capture) and with ``verbose=2`` each pass prints exactly one
line when it ends; ``verbose=0`` prints nothing.

The end-of-epoch line reads::

    Epoch 3/10 - 24/24 - 0.41s - 17ms/step - loss: 0.2231 - accuracy: 0.9349 - val_loss: 0.2510
"""
from __future__ import annotations

import math
import sys
import time

__all__ = ["Progbar", "format_logs"]


def format_logs(values: dict) -> str:
    """``"loss: 0.2231 - accuracy: 0.9349"``: four significant decimals, Keras style."""
    return " - ".join(f"{k}: {_format_value(v)}" for k, v in values.items())


def _format_value(v) -> str:
    if isinstance(v, float) and math.isfinite(v) and v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.4e}"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _format_time(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes}m{s:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _format_step_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progbar:
    """Progress of one pass over ``total`` steps (``None``: unknown).

    Parameters
    ----------
    total : int or None
    title : str
        Printed first, e.g. ``"Epoch 3/10"``.
    verbose : {0, 1, 2}
        0 silent; 1 a live bar on a terminal, one line at the end elsewhere;
        2 one line at the end always.
    stream : file, optional
        Defaults to ``sys.stdout`` as it is when the bar is created.
    interval : float
        Minimum seconds between two redraws of a live bar.
    """

    def __init__(self, total, title: str = "", verbose: int = 1, stream=None, interval: float = 0.1):
        self.total = total
        self.title = title
        self.verbose = int(verbose)
        self.stream = stream if stream is not None else sys.stdout
        self.interval = interval
        self.live = self.verbose == 1 and _is_terminal(self.stream)
        self.start = time.perf_counter()
        self._next_draw = self.start
        self._tqdm = _make_tqdm(total, title, self.stream, interval) if self.live else None

    def update(self, current: int, values=None) -> None:
        """Step ``current`` reached; ``values`` (a dict, or a callable returning one) shown on the bar.

        Cheap between redraws: a clock read, nothing formatted.
        """
        if not self.live:
            return
        now = time.perf_counter()
        if now < self._next_draw:
            return
        self._next_draw = now + self.interval
        if callable(values):
            values = values()
        self._draw(current, values or {}, now)

    def _draw(self, current: int, values: dict, now: float) -> None:
        if self._tqdm is not None:
            self._tqdm.n = current
            self._tqdm.set_postfix_str(format_logs(values), refresh=False)
            self._tqdm.refresh()
            return
        total = f"/{self.total}" if self.total else ""
        parts = [p for p in (self.title, f"{current}{total}", _bar(current, self.total),
                             _format_time(now - self.start), format_logs(values)) if p]
        self.stream.write("\r" + " - ".join(parts) + "\x1b[K")
        self.stream.flush()

    def close(self, current: int, values=None) -> None:
        """End the pass: the final state of the bar, or the one summary line."""
        if self.verbose == 0:
            return
        values = values or {}
        elapsed = time.perf_counter() - self.start
        if self._tqdm is not None:
            self._tqdm.n = current
            self._tqdm.set_postfix_str(format_logs(values), refresh=False)
            self._tqdm.close()
            return
        line = self.summary(current, values, elapsed)
        self.stream.write(("\r" + line + "\x1b[K\n") if self.live else line + "\n")
        self.stream.flush()

    def summary(self, current: int, values: dict, elapsed: float) -> str:
        """The one-line summary: title, steps, time, time per step, values."""
        total = f"/{self.total}" if self.total else ""
        per_step = _format_step_time(elapsed / current) if current else ""
        parts = [self.title, f"{current}{total}", _format_time(elapsed), per_step, format_logs(values)]
        return " - ".join(p for p in parts if p)


def _bar(current: int, total, width: int = 20) -> str:
    if not total:
        return ""
    filled = min(width, int(width * current / total))
    return "[" + "=" * filled + "." * (width - filled) + "]"


def _make_tqdm(total, title: str, stream, interval: float):
    """A tqdm bar, or None when tqdm is not installed (the plain line takes over)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=title, file=stream, leave=True, mininterval=interval,
                unit="step", dynamic_ncols=True)
