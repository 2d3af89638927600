"""Hyperparameter search (Course 2, week 3) and babysitting one model.

- Spaces: :func:`loguniform`, :func:`one_minus_loguniform`, :func:`uniform`,
  :func:`randint`, :func:`choice`; coarse to fine with :func:`zoom`.
- "Caviar": :func:`random_search` trains many models in parallel through any
  ``concurrent.futures.Executor`` (local processes by default, a Dask cluster's
  ``client.get_executor()`` unchanged); :func:`coarse_to_fine` repeats it zoomed in.
- "Panda": :func:`babysit` trains one model epoch by epoch with checkpoints
  and learning-rate changes mid-run, recording the curve (:func:`babysit_model`
  for a compiled :class:`ngrad.train.Model`).

>>> from ngrad import tune
>>> space = {"lr": tune.loguniform(1e-4, 1), "beta": tune.one_minus_loguniform(0.9, 0.999),
...          "hidden": tune.randint(16, 257), "activation": tune.choice(["relu", "tanh"])}
"""
from ngrad.tune.panda import Babysitter, babysit, babysit_model
from ngrad.tune.search import SearchResult, Trial, coarse_to_fine, random_search
from ngrad.tune.space import (
    Choice,
    Distribution,
    LogUniform,
    OneMinusLogUniform,
    RandInt,
    Uniform,
    choice,
    loguniform,
    one_minus_loguniform,
    randint,
    sample,
    space_from_config,
    space_to_config,
    uniform,
    zoom,
)

__all__ = [
    "Babysitter",
    "Choice",
    "Distribution",
    "LogUniform",
    "OneMinusLogUniform",
    "RandInt",
    "SearchResult",
    "Trial",
    "Uniform",
    "babysit",
    "babysit_model",
    "choice",
    "coarse_to_fine",
    "loguniform",
    "one_minus_loguniform",
    "randint",
    "random_search",
    "sample",
    "space_from_config",
    "space_to_config",
    "uniform",
    "zoom",
]
