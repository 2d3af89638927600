"""The workloads, in report order.

Each module defines:

- ``NAME``, ``TITLE`` and ``DESCRIPTION``;
- ``cases(quick)``: the timed cases, each a dict with ``id``, ``label``,
  ``unit`` (``"us/op"``, ``"gflops"``, ``"ms/step"`` or ``"us/call"``) and what
  the unit needs (``ops`` per call, ``flops`` per call, ``items`` per call and
  ``item`` naming them for throughput);
- ``build(framework, quick)``: ``{case id: step callable}`` for ``"ngrad"``,
  ``"torch"`` or ``"numpy"``; raises :class:`benchmarks.harness.Pending` when a
  side does not exist yet;
- optionally ``check(framework, steps)``: the loss after each of ``steps``
  training steps from the shared initial weights (``--check``).

Every side builds its weights and data from the same NumPy seed, in float32.
"""
from __future__ import annotations

import importlib

NAMES = ("perop", "gemm", "mlp", "signs", "lenet", "resnet", "lstm", "transformer")


def load(name: str):
    if name not in NAMES:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(NAMES)}")
    return importlib.import_module(f"benchmarks.workloads.{name}")
