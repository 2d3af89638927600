"""The convolution family against PyTorch on realistic shapes, float32, forward and backward."""
import numpy as np
import pytest

import ngrad
from ngrad.ops.conv import conv2d, conv_transpose2d
from ngrad.ops.conv_utils import conv_geometry
from ngrad.ops.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from ngrad.ops.upsample import upsample2d

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.oracle

RTOL = 1e-5  # of the largest magnitude: float32 sums of up to a few thousand terms


def close(ours, theirs, what):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours.shape == theirs.shape, what
    scale = max(float(np.abs(theirs).max()), 1e-6)
    err = float(np.abs(ours - theirs).max()) / scale
    assert err < RTOL, f"{what}: max error {err:.2e} of the largest magnitude"


def pair(rng, *arrays):
    """The same float32 data as requires-grad tensors in ngrad and in PyTorch."""
    ours = [ngrad.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    return ours, theirs


def backward_both(y, yt, rng):
    gy = rng.standard_normal(yt.shape).astype(np.float32)
    y.backward(gy)
    yt.backward(torch.from_numpy(gy))


CONV_CASES = {  # name: (x shape, weight shape, stride, padding, dilation, groups)
    "signs_conv1": ((8, 3, 64, 64), (8, 3, 4, 4), 1, "same", 1, 1),
    "signs_conv2": ((16, 8, 8, 8), (16, 8, 2, 2), 1, "same", 1, 1),
    "lenet_conv2": ((32, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1, 1),
    "resnet_3x3": ((8, 16, 32, 32), (16, 16, 3, 3), 1, 1, 1, 1),
    "resnet_down": ((8, 16, 32, 32), (32, 16, 3, 3), 2, 1, 1, 1),
    "resnet_1x1_down": ((8, 16, 32, 32), (32, 16, 1, 1), 2, 0, 1, 1),
    "pointwise": ((4, 32, 16, 16), (64, 32, 1, 1), 1, 0, 1, 1),
    "depthwise": ((4, 32, 16, 16), (32, 1, 3, 3), 1, 1, 1, 32),
    "depthwise_s2_same": ((4, 16, 15, 15), (32, 1, 3, 3), 2, "same", 1, 16),
    "grouped_dilated": ((4, 12, 20, 20), (18, 4, 3, 3), 1, 2, 2, 3),
    "same_stride3_even": ((4, 5, 17, 19), (7, 5, 4, 4), 3, "same", 1, 1),
}


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv2d_matches_torch(name):
    rng = np.random.default_rng(len(name))
    xs, ws, stride, padding, dilation, groups = CONV_CASES[name]
    (x, w, b), (xt, wt, bt) = pair(rng, rng.standard_normal(xs), rng.standard_normal(ws) * 0.2,
                                   rng.standard_normal(ws[0]))
    y = conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    g = conv_geometry("conv2d", xs[2:], ws[2:], stride, padding, dilation)
    (t, bo), (l, r) = g.pads
    yt = F.conv2d(F.pad(xt, (l, r, t, bo)), wt, bt, stride=stride, dilation=dilation, groups=groups)
    close(y.numpy(), yt, f"{name} forward")
    backward_both(y, yt, rng)
    for ours, theirs, what in ((x, xt, "dx"), (w, wt, "dw"), (b, bt, "db")):
        close(ours.grad.numpy(), theirs.grad, f"{name} {what}")


@pytest.mark.parametrize("stride,padding,output_padding,groups", [(2, 1, 1, 1), (2, 0, 0, 2), (3, 1, 2, 1), (1, 1, 0, 4)])
def test_conv_transpose2d_matches_torch(stride, padding, output_padding, groups):
    rng = np.random.default_rng(stride * 10 + groups)
    (x, w, b), (xt, wt, bt) = pair(rng, rng.standard_normal((4, 8, 12, 10)), rng.standard_normal((8, 12 // groups, 3, 3)),
                                   rng.standard_normal(12))
    y = conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding, groups=groups)
    yt = F.conv_transpose2d(xt, wt, bt, stride=stride, padding=padding, output_padding=output_padding, groups=groups)
    close(y.numpy(), yt, "forward")
    backward_both(y, yt, rng)
    for ours, theirs, what in ((x, xt, "dx"), (w, wt, "dw"), (b, bt, "db")):
        close(ours.grad.numpy(), theirs.grad, what)


@pytest.mark.parametrize("kernel,stride,padding", [(8, 8, 0), (4, 4, 0), (2, 2, 0), (3, 2, 1), (3, 1, 1), (5, 3, 2)])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_matches_torch(mode, kernel, stride, padding):
    rng = np.random.default_rng(kernel)
    (x,), (xt,) = pair(rng, rng.standard_normal((16, 8, 64, 64)))
    fn, tfn = (max_pool2d, F.max_pool2d) if mode == "max" else (avg_pool2d, F.avg_pool2d)
    y = fn(x, kernel, stride, padding)
    yt = tfn(xt, kernel, stride, padding)
    close(y.numpy(), yt, "forward")
    backward_both(y, yt, rng)
    close(x.grad.numpy(), xt.grad, "dx")


def test_max_pool_after_relu_ties_like_torch():
    """All-zero windows after a ReLU tie everywhere: the first element gets the gradient, as in PyTorch."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 3, 16, 16)) - 1.5
    (x,), (xt,) = pair(rng, a)
    y = max_pool2d(x.relu(), 4)
    yt = F.max_pool2d(torch.relu(xt), 4)
    backward_both(y, yt, rng)
    close(x.grad.numpy(), xt.grad, "dx")


def test_signs_block_matches_torch():
    """conv 8@4x4 same, ReLU, maxpool 8, conv 16@2x2 same, ReLU, maxpool 4, global average."""
    rng = np.random.default_rng(7)
    arrays = (rng.standard_normal((16, 3, 64, 64)), rng.standard_normal((8, 3, 4, 4)) * 0.3, rng.standard_normal(8) * 0.1,
              rng.standard_normal((16, 8, 2, 2)) * 0.3, rng.standard_normal(16) * 0.1)
    (x, w1, b1, w2, b2), (xt, w1t, b1t, w2t, b2t) = pair(rng, *arrays)
    h = max_pool2d(conv2d(x, w1, b1, padding="same").relu(), 8)
    y = global_avg_pool2d(max_pool2d(conv2d(h, w2, b2, padding="same").relu(), 4))
    ht = F.max_pool2d(torch.relu(F.conv2d(F.pad(xt, (1, 2, 1, 2)), w1t, b1t)), 8)
    yt = F.max_pool2d(torch.relu(F.conv2d(F.pad(ht, (0, 1, 0, 1)), w2t, b2t)), 4).mean(dim=(2, 3))
    close(y.numpy(), yt, "forward")
    backward_both(y, yt, rng)
    for ours, theirs, what in ((x, xt, "dx"), (w1, w1t, "dw1"), (b1, b1t, "db1"), (w2, w2t, "dw2"), (b2, b2t, "db2")):
        close(ours.grad.numpy(), theirs.grad, what)


def test_global_avg_pool_and_upsample_match_torch():
    rng = np.random.default_rng(3)
    (x,), (xt,) = pair(rng, rng.standard_normal((8, 16, 9, 11)))
    y = upsample2d(x, (2, 3)) * 1.0
    yt = F.interpolate(xt, scale_factor=(2, 3), mode="nearest")
    close(y.numpy(), yt, "upsample forward")
    backward_both(y, yt, rng)
    close(x.grad.numpy(), xt.grad, "upsample dx")
    (x,), (xt,) = pair(rng, rng.standard_normal((8, 16, 9, 11)))
    y, yt = global_avg_pool2d(x), F.adaptive_avg_pool2d(xt, 1).flatten(1)
    close(y.numpy(), yt, "gap forward")
    backward_both(y, yt, rng)
    close(x.grad.numpy(), xt.grad, "gap dx")


@pytest.mark.parametrize("kernel,stride", [(2, None), (4, None), ((2, 3), None), (3, 2), (3, 1), (8, None), ((4, 6), None)])
def test_max_pool_ties_pick_the_first_maximum_like_torch(kernel, stride):
    """Integer-valued images tie often: the gradient goes to the first maximum, row-major."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, (3, 4, 16, 24)).astype(np.float32)
    (xn,), (xt,) = pair(rng, x)
    y = max_pool2d(xn, kernel, stride)
    yt = F.max_pool2d(xt, kernel, stride)
    backward_both(y, yt, rng)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)  # overlaps sum in any order
