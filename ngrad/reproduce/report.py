"""Rows of a reproduction (metric, course, ngrad), the printed table and ``results.json``.

A :class:`Row` says how its ngrad value is judged against the course's:

- ``exact``: the course is deterministic (fixed seeds, float64 NumPy); the
  values must agree to the digits the course printed (half a unit in the
  last printed place; for numbers printed with 10 digits or more, to
  ``1e-9`` relative, since a different summation order moves the last bits);
- ``range``: the course is not reproducible draw for draw (TensorFlow's
  initializers, dropout masks drawn differently); the value must land
  within ``tol`` of the course's;
- ``info``: no course number to compare with (a plot, a quick run, an
  extra measurement).

Examples
--------
>>> row = Row.printed("cost after iteration 100", "0.584508", 0.58450841)
>>> row.status
'match'
>>> Row.accuracy("test accuracy", 0.70, 0.68).status
'differs'
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

#: relative agreement asked of numbers the course printed with many digits
LONG_PRINT_RTOL = 1e-9


@dataclass
class Row:
    """One line of an experiment's table.

    Attributes
    ----------
    metric : str
    course : float or None
        The course's number (``None`` when it has none, or printed ``inf``).
    ngrad : float
        What ngrad measured.
    kind : {"exact", "range", "info"}
    tol : float
        Largest ``|ngrad - course|`` still judged a match.
    course_text : str
        How the course printed its number (shown in the table).
    note : str
        A footnote shown under the table.
    """

    metric: str
    course: float | None
    ngrad: float
    kind: str = "info"
    tol: float = 0.0
    course_text: str = ""
    note: str = ""

    # ------------------------------------------------------------ builders
    @classmethod
    def printed(cls, metric: str, course_text: str, ngrad: float, note: str = "") -> "Row":
        """A deterministic number, compared to the digits the course printed (``"0.584508"``)."""
        course = float(course_text)
        return cls(metric, course, float(ngrad), "exact", printed_tolerance(course_text), course_text, note)

    @classmethod
    def accuracy(cls, metric: str, course: float, ngrad: float, note: str = "") -> "Row":
        """An accuracy of a deterministic run: the same examples right (to 1e-9)."""
        return cls(metric, float(course), float(ngrad), "exact", 1e-9, _short(course), note)

    @classmethod
    def approx(cls, metric: str, course: float, ngrad: float, tol: float, note: str = "") -> "Row":
        """A number of a run the course cannot make repeatable: within ``tol`` of the course's."""
        return cls(metric, float(course), float(ngrad), "range", float(tol), _short(course), note)

    @classmethod
    def info(cls, metric: str, ngrad: float, note: str = "", course_text: str = "") -> "Row":
        """A number with nothing to compare it to (``course_text`` may say why, e.g. ``"inf"``)."""
        return cls(metric, None, float(ngrad), "info", 0.0, course_text, note)

    # ------------------------------------------------------------- judging
    @property
    def status(self) -> str:
        """``"match"``, ``"differs"``, ``"in range"``, ``"out of range"`` or ``""`` (nothing to compare)."""
        if self.course is None or self.kind == "info":
            return ""
        close = abs(self.ngrad - self.course) <= self.tol
        if self.kind == "range":
            return "in range" if close else "out of range"
        return "match" if close else "differs"

    @property
    def ok(self) -> bool:
        """True unless the row was compared and found different."""
        return self.status in ("", "match", "in range")

    def to_json(self) -> dict:
        """``{"metric", "course", "ngrad"}``: the shape of ``results.json`` rows."""
        return {"metric": self.metric, "course": self.course, "ngrad": _finite(self.ngrad)}


def printed_tolerance(text: str) -> float:
    """Half a unit in the last place the course printed; ``1e-9`` relative for long prints.

    >>> printed_tolerance("0.584508")
    5e-07
    >>> printed_tolerance("0.2850931567761623") == 0.2850931567761623 * LONG_PRINT_RTOL
    True
    """
    value = float(text)
    mantissa, _, exponent = text.lower().partition("e")
    digits = mantissa.lstrip("+-").replace(".", "").lstrip("0")
    decimals = len(mantissa.partition(".")[2])
    if len(digits) >= 10:
        return abs(value) * LONG_PRINT_RTOL
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


@dataclass
class Result:
    """What an experiment's ``run`` returns: its rows, the plots it saved and notes."""

    rows: list = field(default_factory=list)
    plots: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def counts(self) -> dict:
        """How many rows matched, differed, or had nothing to compare."""
        out = {"match": 0, "differs": 0, "info": 0}
        for row in self.rows:
            out["info" if row.status == "" else "match" if row.ok else "differs"] += 1
        return out


# ------------------------------------------------------------------ output
def format_table(rows, title: str = "") -> str:
    """The rows as an aligned text table ``metric | course | ngrad | check`` with footnotes."""
    notes, lines = [], []
    body = []
    for row in rows:
        metric = row.metric
        if row.note:
            if row.note not in notes:
                notes.append(row.note)
            metric += f" [{notes.index(row.note) + 1}]"
        body.append((metric, _course_cell(row), format_like(row.ngrad, row.course_text), _check_cell(row)))
    header = ("metric", "course", "ngrad", "check")
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]
    if title:
        lines.append(title)
    lines.append(_line(header, widths))
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(_line(r, widths) for r in body)
    lines.extend(f"[{i + 1}] {note}" for i, note in enumerate(notes))
    return "\n".join(lines)


def write_results(path, experiment_id: str, rows) -> Path:
    """Write ``{"experiment": id, "rows": [{"metric", "course", "ngrad"}, ...]}`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"experiment": experiment_id, "rows": [row.to_json() for row in rows]}
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    return path


def format_like(value: float, course_text: str = "") -> str:
    """``value`` with as many digits as the course printed (6 significant digits otherwise).

    >>> format_like(0.5845084123, "0.584508")
    '0.584508'
    >>> format_like(1.25e-07, "1.189e-07")
    '1.250e-07'
    """
    text = course_text.strip().lower()
    if not text or not _is_number(text) or not math.isfinite(float(text)):
        return f"{value:.6g}"
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.partition(".")[2])
    if exponent:
        return f"{value:.{decimals}e}"
    return f"{value:.{decimals}f}"


def _course_cell(row: Row) -> str:
    if row.course_text:
        return row.course_text
    return "-" if row.course is None else _short(row.course)


def _check_cell(row: Row) -> str:
    status = row.status
    if row.kind == "range" and status:
        return f"{status} (+/-{row.tol:g})"
    return status or "-"


def _line(cells, widths) -> str:
    return " | ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()


def _short(x: float) -> str:
    return repr(float(x)) if float(x) != int(x) else f"{float(x):g}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _finite(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"results.json: ngrad values must be finite numbers, got {x}")
    return x
