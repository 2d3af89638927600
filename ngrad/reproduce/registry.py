"""The registry of experiments: one module per experiment, each exposing ``EXPERIMENT``."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

#: the experiment modules, in the course's order
MODULES = (
    "c1w2_logreg",
    "c1w3_planar",
    "c1w4_deep",
    "c2w1_init",
    "c2w1_regularization",
    "c2w1_gradcheck",
    "c2w2_optimizers",
    "c2w3_signs",
    "c4w1_conv_step",
    "c4w1_signs_cnn",
    "c4w2_resnet",
    "c4w2_transfer",
    "c4_digits_cnn",
)


@dataclass(frozen=True)
class Experiment:
    """One reproducible experiment of the course.

    Attributes
    ----------
    id : str
        The command-line name, e.g. ``"c1w2-logreg"``.
    title : str
        One line saying what it reproduces.
    needs_data : bool
        True when it reads one of the course's data files (``--data-dir``).
    run : callable
        ``run(ctx) -> Result`` (see :class:`ngrad.reproduce.runner.Context`).
    epochs : int or None
        The course's number of epochs (full-batch iterations for full-batch
        gradient descent), which ``--epochs`` overrides; ``None`` where
        training length does not apply.
    source : str
        Which notebook version the course numbers come from.
    """

    id: str
    title: str
    needs_data: bool
    run: Callable
    epochs: int | None = None
    source: str = ""


class UnknownExperiment(KeyError):
    """An experiment id that is not in the registry; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown experiment"


def experiments() -> dict:
    """``{id: Experiment}`` for every registered experiment, in the course's order."""
    found = {}
    for name in MODULES:
        exp = importlib.import_module(f"ngrad.reproduce.{name}").EXPERIMENT
        found[exp.id] = exp
    return found


def ids() -> list:
    """The experiment ids, in the course's order."""
    return list(experiments())


def get(experiment_id: str) -> Experiment:
    """The experiment called ``experiment_id``; :class:`UnknownExperiment` naming the others if none."""
    found = experiments()
    if experiment_id not in found:
        raise UnknownExperiment(
            f"unknown experiment {experiment_id!r}; choose one of: {', '.join(found)}"
        )
    return found[experiment_id]


def embedded() -> list:
    """The experiments that need no course file (generated data only)."""
    return [exp for exp in experiments().values() if not exp.needs_data]
