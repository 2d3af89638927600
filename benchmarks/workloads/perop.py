"""Per-op overhead: a chain of 1,000 small ops on 8x8 float32 arrays.

``y = x; for _ in range(1000): y = y <op> w`` with ``<op>`` one of ``+``, ``*``
and ``@`` (``w`` near 1 for ``*``, orthogonal for ``@``, so the values stay
finite). Forward only (``w`` does not require grad), and forward + backward
(``w`` requires grad; ``y.sum().backward()``; the NumPy side is the hand-written
backward of the same chain: the gradient of ``w`` accumulated op by op). The
figure is time per op: the whole chain (and its backward) over 1,000.
"""
from __future__ import annotations

import numpy as np


NAME = "perop"
TITLE = "Per-op overhead (chain of 1,000 ops on 8x8 float32)"
DESCRIPTION = __doc__
OPS = 1000
_OPS = ("add", "mul", "matmul")


def cases(quick: bool):
    out = []
    for op in _OPS:
        for bwd in (False, True):
            out.append(
                {
                    "id": f"{op}_{'fwdbwd' if bwd else 'fwd'}",
                    "label": f"{op} {'forward+backward' if bwd else 'forward'}",
                    "unit": "us/op",
                    "ops": OPS,
                }
            )
    return out


def _arrays():
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = rng.standard_normal((8, 8)).astype(f32)
    w = {
        "add": (rng.standard_normal((8, 8)) * 1e-3).astype(f32),
        "mul": (1 + rng.standard_normal((8, 8)) * 1e-3).astype(f32),
        "matmul": np.linalg.qr(rng.standard_normal((8, 8)))[0].astype(f32),
    }
    return x, w


def build(framework: str, quick: bool):
    x, w = _arrays()
    make = {"ngrad": _ngrad, "torch": _torch, "numpy": _numpy}[framework]
    steps = {}
    for case in cases(quick):
        op, kind = case["id"].split("_")
        steps[case["id"]] = make(x, w[op], op, kind == "fwdbwd")
    return steps


def _chain(op):
    if op == "add":
        return lambda a, b: a + b
    if op == "mul":
        return lambda a, b: a * b
    return lambda a, b: a @ b


def _ngrad(x, w, op, backward):
    import ngrad

    xt = ngrad.tensor(x)
    wt = ngrad.tensor(w, requires_grad=backward)
    f = _chain(op)

    def step():
        y = xt
        for _ in range(OPS):
            y = f(y, wt)
        if backward:
            y.sum().backward()
            wt.grad = None

    return step


def _torch(x, w, op, backward):
    import torch

    xt = torch.from_numpy(x.copy())
    wt = torch.from_numpy(w.copy()).requires_grad_(backward)
    f = _chain(op)

    def step():
        y = xt
        for _ in range(OPS):
            y = f(y, wt)
        if backward:
            y.sum().backward()
            wt.grad = None

    return step


def _numpy(x, w, op, backward):
    f = _chain(op)
    wT = np.ascontiguousarray(w.T)

    if not backward:

        def step():
            y = x
            for _ in range(OPS):
                y = f(y, w)

        return step

    def step():
        ys = []
        y = x
        for _ in range(OPS):
            ys.append(y)
            y = f(y, w)
        g = np.ones_like(y)
        gw = np.zeros_like(w)
        if op == "add":
            for _ in range(OPS):
                gw += g
        elif op == "mul":
            for yi in reversed(ys):
                gw += g * yi
                g = g * w
        else:
            for yi in reversed(ys):
                gw += yi.T @ g
                g = g @ wT
        return gw

    return step
