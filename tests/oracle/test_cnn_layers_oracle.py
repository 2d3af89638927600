"""Image layers against torch.nn in float32: outputs, input and parameter gradients, running statistics."""
import numpy as np
import pytest

import ngrad
from ngrad.nn.layers.conv import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from ngrad.nn.layers.normalization_conv import BatchNorm2d
from ngrad.nn.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D, UpSampling2D, ZeroPadding2D

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle
tnn = torch.nn

RTOL, ATOL = 1e-4, 1e-5


def pair(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ngrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def load_into_torch(ours, theirs, names=None):
    """Copy our parameters into the torch module (``names`` maps ours to theirs)."""
    their = dict(theirs.named_parameters())
    with torch.no_grad():
        for name, p in ours.named_parameters():
            their[(names or {}).get(name, name)].copy_(torch.from_numpy(p.numpy().copy()))


def run_both(ours, theirs, x, tx, seed=1):
    y, ty = ours(x), theirs(tx)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg="forward")
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg="input gradient")


def assert_param_grads(ours, theirs, names=None):
    their = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        tp = their[(names or {}).get(name, name)]
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=RTOL, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("args,kwargs", [
    ((3, 8, 3), {"padding": 1}),
    ((3, 8, 3), {"stride": 2, "padding": 1, "bias": False}),
    ((4, 6, 3), {"padding": 2, "dilation": 2, "groups": 2}),
    ((3, 5, 1), {}),
])
def test_conv2d(args, kwargs):
    ours = Conv2D(*args, **kwargs)
    theirs = tnn.Conv2d(*args, **kwargs)
    load_into_torch(ours, theirs)
    x, tx = pair((4, args[0], 12, 11))
    run_both(ours, theirs, x, tx)
    assert_param_grads(ours, theirs)


def test_conv2d_same_matches_torch_same_for_odd_kernels():
    ours, theirs = Conv2D(3, 4, 5, padding="same"), tnn.Conv2d(3, 4, 5, padding="same")
    load_into_torch(ours, theirs)
    x, tx = pair((2, 3, 9, 9))
    run_both(ours, theirs, x, tx)


@pytest.mark.parametrize("mult,stride", [(1, 1), (2, 2)])
def test_depthwise_conv2d(mult, stride):
    ours = DepthwiseConv2D(4, 3, stride=stride, padding=1, depth_multiplier=mult)
    theirs = tnn.Conv2d(4, 4 * mult, 3, stride=stride, padding=1, groups=4)
    load_into_torch(ours, theirs)
    x, tx = pair((3, 4, 10, 10))
    run_both(ours, theirs, x, tx)
    assert_param_grads(ours, theirs)


def test_separable_conv2d():
    ours = SeparableConv2D(4, 6, 3, padding=1)
    dw, pw = tnn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False), tnn.Conv2d(4, 6, 1)
    theirs = tnn.Sequential(dw, pw)
    names = {"depthwise_weight": "0.weight", "pointwise_weight": "1.weight", "bias": "1.bias"}
    load_into_torch(ours, theirs, names)
    x, tx = pair((2, 4, 8, 8))
    run_both(ours, theirs, x, tx)
    assert_param_grads(ours, theirs, names)


@pytest.mark.parametrize("kwargs", [
    {"stride": 2, "padding": 1, "output_padding": 1},
    {"stride": 1, "padding": 0},
    {"stride": 2, "padding": 1, "groups": 2},
])
def test_conv_transpose2d(kwargs):
    ours = Conv2DTranspose(4, 6, 3, **kwargs)
    theirs = tnn.ConvTranspose2d(4, 6, 3, **kwargs)
    load_into_torch(ours, theirs)
    x, tx = pair((2, 4, 7, 6))
    run_both(ours, theirs, x, tx)
    assert_param_grads(ours, theirs)


def test_batchnorm2d_training_steps_then_eval():
    ours, theirs = BatchNorm2d(5, momentum=0.1), tnn.BatchNorm2d(5, momentum=0.1)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2, 5).astype(np.float32)))
        theirs.bias.copy_(torch.from_numpy(rng.standard_normal(5).astype(np.float32)))
        ours.weight.data[:] = theirs.weight.numpy()
        ours.bias.data[:] = theirs.bias.numpy()
    for step in range(3):
        x, tx = pair((8, 5, 6, 6), seed=step)
        with torch.no_grad():
            tx.mul_(3.0).add_(2.0)
        x.data[...] = tx.detach().numpy()
        ours.zero_grad()
        theirs.zero_grad()
        run_both(ours, theirs, x, tx, seed=step + 10)
        assert_param_grads(ours, theirs)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5, atol=1e-6)
    ours.eval(), theirs.eval()
    x, tx = pair((4, 5, 6, 6), seed=9)
    ours.zero_grad()
    theirs.zero_grad()
    run_both(ours, theirs, x, tx)
    assert_param_grads(ours, theirs)


def test_batchnorm2d_channels_last():
    ours, theirs = BatchNorm2d(3, data_format="channels_last"), tnn.BatchNorm2d(3)
    x, tx = pair((4, 5, 5, 3))
    y = ours(x)
    ty = theirs(tx.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5)


@pytest.mark.parametrize("ours,theirs", [
    (MaxPool2D(2), tnn.MaxPool2d(2)),
    (MaxPool2D(3, 2, padding=1), tnn.MaxPool2d(3, 2, padding=1)),
    (AvgPool2D(2), tnn.AvgPool2d(2)),
    (AvgPool2D(3, 1, padding=1), tnn.AvgPool2d(3, 1, padding=1)),
    (AvgPool2D(3, 2, padding=1, count_include_pad=False), tnn.AvgPool2d(3, 2, padding=1, count_include_pad=False)),
    (GlobalAvgPool2D(), tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten())),
    (ZeroPadding2D(((1, 2), (0, 3))), tnn.ZeroPad2d((0, 3, 1, 2))),
    (UpSampling2D(2), tnn.Upsample(scale_factor=2, mode="nearest")),
], ids=["max2", "max3-s2-p1", "avg2", "avg3-s1-p1", "avg3-s2-p1-nopad", "gap", "zeropad", "upsample"])
def test_pool_and_resize(ours, theirs):
    x, tx = pair((2, 3, 8, 7))
    run_both(ours, theirs, x, tx)
