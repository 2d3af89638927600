"""LeNet-5 (ReLU and max-pool variant): 32x32x1 images, 10 classes, batch 128.

Conv 6@5x5, ReLU, MaxPool 2, Conv 16@5x5, ReLU, MaxPool 2, Dense 120, ReLU,
Dense 84, ReLU, Dense 10; one training step with Adam (lr 1e-3).
"""
from __future__ import annotations

from benchmarks.workloads import _cnn

NAME = "lenet"
TITLE = "LeNet-5 32x32x1 (conv 6@5x5, pool 2, conv 16@5x5, pool 2, 120-84-10)"
DESCRIPTION = __doc__
SPEC = [("conv", 1, 6, 5, 1, 0, True), ("relu",), ("maxpool", 2),
        ("conv", 6, 16, 5, 1, 0, True), ("relu",), ("maxpool", 2), ("flatten",),
        ("dense", 400, 120), ("relu",), ("dense", 120, 84), ("relu",), ("dense", 84, 10)]


def _batch(quick):
    return 8 if quick else 128


def cases(quick: bool):
    b = _batch(quick)
    return [{"id": "train", "label": f"train step, batch {b}", "unit": "ms/step", "items": b, "item": "images"}]


def build(framework: str, quick: bool):
    return {"train": _cnn.sides(SPEC, (_batch(quick), 32, 32, 1), 10, seed=12)[framework]()}


def check(framework: str, steps: int):
    step = _cnn.sides(SPEC, (32, 32, 32, 1), 10, seed=12)[framework]()
    return [float(step()) for _ in range(steps)]
