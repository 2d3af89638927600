"""GEMM: ``C = A @ B`` on square float32 matrices, forward only.

The NumPy side is NumPy's BLAS (OpenBLAS in the wheels): the machine's
measured BLAS rate, against which ngrad's matmul (the same BLAS call behind one
op) and PyTorch's ``torch.mm`` (MKL / oneDNN) are read. Figures are GFLOP/s:
``2 n^3`` over the median time.
"""
from __future__ import annotations

import numpy as np

NAME = "gemm"
TITLE = "GEMM, square float32 (GFLOP/s)"
DESCRIPTION = __doc__


def _sizes(quick: bool):
    return (128, 256) if quick else (256, 1024, 2048)


def cases(quick: bool):
    return [
        {"id": f"n{n}", "label": f"n = {n}", "unit": "gflops", "flops": 2.0 * n**3} for n in _sizes(quick)
    ]


def _pair(n):
    rng = np.random.default_rng(n)
    return rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal((n, n)).astype(np.float32)


def build(framework: str, quick: bool):
    steps = {}
    for n in _sizes(quick):
        a, b = _pair(n)
        if framework == "numpy":
            steps[f"n{n}"] = lambda a=a, b=b: a @ b
        elif framework == "ngrad":
            import ngrad

            ta, tb = ngrad.tensor(a), ngrad.tensor(b)
            steps[f"n{n}"] = lambda ta=ta, tb=tb: ta @ tb
        else:
            import torch

            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            steps[f"n{n}"] = lambda ta=ta, tb=tb: torch.mm(ta, tb)
    return steps
