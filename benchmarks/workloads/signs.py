"""SIGNS ConvNet (Course 4, week 1): 64x64x3 images, 6 classes, batch 64.

Conv 8@4x4 same, ReLU, MaxPool 8, Conv 16@2x2 same, ReLU, MaxPool 4, Dense 6;
one training step: forward, softmax cross-entropy, backward, Adam (lr 1e-3).
"""
from __future__ import annotations

from benchmarks.workloads import _cnn

NAME = "signs"
TITLE = "SIGNS ConvNet 64x64x3 (conv 8@4x4, pool 8, conv 16@2x2, pool 4, dense 6)"
DESCRIPTION = __doc__
SPEC = [("conv", 3, 8, 4, 1, "same", True), ("relu",), ("maxpool", 8),
        ("conv", 8, 16, 2, 1, "same", True), ("relu",), ("maxpool", 4), ("flatten",), ("dense", 64, 6)]


def _batch(quick):
    return 4 if quick else 64


def cases(quick: bool):
    b = _batch(quick)
    return [{"id": "train", "label": f"train step, batch {b}", "unit": "ms/step", "items": b, "item": "images"}]


def _sides(quick):
    return _cnn.sides(SPEC, (_batch(quick), 64, 64, 3), 6, seed=11)


def build(framework: str, quick: bool):
    return {"train": _sides(quick)[framework]()}


def check(framework: str, steps: int):
    step = _cnn.sides(SPEC, (16, 64, 64, 3), 6, seed=11)[framework]()
    return [float(step()) for _ in range(steps)]
