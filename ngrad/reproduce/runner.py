"""Running an experiment: its context, its table and its ``results.json``."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ngrad.reproduce.registry import Experiment
from ngrad.reproduce.report import Result, format_table, write_results


@dataclass
class Context:
    """What an experiment's ``run(ctx)`` gets.

    Attributes
    ----------
    experiment : Experiment
    out : Path
        Where plots and ``results.json`` go (created on demand).
    data_dir : str or None
        The course's data directory (``None``: the ``NGRAD_DATA`` variable).
    quick : bool
        A short run (seconds) for tests: fewer iterations, only the course
        numbers reached that early are compared.
    epochs : int or None
        ``--epochs``: replaces the course's training length where it applies.
    plots : bool
        Save PNG plots (needs matplotlib).
    stream : file
        Where progress goes.
    """

    experiment: Experiment
    out: Path
    data_dir: str | None = None
    quick: bool = False
    epochs: int | None = None
    plots: bool = True
    stream: object = field(default_factory=lambda: sys.stdout)

    def log(self, message: str) -> None:
        """Print one progress line (flushed, so long runs show where they are)."""
        print(message, file=self.stream, flush=True)

    def length(self, course: int, quick: int) -> int:
        """How long to train: ``--epochs`` if given, else ``quick`` in quick mode, else the course's."""
        if self.epochs is not None:
            return int(self.epochs)
        return quick if self.quick else course

    def grid_step(self, step: float) -> float:
        """The decision-boundary grid spacing: ``step``, five times coarser in quick mode."""
        return step * 5 if self.quick else step

    def plot_path(self, name: str) -> Path:
        """``out/<name>.png``, its folder created."""
        self.out.mkdir(parents=True, exist_ok=True)
        return self.out / f"{name}.png"


def run_experiment(exp: Experiment, out=None, data_dir=None, quick: bool = False, epochs=None,
                   plots: bool = True, stream=None) -> Result:
    """Run ``exp``, print its table, write ``out/results.json`` and return the :class:`Result`.

    Parameters
    ----------
    exp : Experiment
    out : path, optional
        Output folder; default ``runs/<id>``.
    data_dir : path, optional
        The course's data directory (searched with its subfolders).
    quick : bool
        The short version used by the tests.
    epochs : int, optional
        Training length instead of the course's (experiments with ``epochs``).
    """
    if epochs is not None and exp.epochs is None:
        raise ValueError(f"--epochs does not apply to {exp.id}: it trains nothing")
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs must be a positive integer, got {epochs}")
    stream = stream or sys.stdout
    ctx = Context(exp, Path(out or Path("runs") / exp.id), None if data_dir is None else str(data_dir),
                  quick, epochs, plots, stream)
    mode = " (quick)" if quick else ""
    ctx.log(f"== {exp.id}{mode}: {exp.title}")
    start = time.perf_counter()
    result = exp.run(ctx)
    seconds = time.perf_counter() - start
    path = write_results(ctx.out / "results.json", exp.id, result.rows)
    ctx.log("")
    ctx.log(format_table(result.rows, title=f"{exp.id}: course ({exp.source}) vs ngrad"))
    for note in result.notes:
        ctx.log(f"note: {note}")
    counts = result.counts
    ctx.log(f"{counts['match']} match, {counts['differs']} differ, {counts['info']} without a course number; "
            f"{seconds:.1f}s")
    for plot in result.plots:
        ctx.log(f"plot: {plot}")
    ctx.log(f"results: {path}")
    return result
