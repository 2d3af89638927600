"""A small ResNet with BatchNorm (CIFAR-style ResNet-14): 32x32x3 images, 10 classes, batch 64.

Conv 16@3x3 + BN + ReLU, then three stages of two basic blocks (16, 32, 64
channels; the first block of stages 2 and 3 has stride 2 and a 1x1 conv + BN
shortcut), global average pool, Dense 10. Convolutions before BatchNorm have
no bias. BatchNorm in training mode (batch statistics, running averages
updated). One training step with Adam (lr 1e-3).
"""
from __future__ import annotations

from benchmarks.workloads import _cnn

NAME = "resnet"
TITLE = "ResNet-14 with BatchNorm, 32x32x3 (16-32-64 channels, 2 blocks per stage)"
DESCRIPTION = __doc__
SPEC = [("conv", 3, 16, 3, 1, 1, False), ("bn", 16), ("relu",),
        ("block", 16, 16, 1), ("block", 16, 16, 1),
        ("block", 16, 32, 2), ("block", 32, 32, 1),
        ("block", 32, 64, 2), ("block", 64, 64, 1),
        ("gap",), ("dense", 64, 10)]


def _batch(quick):
    return 4 if quick else 64


def cases(quick: bool):
    b = _batch(quick)
    return [{"id": "train", "label": f"train step, batch {b}", "unit": "ms/step", "items": b, "item": "images"}]


def build(framework: str, quick: bool):
    return {"train": _cnn.sides(SPEC, (_batch(quick), 32, 32, 3), 10, seed=13)[framework]()}


def check(framework: str, steps: int):
    step = _cnn.sides(SPEC, (16, 32, 32, 3), 10, seed=13)[framework]()
    return [float(step()) for _ in range(steps)]
