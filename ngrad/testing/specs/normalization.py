"""Specs of the normalization ops: batch norm (training, inference, without affine) and layer norm."""
from __future__ import annotations

from ngrad.ops.normalization import batch_norm, layer_norm
from ngrad.testing.registry import OpSpec


def _bn_input(rng, shape):
    """(N, C) or (N, C, L) with N >= 2 so every channel has a spread."""
    full = (shape[0] + 1, 3) if len(shape) == 1 else (shape[0] + 1, *shape[1:])
    return rng.standard_normal(full)


def _bn_affine(rng, shape):
    x = _bn_input(rng, shape)
    c = x.shape[1]
    return (x, rng.standard_normal(c), rng.standard_normal(c)), {}


def _bn_plain(rng, shape):
    return (_bn_input(rng, shape),), {}


def _bn_running(rng, shape):
    (x, w, b), _ = _bn_affine(rng, shape)
    c = x.shape[1]
    return (x, w, b), {"running_mean": rng.standard_normal(c), "running_var": rng.uniform(0.5, 2.0, c)}


def _ln(rng, shape):
    # at least 3 normalized features: over one, x - mean is exactly 0 and the input gradient
    # exactly 0, which float32 PyTorch returns as rounding noise (~1e-4); over two, the normalized
    # values are always +-1 and the input gradient is of the order of eps / var, a difference of
    # large terms that float32 rounds differently on each side (2 % apart at var 0.007)
    shape = (*shape[:-1], max(shape[-1], 3))
    x = rng.standard_normal(shape)
    return (x, rng.standard_normal(shape[-1:]), rng.standard_normal(shape[-1:])), {}


def _ln_2axes(rng, shape):
    x = rng.standard_normal((2, *shape, 3))
    norm = x.shape[-2:]
    return (x, rng.standard_normal(norm), rng.standard_normal(norm)), {}


def _torch_stats(torch, x, running_mean, running_var):
    return (torch.as_tensor(running_mean, dtype=x.dtype), torch.as_tensor(running_var, dtype=x.dtype))


SPECS = [
    OpSpec(
        "batch_norm[train]",
        lambda x, w, b: batch_norm(x, weight=w, bias=b, training=True),
        _bn_affine,
        lambda torch, x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "batch_norm[train,no-affine]",
        lambda x: batch_norm(x, training=True),
        _bn_plain,
        lambda torch, x: torch.nn.functional.batch_norm(x, None, None, training=True),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "batch_norm[eval]",
        lambda x, w, b, running_mean, running_var: batch_norm(x, running_mean, running_var, w, b),
        _bn_running,
        lambda torch, x, w, b, running_mean, running_var: torch.nn.functional.batch_norm(
            x, *_torch_stats(torch, x, running_mean, running_var), w, b, training=False),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "layer_norm",
        lambda x, w, b: layer_norm(x, x.shape[-1:], w, b),
        _ln,
        lambda torch, x, w, b: torch.nn.functional.layer_norm(x, x.shape[-1:], w, b),
        rtol=1e-4, atol=1e-5,
    ),
    OpSpec(
        "layer_norm[2-axes]",
        lambda x, w, b: layer_norm(x, x.shape[-2:], w, b),
        _ln_2axes,
        lambda torch, x, w, b: torch.nn.functional.layer_norm(x, x.shape[-2:], w, b),
        rtol=1e-4, atol=1e-5,
    ),
]
