"""Specs of the fused image batch norm: training, with a fused ReLU, inference, without affine, channels-last.

Tiny batches (n 2-3, 2-3 channels, 2-4 pixels a side) drawn around the base
shape; PyTorch's ``F.batch_norm`` on NCHW is the oracle (NHWC goes through a
permute on the PyTorch side).
"""
from __future__ import annotations

from ngrad.ops.batchnorm2d import batch_norm2d
from ngrad.testing.registry import OpSpec


def _image(rng, shape):
    """(N, C, H, W) with N >= 2 so every channel has a spread."""
    n = 2 + shape[0] % 2
    c = 2 + len(shape) % 2
    h, w = 2 + shape[-1] % 3, 2 + int(rng.integers(0, 3))
    return rng.standard_normal((n, c, h, w)) * 2.0 + 0.5


def _affine(rng, shape):
    x = _image(rng, shape)
    c = x.shape[1]
    return (x, rng.standard_normal(c), rng.standard_normal(c)), {}


def _plain(rng, shape):
    return (_image(rng, shape),), {}


def _running(rng, shape):
    (x, w, b), _ = _affine(rng, shape)
    c = x.shape[1]
    return (x, w, b), {"running_mean": rng.standard_normal(c), "running_var": rng.uniform(0.5, 2.0, c)}


def _nhwc(rng, shape):
    (x, w, b), _ = _affine(rng, shape)
    return (x.transpose(0, 2, 3, 1).copy(), w, b), {}


def _torch_stats(torch, x, running_mean, running_var):
    return torch.as_tensor(running_mean, dtype=x.dtype), torch.as_tensor(running_var, dtype=x.dtype)


def _torch_nhwc(torch, x, w, b):
    y = torch.nn.functional.batch_norm(x.permute(0, 3, 1, 2), None, None, w, b, training=True)
    return y.permute(0, 2, 3, 1)


SPECS = [
    OpSpec(
        "batch_norm2d[train]",
        lambda x, w, b: batch_norm2d(x, weight=w, bias=b, training=True),
        _affine,
        lambda torch, x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "batch_norm2d[train,no-affine]",
        lambda x: batch_norm2d(x, training=True),
        _plain,
        lambda torch, x: torch.nn.functional.batch_norm(x, None, None, training=True),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "batch_norm2d[train,relu]",
        lambda x, w, b: batch_norm2d(x, weight=w, bias=b, training=True, activation="relu"),
        _affine,
        lambda torch, x, w, b: torch.relu(torch.nn.functional.batch_norm(x, None, None, w, b, training=True)),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "batch_norm2d[eval]",
        lambda x, w, b, running_mean, running_var: batch_norm2d(x, running_mean, running_var, w, b),
        _running,
        lambda torch, x, w, b, running_mean, running_var: torch.nn.functional.batch_norm(
            x, *_torch_stats(torch, x, running_mean, running_var), w, b, training=False),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "batch_norm2d[train,channels_last]",
        lambda x, w, b: batch_norm2d(x, weight=w, bias=b, training=True, data_format="channels_last"),
        _nhwc,
        _torch_nhwc,
        rtol=1e-4, atol=1e-5,
    ),
]
