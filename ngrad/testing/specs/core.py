"""Specs of the core ops: elementwise, reductions, matmul, shape, indexing,
activations and losses.

Samples are float64 and keep clear of each op's kinks (ties for max/min,
0 for relu/abs, the bounds of clip), so finite differences are meaningful.
"""
from __future__ import annotations

import numpy as np

import ngrad
from ngrad.nn import functional as F
from ngrad.testing.registry import OpSpec


# ----------------------------------------------------------------- helpers
def _normal(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def _nonzero(rng, shape, margin=0.1):
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + margin, x - margin)


def _distinct(rng, shape):
    """Values at least 0.1 apart from each other (no ties for max/min)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.2 + rng.uniform(0, 0.05, n)).reshape(shape) - 0.1 * n


def _partner_shape(rng, shape):
    """A shape that broadcasts against ``shape``: leading axes dropped, some axes set to 1."""
    drop = int(rng.integers(0, len(shape)))
    out = [1 if rng.random() < 0.3 else n for n in shape[drop:]]
    return tuple(out)


def _random_axis(rng, ndim):
    """None, a single axis (maybe negative) or a tuple of axes."""
    r = rng.random()
    if r < 0.25:
        return None
    if r < 0.75 or ndim == 1:
        ax = int(rng.integers(0, ndim))
        return ax - ndim if rng.random() < 0.5 else ax
    k = int(rng.integers(1, ndim + 1))
    return tuple(sorted(rng.choice(ndim, size=k, replace=False).tolist()))


def _axis_kwargs(rng, ndim):
    return {"axis": _random_axis(rng, ndim), "keepdims": bool(rng.random() < 0.5)}


def _torch_dims(axis):
    return axis if axis is not None else None


def _binary(gen_a, gen_b=None):
    gen_b = gen_b or gen_a

    def sample(rng, shape):
        return (gen_a(rng, shape), gen_b(rng, _partner_shape(rng, shape))), {}

    return sample


def _unary(gen):
    def sample(rng, shape):
        return (gen(rng, shape),), {}

    return sample


def _reduction(gen, **extra):
    def sample(rng, shape):
        return (gen(rng, shape),), {**_axis_kwargs(rng, len(shape)), **extra}

    return sample


def _torch_reduce(name):
    def call(torch, x, axis=None, keepdims=False, **kw):
        dims = tuple(range(x.ndim)) if axis is None else axis
        return getattr(torch, name)(x, dim=dims, keepdim=keepdims, **kw)

    return call


# ------------------------------------------------------------ elementwise
def _maxmin_sample(rng, shape):
    a = 2.0 * rng.integers(-3, 3, shape) + rng.uniform(0, 0.3, shape)
    ps = _partner_shape(rng, shape)
    b = 2.0 * rng.integers(-3, 3, ps) + 1 + rng.uniform(0, 0.3, ps)
    return (a, b), {}


def _clip_sample(rng, shape):
    x = rng.uniform(-1, 1, shape)
    for bound in (-0.5, 0.5):
        x = np.where(np.abs(x - bound) < 0.05, x + 0.1, x)
    return (x,), {"min": -0.5, "max": 0.5}


def _where_sample(rng, shape):
    cond = rng.random(shape) < 0.5
    return (cond, _normal(rng, shape), _normal(rng, _partner_shape(rng, shape))), {}


ELEMENTWISE = [
    OpSpec("add", lambda a, b: a + b, _binary(_normal), lambda t, a, b: a + b),
    OpSpec("sub", lambda a, b: a - b, _binary(_normal), lambda t, a, b: a - b),
    OpSpec("mul", lambda a, b: a * b, _binary(_normal), lambda t, a, b: a * b),
    OpSpec("div", lambda a, b: a / b, _binary(_normal, _nonzero), lambda t, a, b: a / b),
    OpSpec("rsub_scalar", lambda a: 2.0 - a, _unary(_normal), lambda t, a: 2.0 - a),
    OpSpec("rdiv_scalar", lambda a: 2.0 / a, _unary(_nonzero), lambda t, a: 2.0 / a),
    OpSpec("neg", lambda a: -a, _unary(_normal), lambda t, a: -a),
    OpSpec("pow_scalar", lambda a: a**2.5, _unary(_positive), lambda t, a: a**2.5),
    OpSpec("pow_tensor", lambda a, b: a**b, _binary(_positive, _normal), lambda t, a, b: a**b),
    OpSpec("exp", ngrad.exp, _unary(_normal), lambda t, a: t.exp(a)),
    OpSpec("log", ngrad.log, _unary(_positive), lambda t, a: t.log(a)),
    OpSpec("sqrt", ngrad.sqrt, _unary(_positive), lambda t, a: t.sqrt(a)),
    OpSpec("abs", ngrad.abs, _unary(_nonzero), lambda t, a: t.abs(a)),
    OpSpec("maximum", ngrad.maximum, _maxmin_sample, lambda t, a, b: t.maximum(a, b)),
    OpSpec("minimum", ngrad.minimum, _maxmin_sample, lambda t, a, b: t.minimum(a, b)),
    OpSpec("clip", lambda x, min, max: ngrad.clip(x, min, max), _clip_sample,
           lambda t, x, min, max: t.clamp(x, min, max)),
    OpSpec("where", ngrad.where, _where_sample, lambda t, c, a, b: t.where(c, a, b)),
]


# -------------------------------------------------------------- reductions
def _var_sample(rng, shape):
    if int(np.prod(shape)) < 2:
        shape = tuple(shape) + (2,)
    x = _normal(rng, shape)
    kw = _axis_kwargs(rng, len(shape))
    axes = range(len(shape)) if kw["axis"] is None else np.atleast_1d(kw["axis"])
    if int(np.prod([shape[a] for a in axes])) < 2:
        kw["axis"] = None  # a single value has no spread
    kw["ddof"] = int(rng.integers(0, 2))
    return (x,), kw


def _torch_var(torch, x, axis=None, keepdims=False, ddof=0):
    dims = tuple(range(x.ndim)) if axis is None else axis
    return torch.var(x, dim=dims, keepdim=keepdims, correction=ddof)


def _torch_std(torch, x, axis=None, keepdims=False, ddof=0):
    dims = tuple(range(x.ndim)) if axis is None else axis
    return torch.std(x, dim=dims, keepdim=keepdims, correction=ddof)


REDUCTIONS = [
    OpSpec("sum", lambda x, **kw: x.sum(**kw), _reduction(_normal), _torch_reduce("sum")),
    OpSpec("mean", lambda x, **kw: x.mean(**kw), _reduction(_normal), _torch_reduce("mean")),
    OpSpec("max", lambda x, **kw: x.max(**kw), _reduction(_distinct), _torch_reduce("amax")),
    OpSpec("min", lambda x, **kw: x.min(**kw), _reduction(_distinct), _torch_reduce("amin")),
    OpSpec("var", lambda x, **kw: x.var(**kw), _var_sample, _torch_var),
    OpSpec("std", lambda x, **kw: x.std(**kw), _var_sample, _torch_std),
    OpSpec("logsumexp", lambda x, **kw: x.logsumexp(**kw), _reduction(_normal), _torch_reduce("logsumexp")),
]


# ------------------------------------------------------------------ matmul
def _matmul_sample(rng, shape):
    """One of: 2-D, batched with broadcasting, and the 1-D cases."""
    n, k = shape[0], shape[-1]
    m = int(rng.integers(1, 5))
    case = int(rng.integers(0, 6))
    if case == 0:
        a, b = (n, k), (k, m)
    elif case == 1:
        a, b = (3, 1, n, k), (2, k, m)
    elif case == 2:
        a, b = (k,), (k, m)
    elif case == 3:
        a, b = (2, n, k), (k,)
    elif case == 4:
        a, b = (k,), (k,)
    else:
        a, b = (2, n, k), (k, m)
    return (_normal(rng, a), _normal(rng, b)), {}


LINALG = [
    OpSpec("matmul", lambda a, b: a @ b, _matmul_sample, lambda t, a, b: t.matmul(a, b)),
]


# ------------------------------------------------------------------- shape
def _reshape_sample(rng, shape):
    target = (-1,) if rng.random() < 0.5 else tuple(reversed(shape))
    return (_normal(rng, shape),), {"shape": target}


def _transpose_sample(rng, shape):
    return (_normal(rng, shape),), {"axes": tuple(rng.permutation(len(shape)).tolist())}


def _broadcast_sample(rng, shape):
    small = _partner_shape(rng, shape)
    return (_normal(rng, small),), {"shape": (2,) + tuple(shape)}


def _squeeze_sample(rng, shape):
    ax = int(rng.integers(0, len(shape) + 1))
    grown = tuple(shape[:ax]) + (1,) + tuple(shape[ax:])
    return (_normal(rng, grown),), {"axis": ax}


def _unsqueeze_sample(rng, shape):
    return (_normal(rng, shape),), {"axis": int(rng.integers(-len(shape) - 1, len(shape) + 1))}


def _flatten_sample(rng, shape):
    shape = tuple(shape) + (2,)
    s = int(rng.integers(0, len(shape)))
    e = int(rng.integers(s, len(shape)))
    return (_normal(rng, shape),), {"start_axis": s, "end_axis": e}


def _concat_sample(rng, shape):
    ax = int(rng.integers(0, len(shape)))
    parts = []
    for _ in range(int(rng.integers(2, 4))):
        s = list(shape)
        s[ax] = int(rng.integers(1, 4))
        parts.append(_normal(rng, tuple(s)))
    return tuple(parts), {"axis": ax}


def _stack_sample(rng, shape):
    k = int(rng.integers(2, 4))
    return tuple(_normal(rng, shape) for _ in range(k)), {"axis": int(rng.integers(0, len(shape) + 1))}


def _split_sample(rng, shape):
    shape = (4,) + tuple(shape)
    return (_normal(rng, shape),), {"cut": int(rng.integers(1, 4))}


def _split_roundtrip(x, cut):
    """Split, then concatenate the pieces in reverse order (every piece gets a gradient)."""
    return ngrad.concatenate(ngrad.split(x, [cut], axis=0)[::-1], axis=0)


def _torch_split_roundtrip(torch, x, cut):
    return torch.cat(torch.split(x, [cut, x.shape[0] - cut], dim=0)[::-1], dim=0)


def _pad_sample(rng, shape):
    pw = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in shape)
    return (_normal(rng, shape),), {"pad_width": pw, "value": float(rng.standard_normal())}


def _torch_pad(torch, x, pad_width, value):
    flat = [w for pair in reversed(pad_width) for w in pair]
    return torch.nn.functional.pad(x, flat, value=value)


def _getitem_basic_sample(rng, shape):
    index = tuple(slice(int(rng.integers(0, n)), None, int(rng.integers(1, 3))) for n in shape)
    if len(shape) > 1 and rng.random() < 0.5:
        index = (int(rng.integers(0, shape[0])),) + index[1:]
    return (_normal(rng, shape),), {"index": index}


def _getitem_array_sample(rng, shape):
    idx = rng.integers(0, shape[0], size=int(rng.integers(1, 6)))  # repeats likely
    return (_normal(rng, shape),), {"index": idx}


def _getitem_mask_sample(rng, shape):
    return (_normal(rng, shape),), {"index": rng.random(shape) < 0.5}


def _torch_getitem(torch, x, index):
    if isinstance(index, np.ndarray):
        index = torch.as_tensor(index)
    return x[index]


SHAPE = [
    OpSpec("reshape", lambda x, shape: x.reshape(shape), _reshape_sample, lambda t, x, shape: x.reshape(shape)),
    OpSpec("transpose", lambda x, axes: x.transpose(axes), _transpose_sample, lambda t, x, axes: x.permute(axes)),
    OpSpec("broadcast_to", lambda x, shape: x.broadcast_to(shape), _broadcast_sample,
           lambda t, x, shape: x.expand(shape)),
    OpSpec("squeeze", lambda x, axis: x.squeeze(axis), _squeeze_sample, lambda t, x, axis: x.squeeze(axis)),
    OpSpec("unsqueeze", lambda x, axis: x.unsqueeze(axis), _unsqueeze_sample, lambda t, x, axis: x.unsqueeze(axis)),
    OpSpec("flatten", lambda x, start_axis, end_axis: x.flatten(start_axis, end_axis), _flatten_sample,
           lambda t, x, start_axis, end_axis: x.flatten(start_axis, end_axis)),
    OpSpec("concatenate", lambda *xs, axis: ngrad.concatenate(xs, axis), _concat_sample,
           lambda t, *xs, axis: t.cat(xs, dim=axis)),
    OpSpec("stack", lambda *xs, axis: ngrad.stack(xs, axis), _stack_sample,
           lambda t, *xs, axis: t.stack(xs, dim=axis)),
    OpSpec("split", _split_roundtrip, _split_sample, _torch_split_roundtrip),
    OpSpec("pad", lambda x, pad_width, value: x.pad(pad_width, value=value), _pad_sample, _torch_pad),
    OpSpec("getitem[basic]", lambda x, index: x[index], _getitem_basic_sample, _torch_getitem),
    OpSpec("getitem[int-array]", lambda x, index: x[index], _getitem_array_sample, _torch_getitem),
    OpSpec("getitem[mask]", lambda x, index: x[index], _getitem_mask_sample, _torch_getitem),
]


# ------------------------------------------------------------- activations
def _softmax_sample(rng, shape):
    return (_normal(rng, shape),), {"axis": int(rng.integers(-len(shape), len(shape)))}


ACTIVATIONS = [
    OpSpec("sigmoid", ngrad.sigmoid, _unary(_normal), lambda t, x: t.sigmoid(x)),
    OpSpec("tanh", ngrad.tanh, _unary(_normal), lambda t, x: t.tanh(x)),
    OpSpec("relu", ngrad.relu, _unary(_nonzero), lambda t, x: t.relu(x)),
    OpSpec("leaky_relu", lambda x: ngrad.leaky_relu(x, 0.1), _unary(_nonzero),
           lambda t, x: t.nn.functional.leaky_relu(x, 0.1)),
    OpSpec("elu", lambda x: ngrad.elu(x, 1.5), _unary(_nonzero), lambda t, x: t.nn.functional.elu(x, 1.5)),
    OpSpec("softplus", ngrad.softplus, _unary(_normal), lambda t, x: t.nn.functional.softplus(x)),
    OpSpec("softmax", lambda x, axis: ngrad.softmax(x, axis), _softmax_sample, lambda t, x, axis: t.softmax(x, axis)),
    OpSpec("log_softmax", lambda x, axis: ngrad.log_softmax(x, axis), _softmax_sample,
           lambda t, x, axis: t.log_softmax(x, axis)),
]


# ------------------------------------------------------------------ losses
def _reduction_kw(rng):
    return {"reduction": ["mean", "sum", "none"][int(rng.integers(0, 3))]}


def _bce_sample(rng, shape):
    return (rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)), _reduction_kw(rng)


def _bce_logits_sample(rng, shape):
    return (_normal(rng, shape) * 3, rng.uniform(0, 1, shape)), _reduction_kw(rng)


def _ce_labels_sample(rng, shape):
    """logits (N, C) or (N, C, d); integer labels (N,) or (N, d)."""
    n = shape[0]
    c = int(rng.integers(2, 5))
    extra = tuple(shape[1:2])
    logits = _normal(rng, (n, c) + extra)
    labels = rng.integers(0, c, (n,) + extra)
    return (logits, labels), _reduction_kw(rng)


def _ce_probs_sample(rng, shape):
    n = shape[0]
    c = int(rng.integers(2, 5))
    t = rng.uniform(0.1, 1, (n, c))
    return (_normal(rng, (n, c)), t / t.sum(axis=1, keepdims=True)), _reduction_kw(rng)


def _regression_sample(rng, shape):
    a = _normal(rng, shape)
    return (a, a + _nonzero(rng, shape)), _reduction_kw(rng)


def _torch_ce(torch, logits, target, reduction):
    if not torch.is_floating_point(target):
        target = target.long()
    return torch.nn.functional.cross_entropy(logits, target, reduction=reduction)


LOSSES = [
    OpSpec("binary_cross_entropy", F.binary_cross_entropy, _bce_sample,
           lambda t, p, y, reduction: t.nn.functional.binary_cross_entropy(p, y.detach(), reduction=reduction),
           tags=("target-constant-in-oracle",)),
    OpSpec("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits, _bce_logits_sample,
           lambda t, z, y, reduction: t.nn.functional.binary_cross_entropy_with_logits(z, y, reduction=reduction)),
    OpSpec("cross_entropy[labels]", F.cross_entropy, _ce_labels_sample, _torch_ce),
    OpSpec("cross_entropy[probs]", F.cross_entropy, _ce_probs_sample, _torch_ce),
    OpSpec("mse_loss", F.mse_loss, _regression_sample,
           lambda t, a, b, reduction: t.nn.functional.mse_loss(a, b, reduction=reduction)),
    OpSpec("l1_loss", F.l1_loss, _regression_sample,
           lambda t, a, b, reduction: t.nn.functional.l1_loss(a, b, reduction=reduction)),
]

SPECS = ELEMENTWISE + REDUCTIONS + LINALG + SHAPE + ACTIVATIONS + LOSSES
