"""Specs of the fused dense-layer op ``linear`` (x @ W.T + b)."""
from __future__ import annotations

from ngrad.ops.linear_fused import linear
from ngrad.testing.registry import OpSpec


def _sample(bias):
    def sample(rng, shape):
        out = int(rng.integers(1, 5))
        x = rng.standard_normal(shape)  # (*, in)
        W = rng.standard_normal((out, shape[-1]))  # (out, in)
        return ((x, W, rng.standard_normal(out)) if bias else (x, W)), {}

    return sample


SPECS = [
    OpSpec("linear", linear, _sample(True),
           lambda torch, x, W, b: torch.nn.functional.linear(x, W, b), rtol=1e-5, atol=1e-5),
    OpSpec("linear[no-bias]", linear, _sample(False),
           lambda torch, x, W: torch.nn.functional.linear(x, W), rtol=1e-5, atol=1e-5),
]
