"""Random search over a space, trials run through any ``concurrent.futures.Executor``.

The course's "caviar" strategy: train many models in parallel and keep the
best. Every trial's hyperparameters are drawn up front from one seeded
generator, so a search gives the same trials on a local process pool, a thread
pool, in-process, or on a Dask cluster (``distributed.Client(...).get_executor()``).
A trial that raises is recorded as failed, with its traceback; the search goes on.
On the default process pool, a worker that dies outright (a crash in native
code, the out-of-memory killer) fails only the trial it was running.

>>> from ngrad.tune import loguniform, random_search
>>> def objective(params):                      # a "dev error" smallest at lr = 0.01
...     return abs(math.log10(params["lr"]) + 2)
>>> result = random_search(objective, {"lr": loguniform(1e-4, 1)}, n_trials=20,
...                        executor="serial", maximize=False)
>>> 0.003 < result.best.params["lr"] < 0.03
True
"""
from __future__ import annotations

import concurrent.futures as cf
import csv
import math
import os
import pickle
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ngrad.tune.space import sample, zoom

__all__ = ["SearchResult", "Trial", "coarse_to_fine", "random_search"]

EXECUTORS = ("processes", "threads", "serial")


@dataclass
class Trial:
    """One trained-and-evaluated configuration.

    Attributes
    ----------
    number : int
        Its position in the search (0-based).
    params : dict
        The sampled hyperparameters.
    score : float or None
        The optimized metric (``None`` when the trial failed).
    metrics : dict
        Everything else the objective returned.
    status : str
        ``"ok"`` or ``"failed"``.
    error : str or None
        The exception's last line, for failed trials.
    traceback : str or None
        The full traceback, for failed trials.
    duration_s : float
        Wall-clock seconds inside the objective.
    """

    number: int
    params: dict
    score: float | None = None
    metrics: dict = field(default_factory=dict)
    status: str = "ok"
    error: str | None = None
    traceback: str | None = None
    duration_s: float = 0.0

    def row(self) -> dict:
        """A flat dict: trial, status, score, the parameters, the other metrics, duration, error."""
        return {
            "trial": self.number,
            "status": self.status,
            "score": self.score,
            **self.params,
            **self.metrics,
            "duration_s": round(self.duration_s, 4),
            "error": self.error or "",
        }


def run_trial(objective, number, params, metric=None):
    """Run ``objective(params)`` and return a :class:`Trial`; never raises an ``Exception``.

    Runs inside the executor's worker, so a crash is caught where it happens.
    """
    start = time.perf_counter()
    try:
        score, metrics = _score(objective(dict(params)), metric)
    except Exception as e:  # noqa: BLE001 - every crash becomes a failed trial
        return Trial(number, params, status="failed", error=_last_line(e), traceback=traceback.format_exc(),
                     duration_s=time.perf_counter() - start)
    return Trial(number, params, score=score, metrics=metrics, duration_s=time.perf_counter() - start)


def _score(out, metric):
    """(score, other metrics) from what the objective returned."""
    if hasattr(out, "items"):
        key = metric or "score"
        if key not in out:
            raise KeyError(f"the objective returned {sorted(out)} without {key!r}; pass metric= to name the score")
        metrics = {k: _plain(v) for k, v in out.items() if k != key}
        out = out[key]
    else:
        metrics = {}
    score = float(out)
    if not math.isfinite(score):
        raise FloatingPointError(f"the objective returned a non-finite score ({score}); the run diverged")
    return score, metrics


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _last_line(e):
    return f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__


# ------------------------------------------------------------------ result
@dataclass
class SearchResult:
    """Every trial of a search, best first on demand; a table (rows, CSV) and a plot."""

    trials: list
    space: dict
    maximize: bool = True
    metric: str = "score"
    seed: int = 0

    @property
    def ok(self) -> list:
        return [t for t in self.trials if t.status == "ok"]

    @property
    def failed(self) -> list:
        return [t for t in self.trials if t.status != "ok"]

    @property
    def best(self):
        """The best successful trial, or ``None`` if every trial failed."""
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def ranked(self) -> list:
        """Successful trials, best first (ties keep trial order)."""
        return sorted(self.ok, key=lambda t: -t.score if self.maximize else t.score)

    def rows(self) -> list:
        """The results table: one flat dict per trial, in trial order."""
        return [t.row() for t in self.trials]

    def to_csv(self, path) -> Path:
        """Write :meth:`rows` as CSV (columns: trial, status, score, parameters, metrics, duration_s, error)."""
        rows = self.rows()
        columns = list(dict.fromkeys(k for r in rows for k in r))
        columns = [c for c in columns if c not in ("duration_s", "error")] + ["duration_s", "error"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
        return path

    def plot(self, path) -> Path:
        """Save a PNG of the score against each hyperparameter (see :func:`ngrad.tune.plot.plot_search`)."""
        from ngrad.tune.plot import plot_search

        return plot_search(self, path)

    def save(self, output_dir, plot=True) -> dict:
        """Write ``results.csv``, ``failures.txt`` (tracebacks, if any) and ``results.png`` to ``output_dir``."""
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {"csv": self.to_csv(out / "results.csv")}
        if self.failed:
            text = "\n".join(f"--- trial {t.number} {t.params}\n{t.traceback}" for t in self.failed)
            (out / "failures.txt").write_text(text, encoding="utf-8")
            files["failures"] = out / "failures.txt"
        if plot:
            files["plot"] = self.plot(out / "results.png")
        return files

    def __str__(self):
        direction = "max" if self.maximize else "min"
        head = f"{len(self.trials)} trials, {len(self.failed)} failed; {direction}imizing {self.metric}"
        lines = [head]
        for t in self.ranked()[:10]:
            params = ", ".join(f"{k}={_short(v)}" for k, v in t.params.items())
            lines.append(f"  #{t.number:<4} {self.metric} {t.score:.6g}   {params}")
        for t in self.failed[:5]:
            lines.append(f"  #{t.number:<4} failed: {t.error}")
        return "\n".join(lines)


def _short(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# ------------------------------------------------------------------ search
def random_search(
    objective,
    space,
    n_trials=20,
    executor=None,
    seed=0,
    maximize=True,
    metric=None,
    max_workers=2,
    output_dir=None,
    verbose=False,
):
    """Random search: ``n_trials`` points of ``space``, each scored by ``objective``.

    Parameters
    ----------
    objective : callable
        ``objective(params) -> float`` or a dict of metrics (``metric`` names the
        score, default ``"score"``). With process pools it must be importable (a
        module-level function); Dask pickles closures too.
    space : dict
        ``{name: distribution or constant}`` (see :mod:`ngrad.tune.space`).
    n_trials : int
    executor : concurrent.futures.Executor or str, optional
        Where trials run: any ``Executor`` (a Dask cluster's
        ``client.get_executor()`` included), or ``"processes"`` (default: a local
        ``ProcessPoolExecutor`` with ``max_workers``), ``"threads"`` or ``"serial"``.
        An executor passed in is left open.
    seed : int
        Seeds the sampling of every trial's hyperparameters.
    maximize : bool
        Maximize the score (accuracy, F1) or minimize it (``False``: errors, losses).
    metric : str, optional
        The score's key when the objective returns a dict; also its name in reports.
    max_workers : int
        Workers of the default process pool (2).
    output_dir : str or Path, optional
        Write ``results.csv``, ``results.png`` and ``failures.txt`` there.
    verbose : bool
        Print a line per finished trial.

    Returns
    -------
    SearchResult
    """
    if int(n_trials) != n_trials or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    rng = np.random.default_rng(seed)
    points = [sample(space, rng) for _ in range(int(n_trials))]
    trials = _run_all(objective, points, executor, metric, max_workers, verbose, maximize)
    result = SearchResult(trials=trials, space=dict(space), maximize=bool(maximize), metric=metric or "score", seed=seed)
    if output_dir is not None:
        result.save(output_dir)
    return result


def coarse_to_fine(objective, space, rounds=2, n_trials=20, top_k=5, margin=0.25, seed=0, maximize=True, **kwargs):
    """Random search, then :func:`~ngrad.tune.space.zoom` around the best trials, ``rounds`` times.

    Returns the list of :class:`SearchResult`, one per round (each round's space
    in its ``space``). Keyword arguments go to :func:`random_search`; an
    ``output_dir`` gets one ``round<i>`` folder per round.
    """
    output_dir = kwargs.pop("output_dir", None)
    results = []
    for r in range(int(rounds)):
        out = None if output_dir is None else Path(output_dir) / f"round{r}"
        res = random_search(objective, space, n_trials, seed=seed + r, maximize=maximize, output_dir=out, **kwargs)
        results.append(res)
        if r + 1 < rounds:
            space = zoom(space, res, top_k=top_k, margin=margin, maximize=maximize)
    return results


def _run_all(objective, points, executor, metric, max_workers, verbose, maximize):
    n = len(points)
    if executor == "serial":
        return [_report(run_trial(objective, i, p, metric), verbose, n) for i, p in enumerate(points)]
    if executor is None or isinstance(executor, str):
        trials = _run_own_pool(objective, points, executor, metric, max_workers, verbose)
    else:  # the caller's executor, left open
        done = _run_on(executor, objective, points, range(n), metric)
        trials = {i: _report(t, verbose, n) for i, (t, _) in done.items()}
    return [trials[i] for i in range(n)]


def _run_on(pool, objective, points, numbers, metric):
    """``{number: (Trial, pool_broke)}`` for the trials ``numbers`` run on ``pool``."""
    futures = {pool.submit(run_trial, objective, i, points[i], metric): i for i in numbers}
    return {futures[f]: _collect(f, futures[f], points[futures[f]]) for f in cf.as_completed(futures)}


def _run_own_pool(objective, points, kind, metric, max_workers, verbose):
    """Run every trial on pools of our own; survive workers that die.

    A worker killed mid-trial (a crash in native code, ``os._exit``, the
    out-of-memory killer) breaks the whole pool and every trial still pending
    on it. Those trials run again on a fresh pool; when a round makes no
    progress, each remaining trial runs alone so that only the culprit fails.
    """
    n, pending, isolate, trials = len(points), list(range(len(points))), False, {}
    while pending:
        groups = [[i] for i in pending] if isolate else [pending]
        broken = []
        for group in groups:
            pool = _make_executor(kind, objective, 1 if isolate else max_workers)
            try:
                done = _run_on(pool, objective, points, group, metric)
            finally:
                pool.shutdown(wait=True)
            for i, (trial, broke) in done.items():
                if broke and not isolate:
                    broken.append(i)
                else:
                    trials[i] = _report(_explain(trial) if broke else trial, verbose, n)
        isolate = isolate or len(broken) == len(pending)
        pending = sorted(broken)
    return trials


def _collect(fut, number, params):
    """(the future's Trial, False), or (a failed Trial, whether the process pool broke)."""
    try:
        return fut.result(), False
    except BaseException as e:  # noqa: BLE001 - a dead worker must not stop the search
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        trial = Trial(number, params, status="failed", error=_last_line(e), traceback=tb)
        return trial, isinstance(e, cf.process.BrokenProcessPool)


def _explain(trial):
    trial.error = "the worker process died while running this trial (a crash, os._exit or out of memory)"
    return trial


def _report(trial, verbose, total):
    if verbose:
        state = f"score {trial.score:.6g}" if trial.status == "ok" else f"FAILED {trial.error}"
        print(f"trial {trial.number + 1}/{total}: {state}  {trial.params}", file=sys.stderr, flush=True)
    return trial


def _make_executor(kind, objective, max_workers):
    kind = kind or "processes"
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be an Executor or one of {EXECUTORS}, got {kind!r}")
    workers = max(1, min(int(max_workers), os.cpu_count() or 1))
    if kind == "threads":
        return cf.ThreadPoolExecutor(max_workers=workers)
    _check_picklable(objective)
    return cf.ProcessPoolExecutor(max_workers=workers)


def _check_picklable(objective):
    try:
        pickle.dumps(objective)
    except Exception as e:  # noqa: BLE001
        raise TypeError(
            f"the objective {getattr(objective, '__qualname__', objective)!r} cannot be sent to worker "
            "processes (define it at module level), or use executor='threads', 'serial' or a Dask "
            f"executor: {e}"
        ) from e
