"""CSV files as tables of text cells, with errors that name the column, value and line.

>>> import io
>>> table = read_csv(io.StringIO("x,y\\n1,a\\n2,b\\n"), name="tiny.csv")
>>> table.columns, table.numeric("x").tolist(), infer_task(table.column("y"))
(['x', 'y'], [1.0, 2.0], 'classification')
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["MISSING", "Table", "TabularError", "encode_labels", "infer_task", "read_csv"]

MAX_CLASSES = 20  # integer targets with more distinct values are taken as regression
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "?"})
TASKS = ("classification", "regression")

class TabularError(ValueError):
    """Bad tabular input (a CSV or a model directory); the message says what and where."""


# ===================================================================== CSV
@dataclass
class Table:
    """A CSV file's cells as text.

    Attributes
    ----------
    name : str
        The file, for messages.
    columns : list of str
        The header.
    rows : list of list of str
        The data rows, cells stripped of surrounding spaces.
    lines : list of int
        The file line each row starts on (the header is line 1).
    """

    name: str
    columns: list
    rows: list
    lines: list

    def __len__(self) -> int:
        return len(self.rows)

    def index(self, column: str) -> int:
        """Position of ``column``; a :class:`TabularError` naming the columns present if absent."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise TabularError(
                f"{self.name}: no column {column!r}; the columns are {_names(self.columns)}") from None

    def column(self, column: str) -> list:
        """The cells of ``column`` as text, shape (m,)."""
        i = self.index(column)
        return [row[i] for row in self.rows]

    def numeric(self, column: str, what: str = "feature") -> np.ndarray:
        """``column`` as float64 (m,); errors name the first non-numeric or missing cell."""
        i = self.index(column)
        cells = [row[i] for row in self.rows]
        try:
            values = np.asarray(cells, dtype=np.float64)  # fast path; NumPy parses the text
        except ValueError:
            values = None
        if values is not None and np.isfinite(values).all():
            return values
        values = np.empty(len(self.rows))
        for r, row in enumerate(self.rows):  # slow path: find and name the first bad cell
            values[r] = self._number(row[i], column, self.lines[r], what)
        return values

    def matrix(self, columns, what: str = "feature") -> np.ndarray:
        """The named columns as a float64 matrix, shape (m, len(columns))."""
        X = np.empty((len(self.rows), len(columns)))  # (m, n)
        for j, column in enumerate(columns):
            X[:, j] = self.numeric(column, what)
        return X

    def _number(self, text: str, column: str, line: int, what: str) -> float:
        if text.lower() in MISSING:
            shown = repr(text) if text else "an empty cell"
            raise TabularError(
                f"{self.name}: missing value (NaN) in {what} column {column!r} at line {line} "
                f"({shown}); fill or drop the rows with missing values")
        try:
            value = float(text)
        except ValueError:
            raise TabularError(
                f"{self.name}: {what} column {column!r} is not numeric: line {line} has {text!r}"
                + _NUMERIC_HINT.get(what, "")) from None
        if not math.isfinite(value):
            raise TabularError(f"{self.name}: {what} column {column!r} has {text!r} at line {line}; "
                               f"values must be finite")
        return value


_NUMERIC_HINT = {
    "feature": " (ngrad train takes numeric features only: encode categories as numbers, "
               "e.g. one 0/1 column per category, or drop the column)",
    "target": " (a text target needs --task classification)",
}


def read_csv(source, name: str | None = None) -> Table:
    """Read a CSV with a header row into a :class:`Table`.

    Parameters
    ----------
    source : str, os.PathLike or text file
        The CSV file (UTF-8, comma-separated).
    name : str, optional
        The name used in messages (default: the path).

    Raises
    ------
    TabularError
        Missing or unreadable file, empty file, a header without data rows,
        duplicate or empty column names, rows of the wrong length.
    """
    if hasattr(source, "read"):
        return _parse(source, name or getattr(source, "name", "<csv>"))
    name = name or os.fspath(source)
    try:
        with open(source, newline="", encoding="utf-8-sig") as f:
            return _parse(f, name)
    except FileNotFoundError:
        raise TabularError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise TabularError(f"{name}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as e:
        raise TabularError(f"{name}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _parse(f, name: str) -> Table:
    reader = csv.reader(f)
    header = _header(reader, name)
    rows, lines = [], []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise TabularError(f"{name}: line {reader.line_num}: {e}") from None
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != len(header):
            raise TabularError(
                f"{name}: line {start} has {len(row)} fields but the header has {len(header)}")
        rows.append([cell.strip() for cell in row])
        lines.append(start)
    if not rows:
        raise TabularError(f"{name}: the header has no data rows below it")
    return Table(name, header, rows, lines)


def _header(reader, name: str) -> list:
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # leading blank lines
    except csv.Error as e:
        raise TabularError(f"{name}: line {reader.line_num}: {e}") from None
    if header is None:
        raise TabularError(f"{name}: the file is empty (expected a header row, then data rows)")
    header = [cell.strip() for cell in header]
    _check_header(header, name)
    return header


def _check_header(header: list, name: str) -> None:
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        raise TabularError(f"{name}: the header {header[0]!r} is one column; ngrad reads comma-separated files")
    unnamed = [i + 1 for i, c in enumerate(header) if not c]
    if unnamed:
        raise TabularError(f"{name}: header column {unnamed[0]} has no name (every column needs one)")
    seen = set()
    for column in header:
        if column in seen:
            raise TabularError(f"{name}: the header names column {column!r} twice")
        seen.add(column)


def _names(columns, limit: int = 20) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


# ===================================================================== targets
def infer_task(values) -> str:
    """``"classification"`` or ``"regression"`` from a target column's text.

    Text labels, and integers with at most ``MAX_CLASSES`` distinct values,
    mean classification; other numbers (floats, many-valued integers) mean
    regression.
    """
    distinct = set(values)
    if not all(_is_int(v) for v in distinct):
        return "regression" if all(_is_float(v) for v in distinct) else "classification"
    return "classification" if len(distinct) <= MAX_CLASSES else "regression"


def encode_labels(values):
    """Class labels as they appear in the CSV and each row's class index.

    Integer labels are ordered by value, others alphabetically.

    Returns
    -------
    classes : list of str, length C
    y : ndarray, int64, shape (m,)
    """
    distinct = set(values)
    numeric = all(_is_int(v) for v in distinct)
    classes = sorted(distinct, key=(lambda v: (int(v), v)) if numeric else None)
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[v] for v in values], dtype=np.int64)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
