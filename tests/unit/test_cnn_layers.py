"""Image layers: Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, pooling, padding,
upsampling, BatchNorm2d and Flatten on images.

Float64 gradchecks of every layer on tiny images, values against the
functional ops, running statistics, NHWC, errors naming the layer and the
shapes, and config / save-load round trips.
"""
import json

import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.nn.layers.conv import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from ngrad.nn.layers.normalization_conv import BatchNorm2d
from ngrad.nn.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D, UpSampling2D, ZeroPadding2D
from ngrad.ops.conv import conv2d, to_nchw, to_nhwc


def images(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def distinct(shape, seed=0):
    """Values far apart (no max-pool ties), float64."""
    k = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(k) * 0.1 - 0.05 * k).reshape(shape)


def f64(a):
    return ngrad.tensor(a, dtype=ngrad.float64)


def gradcheck_layer(layer, x):
    layer.to(ngrad.float64)
    result = ngrad.gradcheck(layer, x, params=list(layer.parameters()))
    assert result.passed, f"{layer!r}\n{result}"


# ------------------------------------------------------------------ gradchecks
@pytest.mark.parametrize("layer", [
    Conv2D(2, 3, 3),
    Conv2D(2, 3, 2, padding="same", stride=2),
    Conv2D(4, 2, 3, padding=1, dilation=2, groups=2, bias=False),
    Conv2D(2, 3, (1, 3), padding=((1, 0), (0, 2))),
    DepthwiseConv2D(2, 3, padding="same", depth_multiplier=2),
    SeparableConv2D(2, 3, 3, stride=2, padding="same"),
    Conv2DTranspose(2, 3, 3, stride=2, padding="same"),
    Conv2DTranspose(2, 4, 2, stride=2, padding=1, output_padding=1, groups=2),
], ids=repr)
def test_conv_layers_gradcheck(layer):
    gradcheck_layer(layer, images((2, layer.in_channels, 5, 4)))


@pytest.mark.parametrize("layer", [
    MaxPool2D(2), MaxPool2D(3, 2, padding="same"), AvgPool2D(2, 1), AvgPool2D(3, 2, padding="same"),
    GlobalAvgPool2D(), GlobalAvgPool2D(keepdims=True), ZeroPadding2D(((1, 0), (2, 1))), UpSampling2D((2, 3)),
], ids=repr)
def test_pool_and_resize_layers_gradcheck(layer):
    gradcheck_layer(layer, distinct((2, 2, 5, 4)))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_gradcheck(affine, training):
    bn = BatchNorm2d(3, affine=affine).to(ngrad.float64)
    with ngrad.no_grad():
        bn.running_mean.data[:] = [0.1, -0.2, 0.3]
        bn.running_var.data[:] = [0.5, 1.5, 2.0]
    bn.train(training)
    before = bn.running_mean.numpy().copy()
    result = ngrad.gradcheck(bn, images((2, 3, 3, 2)) * 2 + 1, params=list(bn.parameters()))
    assert result.passed, str(result)
    if not training:
        np.testing.assert_array_equal(bn.running_mean.numpy(), before)


def test_channels_last_layers_gradcheck():
    x = images((2, 5, 4, 2))  # NHWC
    for layer in (Conv2D(2, 3, 3, padding="same", data_format="channels_last"),
                  DepthwiseConv2D(2, 3, data_format="channels_last"),
                  BatchNorm2d(2, data_format="channels_last"),
                  MaxPool2D(2, data_format="channels_last")):
        gradcheck_layer(layer, x)


# ------------------------------------------------------------------ values and shapes
def test_conv2d_layer_is_the_op_with_its_parameters():
    layer = Conv2D(3, 4, 3, stride=2, padding="same")
    x = ngrad.tensor(images((2, 3, 7, 7)), dtype=ngrad.float32)
    expected = conv2d(x, layer.weight, layer.bias, stride=2, padding="same").numpy()
    np.testing.assert_array_equal(layer(x).numpy(), expected)
    assert layer.weight.shape == (4, 3, 3, 3) and layer(x).shape == (2, 4, 4, 4)


def test_channels_last_equals_channels_first():
    x = ngrad.tensor(images((2, 3, 6, 5)), dtype=ngrad.float64)
    first = Conv2D(3, 4, 3, padding="same").to(ngrad.float64)
    last = Conv2D(3, 4, 3, padding="same", data_format="channels_last").to(ngrad.float64)
    last.load_state_dict(first.state_dict())
    np.testing.assert_allclose(to_nchw(last(to_nhwc(x))).numpy(), first(x).numpy(), atol=1e-12)


def test_depthwise_is_grouped_conv_and_channel_order():
    layer = DepthwiseConv2D(3, 3, depth_multiplier=2, bias=False).to(ngrad.float64)
    assert layer.weight.shape == (6, 1, 3, 3) and layer.out_channels == 6
    x = images((1, 3, 5, 5))
    y = layer(f64(x)).numpy()
    w = layer.weight.numpy()
    # output channel 3 = input channel 1 through its second kernel
    expected = sum(x[0, 1, i:i + 3, j:j + 3].ravel() @ w[3, 0].ravel() for i, j in [(0, 0)])
    assert y[0, 3, 0, 0] == pytest.approx(expected)


def test_separable_parameter_count():
    layer = SeparableConv2D(8, 16, 3, depth_multiplier=2)
    counts = {n: p.size for n, p in layer.named_parameters()}
    assert counts == {"depthwise_weight": 16 * 9, "pointwise_weight": 16 * 16, "bias": 16}


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x), y> == <x, conv_transpose(y)> with the same weight (no bias)."""
    conv = Conv2D(2, 3, 3, stride=2, padding="same", bias=False).to(ngrad.float64)
    tconv = Conv2DTranspose(3, 2, 3, stride=2, padding="same", bias=False).to(ngrad.float64)
    with ngrad.no_grad():
        tconv.weight.data[...] = conv.weight.data
    x, y = images((1, 2, 6, 6), 1), images((1, 3, 3, 3), 2)
    lhs = float((conv(f64(x)).numpy() * y).sum())
    rhs = float((x * tconv(f64(y)).numpy()).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12)
    assert tconv(f64(y)).shape == (1, 2, 6, 6)


def test_keras_same_sizes_and_pool_shapes():
    x = ngrad.randn(2, 8, 64, 64)
    assert MaxPool2D(8, 8, padding="same")(x).shape == (2, 8, 8, 8)
    assert MaxPool2D(4, 4, padding="same")(ngrad.randn(1, 1, 8, 8)).shape == (1, 1, 2, 2)
    assert MaxPool2D(3, 2)(ngrad.randn(1, 1, 32, 32)).shape == (1, 1, 15, 15)
    assert AvgPool2D(2)(ngrad.randn(1, 1, 5, 5)).shape == (1, 1, 2, 2)
    assert GlobalAvgPool2D()(x).shape == (2, 8)
    assert UpSampling2D(2)(ngrad.randn(1, 2, 3, 4)).shape == (1, 2, 6, 8)
    assert ZeroPadding2D(3)(ngrad.randn(1, 3, 64, 64)).shape == (1, 3, 70, 70)


def test_flatten_works_on_images_both_layouts():
    x = ngrad.tensor(images((2, 3, 4, 5)), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 60)
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(2, -1))  # (C, H, W) order
    z = nn.Flatten()(to_nhwc(x))  # a transposed view: (H, W, C) order, as Keras
    np.testing.assert_array_equal(z.numpy(), x.numpy().transpose(0, 2, 3, 1).reshape(2, -1))
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3, 4, 5)))


def test_glorot_uniform_kernels_and_zero_bias():
    layer = Conv2D(16, 32, 3)
    bound = np.sqrt(6.0 / (16 * 9 + 32 * 9))
    w = layer.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not layer.bias.numpy().any()
    a, b = Conv2D(3, 4, 3), Conv2D(3, 4, 3)
    a.reset_parameters(rng=7)
    b.reset_parameters(rng=7)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())


# ------------------------------------------------------------------ BatchNorm2d
def test_batchnorm2d_training_normalises_per_channel_and_updates_running_stats():
    bn = BatchNorm2d(3, momentum=0.1)
    x = images((4, 3, 5, 5)) * np.array([1.0, 2.0, 3.0])[:, None, None] + np.array([0.0, 1.0, -2.0])[:, None, None]
    y = bn(ngrad.tensor(x, dtype=ngrad.float32)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * unbiased, rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1


def test_batchnorm2d_eval_uses_running_stats():
    bn = BatchNorm2d(2, eps=1e-3).to(ngrad.float64)
    with ngrad.no_grad():
        bn.running_mean.data[:] = [1.0, -1.0]
        bn.running_var.data[:] = [4.0, 0.25]
        bn.weight.data[:] = [2.0, 1.0]
        bn.bias.data[:] = [0.5, 0.0]
    bn.eval()
    x = images((2, 2, 3, 3))
    expected = (x - np.array([1.0, -1.0])[:, None, None]) / np.sqrt(np.array([4.0, 0.25]) + 1e-3)[:, None, None]
    expected = expected * np.array([2.0, 1.0])[:, None, None] + np.array([0.5, 0.0])[:, None, None]
    np.testing.assert_allclose(bn(f64(x)).numpy(), expected, atol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 0


def test_batchnorm2d_frozen_uses_and_keeps_running_stats_in_training_mode():
    bn = BatchNorm2d(2).to(ngrad.float64)
    x = f64(images((3, 2, 4, 4)) + 5.0)
    bn.frozen = True
    bn.train()
    y = bn(x).numpy()
    np.testing.assert_allclose(y, x.numpy() / np.sqrt(1 + 1e-5), atol=1e-12)  # running (0, 1)
    assert not bn.running_mean.numpy().any() and int(bn.num_batches_tracked.item()) == 0
    assert "frozen=True" in repr(bn)
    bn.frozen = False
    bn(x)
    assert bn.running_mean.numpy().min() > 0.4


def test_batchnorm2d_cumulative_average_and_no_running_stats():
    bn = BatchNorm2d(1, momentum=None)
    for v in (1.0, 3.0):
        bn(ngrad.tensor(np.full((2, 1, 2, 2), v) + images((2, 1, 2, 2)) * 0.01, dtype=ngrad.float32))
    assert bn.running_mean.item() == pytest.approx(2.0, abs=0.02)
    plain = BatchNorm2d(2, track_running_stats=False).eval()
    y = plain(ngrad.tensor(images((3, 2, 2, 2)), dtype=ngrad.float32)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    assert [n for n, _ in plain.named_buffers()] == []


def test_batchnorm2d_buffers_count_as_non_trainable_in_summary():
    model = nn.Sequential(Conv2D(3, 4, 3), BatchNorm2d(4))
    text = nn.summary(model, (3, 8, 8), print_fn=None)
    assert "Total params: 128" in text and "Non-trainable params: 8" in text


# ------------------------------------------------------------------ errors
def test_errors_name_the_layer_and_the_shapes():
    with pytest.raises(ngrad.ShapeError) as e:
        Conv2D(3, 8, 4)(ngrad.randn(2, 64, 64, 3))
    msg = str(e.value)
    assert "Conv2D(3, 8" in msg and "(N, 3, H, W)" in msg and "(2, 64, 64, 3)" in msg
    assert "data_format='channels_last'" in msg
    with pytest.raises(ngrad.ShapeError, match=r"BatchNorm2d\(4.*expected 4 input channels.*\(2, 3, 5, 5\)"):
        BatchNorm2d(4)(ngrad.randn(2, 3, 5, 5))
    with pytest.raises(ngrad.ShapeError, match=r"MaxPool2D.*4-D input \(N, C, H, W\).*\(2, 3\)"):
        MaxPool2D(2)(ngrad.randn(2, 3))
    with pytest.raises(ngrad.ShapeError, match=r"DepthwiseConv2D\(2.*\(N, H, W, 2\)"):
        DepthwiseConv2D(2, 3, data_format="channels_last")(ngrad.randn(1, 2, 5, 5))


def test_bad_arguments():
    with pytest.raises(ValueError, match="Conv2D: in_channels .* divisible by groups"):
        Conv2D(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2D: kernel_size must be positive"):
        Conv2D(3, 4, 0)
    with pytest.raises(ValueError, match="MaxPool2D: padding must be"):
        MaxPool2D(2, padding="full")
    with pytest.raises(ValueError, match="ZeroPadding2D: padding must be numbers"):
        ZeroPadding2D("same")
    with pytest.raises(ValueError, match="data_format"):
        Conv2D(3, 4, 3, data_format="NCWH")


# ------------------------------------------------------------------ configs
ALL_LAYERS = [
    Conv2D(3, 4, (3, 1), stride=(2, 1), padding=((1, 0), (0, 0)), dilation=1, bias=False),
    DepthwiseConv2D(3, 3, padding="same", depth_multiplier=2, data_format="channels_last"),
    SeparableConv2D(3, 5, 3, stride=2, padding="same"),
    Conv2DTranspose(3, 4, 3, stride=2, padding=1, output_padding=1),
    MaxPool2D(3, 2, padding="same"), AvgPool2D(2, count_include_pad=False), GlobalAvgPool2D(keepdims=True),
    ZeroPadding2D(((1, 2), (3, 4))), UpSampling2D((2, 1)), BatchNorm2d(4, eps=1e-3, momentum=0.01, affine=False),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda m: type(m).__name__)
def test_config_round_trip_through_json(layer):
    text = json.dumps(nn.to_config(layer))
    clone = nn.from_config(json.loads(text))
    assert type(clone) is type(layer) and repr(clone) == repr(layer)
    assert clone.get_config() == layer.get_config()
    assert {n: p.shape for n, p in clone.named_parameters()} == {n: p.shape for n, p in layer.named_parameters()}


@pytest.mark.parametrize("suffix", ["npz", "safetensors"])
def test_save_model_load_model_round_trip(tmp_path, suffix):
    if suffix == "safetensors":
        pytest.importorskip("safetensors")
    model = nn.Sequential(Conv2D(3, 4, 3, padding="same"), BatchNorm2d(4), nn.ReLU(), MaxPool2D(2),
                          SeparableConv2D(4, 6, 3), GlobalAvgPool2D(), nn.Linear(6, 2))
    model(ngrad.randn(4, 3, 8, 8))  # moves the running statistics
    model.eval()
    path = tmp_path / f"cnn.{suffix}"
    ngrad.save_model(model, path)
    clone = ngrad.load_model(path).eval()
    x = ngrad.randn(2, 3, 8, 8)
    np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())
    np.testing.assert_array_equal(clone[1].running_var.numpy(), model[1].running_var.numpy())
