"""ngrad side by side with PyTorch and a hand-written NumPy reference.

Run ``python -m benchmarks`` from the repository root (``--help`` for the
options). Every workload runs in ngrad, in PyTorch (CPU, when ``torch`` is
installed) and in a hand-written vectorized NumPy reference — the ceiling a
NumPy library can reach — each framework in its own subprocess, in alternating
rounds (A B C, B C A, C A B, ...), after warm-up. Ratios are paired: taken
inside each round, then summarised over the rounds.

Layout:

- ``runner.py``: the command line, the rounds, the statistics, the reports.
- ``child.py``: one framework's process: builds the workloads, warms up, times.
- ``harness.py``: timing and memory helpers shared by the child processes.
- ``machine.py``: the machine description written with every result.
- ``workloads/``: one module per workload, each with its ngrad, PyTorch and
  NumPy-reference sides built from the same NumPy-seeded weights and data.
"""
