"""Course 4 week 1 "Convolution model, step by step", reproduced with ngrad's ops.

The notebook's inputs (legacy ``np.random.seed`` + ``randn`` in its order,
float64, NHWC images and (f, f, C_prev, C) kernels) go through
``data_format="channels_last"`` and :func:`hwio_to_oihw`; the printed
numbers must come out to the notebook's digits.
"""
import numpy as np
import pytest

import ngrad
from ngrad.ops.conv import conv2d, hwio_to_oihw
from ngrad.ops.pool import avg_pool2d, max_pool2d
from ngrad.ops.upsample import zero_pad2d

NHWC = {"data_format": "channels_last"}


def T(a, grad=False):
    return ngrad.tensor(a, dtype=ngrad.float64, requires_grad=grad)


def course_conv(A_prev, W, b, pad, stride, grad=False):
    """The notebook's conv_forward: A_prev (m, H, W, C), W (f, f, C, F), b (1, 1, 1, F)."""
    A, Wt, bt = T(A_prev, grad), T(W, grad), T(b.reshape(-1), grad)
    return conv2d(A, hwio_to_oihw(Wt), bt, stride=stride, padding=pad, **NHWC), (A, Wt, bt)


def test_zero_pad():
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    x_pad = zero_pad2d(T(x), 3, **NHWC).numpy()
    assert x_pad.shape == (4, 9, 9, 2)
    np.testing.assert_array_equal(x_pad[:, 3:-3, 3:-3], x)
    assert not x_pad[1, 1].any()


def test_conv_single_step():
    np.random.seed(1)
    a_slice_prev = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)
    Z, _ = course_conv(a_slice_prev[None], W[..., None], b, pad=0, stride=1)
    assert Z.shape == (1, 1, 1, 1)
    assert Z.item() == pytest.approx(-6.999089450680221, abs=1e-12)


def test_conv_forward():
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 7, 4)
    W = np.random.randn(3, 3, 4, 8)
    b = np.random.randn(1, 1, 1, 8)
    Z, _ = course_conv(A_prev, W, b, pad=1, stride=2)
    Z = Z.numpy()
    assert Z.shape == (2, 3, 4, 8)
    assert np.mean(Z) == pytest.approx(0.5511276474566768, abs=1e-12)
    np.testing.assert_allclose(Z[0, 2, 1], [-2.17796037, 8.07171329, -0.5772704, 3.36286738, 4.48113645,
                                            -2.89198428, 10.99288867, 3.03171932], atol=5e-9)
    np.testing.assert_allclose(A_prev[1, 2, 3], [-1.1191154, 1.9560789, -0.3264995, -1.34267579], atol=5e-8)


def test_conv_backward():
    """The notebook back-propagates dZ = Z through conv_backward."""
    np.random.seed(1)
    A_prev = np.random.randn(10, 4, 4, 3)
    W = np.random.randn(2, 2, 3, 8)
    b = np.random.randn(1, 1, 1, 8)
    Z, (A, Wt, bt) = course_conv(A_prev, W, b, pad=2, stride=2, grad=True)
    Z.backward(Z.numpy())
    assert np.mean(A.grad.numpy()) == pytest.approx(1.4524377775388075, abs=1e-12)
    assert np.mean(Wt.grad.numpy()) == pytest.approx(1.7269914583139097, abs=1e-12)
    assert np.mean(bt.grad.numpy()) == pytest.approx(7.839232564616838, abs=1e-12)
    assert A.grad.shape == (10, 4, 4, 3) and Wt.grad.shape == (2, 2, 3, 8)


def test_pool_forward_stride_1():
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 5, 3)
    A = max_pool2d(T(A_prev), 3, stride=1, **NHWC).numpy()
    assert A.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(A[1, 1, 0], [1.96710175, 0.84616065, 1.27375593], atol=5e-9)
    A = avg_pool2d(T(A_prev), 3, stride=1, **NHWC).numpy()
    np.testing.assert_allclose(A[1, 1, 0], [0.44497696, -0.00261695, -0.31040307], atol=5e-9)


def test_pool_forward_stride_2():
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 5, 3)
    A = max_pool2d(T(A_prev), 3, stride=2, **NHWC).numpy()
    assert A.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(A[0, 0], [[1.74481176, 0.90159072, 1.65980218],
                                         [1.74481176, 1.6924546, 1.65980218]], atol=5e-9)


def test_pool_forward_2017_version():
    """2017 notebook: A_prev (2, 4, 4, 3), f = 4, stride 1."""
    np.random.seed(1)
    A_prev = np.random.randn(2, 4, 4, 3)
    A = max_pool2d(T(A_prev), 4, stride=1, **NHWC).numpy()
    np.testing.assert_allclose(A[:, 0, 0], [[1.74481176, 1.6924546, 2.10025514],
                                            [1.19891788, 1.51981682, 2.18557541]], atol=5e-9)
    A = avg_pool2d(T(A_prev), 4, stride=1, **NHWC).numpy()
    np.testing.assert_allclose(A[:, 0, 0], [[-0.09498456, 0.11180064, -0.14263511],
                                            [-0.09525108, 0.28325018, 0.33035185]], atol=5e-9)


def test_pool_backward():
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    dA = np.random.randn(5, 4, 2, 2)
    assert np.mean(dA) == pytest.approx(0.14571390272918056, abs=1e-15)
    X = T(A_prev, grad=True)
    max_pool2d(X, 2, stride=1, **NHWC).backward(dA)
    np.testing.assert_allclose(X.grad.numpy()[1, 1], [[0, 0], [5.05844394, -1.68282702], [0, 0]], atol=5e-9)
    X = T(A_prev, grad=True)
    avg_pool2d(X, 2, stride=1, **NHWC).backward(dA)
    np.testing.assert_allclose(X.grad.numpy()[1, 1], [[0.08485462, 0.2787552], [1.26461098, -0.25749373],
                                                      [1.17975636, -0.53624893]], atol=5e-9)


def test_distribute_value():
    """distribute_value(2, (2, 2)): an average-pool window hands each input a quarter."""
    X = T(np.zeros((1, 1, 2, 2)), grad=True)
    avg_pool2d(X, 2).backward(np.array([[[[2.0]]]]))
    np.testing.assert_array_equal(X.grad.numpy()[0, 0], [[0.5, 0.5], [0.5, 0.5]])
