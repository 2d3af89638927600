"""Specs of the convolution family: conv2d, conv_transpose2d, pooling,
zero_pad2d, upsample2d and the NHWC (``channels_last``) wrappers.

Images are tiny (gradcheck takes two forwards per input element): the base
shape's sizes pick the batch (1-2), the spatial size (3-6) and the variant.
Pooling inputs hold distinct values far apart (no ties). The PyTorch side
spells out asymmetric padding (Keras ``'same'``) with ``F.pad``.
"""
from __future__ import annotations

import numpy as np

from ngrad.ops.conv import conv2d, conv2d_relu_max_pool2d, conv_transpose2d
from ngrad.ops.conv_utils import conv_geometry
from ngrad.ops.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from ngrad.ops.upsample import upsample2d, zero_pad2d
from ngrad.testing.registry import OpSpec


# ----------------------------------------------------------------- helpers
def _image_size(rng, shape):
    """(n, h, w) of a tiny image batch drawn around the base shape."""
    n = 1 + (shape[0] > 2)
    h = 3 + shape[-1] % 4
    w = 3 + int(rng.integers(0, 3))
    return n, h, w


def _distinct(rng, shape):
    """Values at least 0.1 apart (no ties in a max-pool window)."""
    k = int(np.prod(shape))
    return (rng.permutation(k) * 0.2 + rng.uniform(0, 0.05, k)).reshape(shape) - 0.1 * k


def _torch_pads(torch, x, pads, value=0.0):
    (t, b), (l, r) = pads
    return torch.nn.functional.pad(x, (l, r, t, b), value=value) if (t or b or l or r) else x


# ------------------------------------------------------------------ conv2d
_PADDINGS = ("valid", "same", 1, ((1, 0), (0, 2)))


def _conv_sample(rng, shape, groups=None, pointwise=False):
    n, h, w = _image_size(rng, shape)
    g = groups or 1
    cg = int(rng.integers(1, 3)) if groups is None else 1 + (shape[0] % 2)
    f = g * int(rng.integers(1, 3))
    k = 1 if pointwise else int(rng.integers(1, 4))
    kwargs = {
        "stride": int(rng.integers(1, 3)),
        "padding": "valid" if pointwise else _PADDINGS[int(rng.integers(0, 4))],
        "dilation": 1 if pointwise or k == 1 or rng.random() < 0.6 else 2,
        "groups": g,
    }
    x = rng.standard_normal((n, cg * g, h + 2, w + 2))
    weight = rng.standard_normal((f, cg, k, k))
    bias = rng.standard_normal(f)
    return (x, weight, bias), kwargs


def _grouped_sample(rng, shape):
    return _conv_sample(rng, shape, groups=int(rng.integers(2, 4)))


def _pointwise_sample(rng, shape):
    return _conv_sample(rng, shape, pointwise=True)


def _torch_conv2d(torch, x, weight, bias, stride=1, padding="valid", dilation=1, groups=1):
    g = conv_geometry("conv2d", x.shape[2:], weight.shape[2:], stride, padding, dilation)
    x = _torch_pads(torch, x, g.pads)
    return torch.nn.functional.conv2d(x, weight, bias, stride=stride, dilation=dilation, groups=groups)


def _conv_nhwc(x, weight, bias, **kw):
    return conv2d(x, weight, bias, data_format="channels_last", **kw)


def _nhwc_sample(rng, shape):
    (x, weight, bias), kw = _conv_sample(rng, shape)
    return (np.ascontiguousarray(x.transpose(0, 2, 3, 1)), weight, bias), kw


def _torch_conv_nhwc(torch, x, weight, bias, **kw):
    return _torch_conv2d(torch, x.permute(0, 3, 1, 2), weight, bias, **kw).permute(0, 2, 3, 1)


# ------------------------------------------------------------------ conv_transpose2d
def _transpose_sample(rng, shape):
    n, h, w = _image_size(rng, shape)
    groups = 1 + (shape[0] % 2 == 0 and rng.random() < 0.5)
    cin = groups * int(rng.integers(1, 3))
    cout_g = int(rng.integers(1, 3))
    k = int(rng.integers(1, 4))
    stride = int(rng.integers(1, 3))
    dilation = 2 if k > 1 and rng.random() < 0.3 else 1
    padding = int(rng.integers(0, (dilation * (k - 1)) // 2 + 1))
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
              "output_padding": int(rng.integers(0, max(stride, dilation)))}
    x = rng.standard_normal((n, cin, h - 1, w - 1))
    weight = rng.standard_normal((cin, cout_g, k, k))
    bias = rng.standard_normal(cout_g * groups)
    return (x, weight, bias), kwargs


def _torch_conv_transpose2d(torch, x, weight, bias, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    return torch.nn.functional.conv_transpose2d(x, weight, bias, stride=stride, padding=padding,
                                                output_padding=output_padding, groups=groups, dilation=dilation)


# ------------------------------------------------------------------ pooling
_POOLS = (  # (kernel, stride, padding)
    (2, None, "valid"), (2, 1, "valid"), (3, 2, 1), (3, 1, "same"), (2, 2, "same"), ((2, 3), (1, 2), "valid"),
)


def _pool_sample(rng, shape):
    n, h, w = _image_size(rng, shape)
    kernel, stride, padding = _POOLS[int(rng.integers(0, len(_POOLS)))]
    c = int(rng.integers(1, 3))
    return (_distinct(rng, (n, c, h + 1, w + 1)),), {"kernel_size": kernel, "stride": stride, "padding": padding}


def _torch_max_pool(torch, x, kernel_size, stride=None, padding="valid"):
    g = conv_geometry("max_pool2d", x.shape[2:], kernel_size, stride or kernel_size, padding)
    x = _torch_pads(torch, x, g.pads, value=-float("inf"))
    return torch.nn.functional.max_pool2d(x, kernel_size, stride or kernel_size)


def _torch_avg_pool(torch, x, kernel_size, stride=None, padding="valid"):
    """Keras 'same' averages over the real elements only; numeric padding counts the zeros (PyTorch)."""
    stride = stride or kernel_size
    g = conv_geometry("avg_pool2d", x.shape[2:], kernel_size, stride, padding)
    sums = torch.nn.functional.avg_pool2d(_torch_pads(torch, x, g.pads), kernel_size, stride)
    if padding != "same":
        return sums
    ones = _torch_pads(torch, torch.ones_like(x[:1, :1]), g.pads)
    return sums / torch.nn.functional.avg_pool2d(ones, kernel_size, stride)


def _gap_sample(rng, shape):
    n, h, w = _image_size(rng, shape)
    return (rng.standard_normal((n, 2, h, w)),), {"keepdims": bool(rng.random() < 0.5)}


def _torch_gap(torch, x, keepdims=False):
    return x.mean(dim=(2, 3), keepdim=keepdims)


# ------------------------------------------------------------------ padding, upsampling
def _zero_pad_sample(rng, shape):
    n, h, w = _image_size(rng, shape)
    choice = int(rng.integers(0, 3))
    padding = [1, (2, 0), ((0, 1), (2, 1))][choice]
    return (rng.standard_normal((n, 2, h, w)),), {"padding": padding}


def _torch_zero_pad(torch, x, padding=1):
    from ngrad.ops.conv_utils import _pads

    return _torch_pads(torch, x, _pads(padding, "zero_pad2d"))


def _upsample_sample(rng, shape):
    n, h, w = _image_size(rng, shape)
    size = [2, (1, 3), (3, 2)][int(rng.integers(0, 3))]
    return (rng.standard_normal((n, 2, h - 1, w - 1)),), {"size": size}


def _torch_upsample(torch, x, size=2):
    sh, sw = (size, size) if isinstance(size, int) else size
    return x.repeat_interleave(sh, dim=2).repeat_interleave(sw, dim=3)


# ------------------------------------------------------------------ fused conv + ReLU + max pool
def _fused_sample(rng, shape):
    """Pools of 16+ elements: where Numba is installed, the fused kernel with its argmax-only backward."""
    n = 1 + (shape[0] > 3)
    h, w = 8 + shape[-1] % 3, 8 + int(rng.integers(0, 3))
    c, f, k = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 4))
    pool = [4, (4, 5), (5, 4)][int(rng.integers(0, 3))]
    x = rng.standard_normal((n, c, h, w))
    kwargs = {"stride": 1, "padding": ["same", "valid", 1][int(rng.integers(0, 3))], "pool_size": pool}
    return (x, rng.standard_normal((f, c, k, k)), rng.standard_normal(f)), kwargs


def _fused_small_pool_sample(rng, shape):
    """Pools of 2 to 4 elements: where Numba is installed, the fused kernel with its dense backward."""
    (x, weight, bias), kwargs = _fused_sample(rng, shape)
    kwargs["pool_size"] = [2, (1, 4), (2, 1)][int(rng.integers(0, 3))]
    return (x, weight, bias), kwargs


def _torch_fused(torch, x, weight, bias, stride=1, padding="valid", pool_size=2):
    z = _torch_conv2d(torch, x, weight, bias, stride=stride, padding=padding)
    return torch.nn.functional.max_pool2d(torch.relu(z), pool_size)


SPECS = [
    OpSpec("conv2d", conv2d, _conv_sample, _torch_conv2d, atol=1e-5),
    OpSpec("conv2d[groups]", conv2d, _grouped_sample, _torch_conv2d, atol=1e-5),
    OpSpec("conv2d[1x1]", conv2d, _pointwise_sample, _torch_conv2d, atol=1e-5),
    OpSpec("conv2d[channels_last]", _conv_nhwc, _nhwc_sample, _torch_conv_nhwc, atol=1e-5),
    OpSpec("conv2d_relu_max_pool2d", conv2d_relu_max_pool2d, _fused_sample, _torch_fused, atol=1e-5),
    OpSpec("conv2d_relu_max_pool2d[small pool]", conv2d_relu_max_pool2d, _fused_small_pool_sample, _torch_fused,
           atol=1e-5),
    OpSpec("conv_transpose2d", conv_transpose2d, _transpose_sample, _torch_conv_transpose2d, atol=1e-5),
    OpSpec("max_pool2d", max_pool2d, _pool_sample, _torch_max_pool),
    OpSpec("avg_pool2d", avg_pool2d, _pool_sample, _torch_avg_pool),
    OpSpec("global_avg_pool2d", global_avg_pool2d, _gap_sample, _torch_gap),
    OpSpec("zero_pad2d", zero_pad2d, _zero_pad_sample, _torch_zero_pad),
    OpSpec("upsample2d", upsample2d, _upsample_sample, _torch_upsample),
]
