"""ngrad.models: the course's parameter counts, its ResNet block tests, gradchecks of every block,
output shapes and save / load round trips."""
import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.models import (
    BasicBlock,
    ConvBlock,
    HappyModel,
    IdentityBlock,
    InceptionModule,
    InceptionNet,
    InvertedResidual,
    LeNet5,
    MobileNetV2,
    ResNet50,
    SignsConvNet,
    mobilenet_v2_small,
    resnet8,
    resnet14,
)
from ngrad.nn import init


def totals(text):
    """(total, trainable, non-trainable) from a summary's last lines."""
    lines = {k: int(v.replace(",", "")) for k, v in (ln.split(": ") for ln in text.splitlines() if "params:" in ln)}
    return lines["Total params"], lines["Trainable params"], lines["Non-trainable params"]


def rows(text):
    """{layer name: param count} from a summary table."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        count = parts[-1].replace(",", "") if parts else ""
        if len(parts) >= 3 and parts[1].startswith("(") and parts[1].endswith(")") and count.isdigit():
            out[parts[0]] = int(parts[-1].replace(",", ""))
    return out


# ------------------------------------------------------------------ the course's counts
def test_resnet50_has_the_course_parameter_counts():
    model = ResNet50(num_classes=6)
    text = nn.summary(model, (3, 64, 64), batch_size=1, print_fn=None)
    assert totals(text) == (23_600_006, 23_546_886, 53_120)
    assert "(None, 6)" in text.splitlines()[-6]  # the last layer's output
    assert rows(text)["fc"] == 2048 * 6 + 6


def test_signs_convnet_summary_matches_the_course():
    text = nn.summary(SignsConvNet(), (3, 64, 64), print_fn=None)
    assert totals(text) == (1310, 1310, 0)
    assert rows(text) == {"conv1": 392, "relu1": 0, "pool1": 0, "conv2": 528, "relu2": 0, "pool2": 0,
                          "flatten": 0, "fc": 390}
    assert "(None, 16, 2, 2)" in text and "(None, 64)" in text


def test_happy_model_summary_matches_the_course():
    text = nn.summary(HappyModel(), (3, 64, 64), print_fn=None)
    assert totals(text) == (37_633, 37_569, 64)
    assert rows(text)["conv"] == 4736 and rows(text)["bn"] == 128 and rows(text)["fc"] == 32_769


def test_mobilenet_v2_matches_keras_counts():
    assert totals(nn.summary(MobileNetV2(), print_fn=None)) == (3_538_984, 3_504_872, 34_112)


def test_lenet5_classic_count_and_mnist_padding():
    assert sum(p.size for p in LeNet5().parameters()) == 61_706
    assert LeNet5(image_size=28)(ngrad.randn(2, 1, 28, 28)).shape == (2, 10)
    assert LeNet5(image_size=8)(ngrad.randn(1, 1, 8, 8)).shape == (1, 10)  # padded to 32


def test_too_small_images_are_a_clear_error():
    with pytest.raises(ValueError, match="HappyModel: image_size 1 is too small"):
        HappyModel(image_size=1)


# ------------------------------------------------------------------ the course's block tests
def _course_block_input():
    X = np.concatenate([np.full((1, 4, 4, 3), v) for v in (-1.0, 1.0, 3.0)]).astype(np.float32)
    return ngrad.tensor(X.transpose(0, 3, 1, 2))  # NHWC -> NCHW


def _ones_kernels(block):
    for name, p in block.named_parameters():
        if name.startswith("conv") and name.endswith("weight"):
            init.ones_(p)
    return block


@pytest.mark.parametrize("training,filters,expected", [
    (False, [4, 4, 3], [[[0, 0, 0, 0], [0, 0, 0, 0]],
                        [[192.71236, 192.71236, 192.71236, 96.85619], [96.85619, 96.85619, 96.85619, 48.9281]],
                        [[578.1371, 578.1371, 578.1371, 290.5685], [290.5685, 290.5685, 290.5685, 146.78427]]]),
    (True, [3, 3, 3], [[[0, 0, 0, 0], [0, 0, 0, 0]],
                       [[0.40739, 0.40739, 0.40739, 0.40739], [0.40739, 0.40739, 0.40739, 0.40739]],
                       [[4.99991, 4.99991, 4.99991, 3.25948], [3.25948, 3.25948, 3.25948, 2.40739]]]),
])
def test_identity_block_course_test(training, filters, expected):
    """The 2021+ notebook's identity_block test: constant-1 kernels, Keras BatchNorm, 'same' f=2."""
    block = _ones_kernels(IdentityBlock(3, 2, filters)).train(training)
    A = block(_course_block_input()).numpy().transpose(0, 2, 3, 1)  # back to NHWC
    assert A.shape == (3, 4, 4, 3) and (A >= 0).all()
    np.testing.assert_allclose(A[:, (0, -1), :, :].mean(axis=3), expected, atol=1e-4)


def test_conv_block_shapes_and_errors():
    block = ConvBlock(3, 3, [2, 4, 6], stride=2)
    assert block(ngrad.randn(2, 3, 15, 15)).shape == (2, 6, 8, 8)
    with pytest.raises(ValueError, match=r"IdentityBlock: in_channels \(3\) must equal filters\[2\] \(6\)"):
        IdentityBlock(3, 3, [2, 4, 6])


# ------------------------------------------------------------------ gradchecks of the blocks
@pytest.mark.parametrize("make,shape", [
    (lambda: IdentityBlock(3, 2, [2, 2, 3]), (2, 3, 3, 3)),
    (lambda: ConvBlock(2, 3, [2, 2, 3], stride=2), (2, 2, 4, 4)),
    (lambda: BasicBlock(2, 3, stride=2), (2, 2, 4, 4)),
    (lambda: BasicBlock(2, 2), (2, 2, 3, 3)),
    (lambda: InvertedResidual(2, 2, stride=1, expand_ratio=2), (2, 2, 3, 3)),
    (lambda: InvertedResidual(2, 3, stride=2, expand_ratio=1), (2, 2, 4, 4)),
    (lambda: InceptionModule(2, 1, 1, 2, 1, 1, 1), (1, 2, 3, 3)),
], ids=["identity", "conv", "basic-s2", "basic", "inverted-res", "inverted-s2", "inception"])
def test_block_gradcheck(make, shape):
    """Seeded weights and non-zero biases: with zero biases a window of dead-ReLU zeros
    gives a pre-activation of exactly 0, a kink where finite differences disagree."""
    ngrad.manual_seed(0)
    block = make().to(ngrad.float64)
    rng = np.random.default_rng(1)
    for name, p in block.named_parameters():
        if name.endswith("bias"):
            p.numpy()[...] = rng.uniform(0.05, 0.5, p.shape) * rng.choice([-1, 1], p.shape)
    x = np.random.default_rng(0).standard_normal(shape) * 2 + 0.3
    result = ngrad.gradcheck(block, x, params=list(block.parameters()))
    assert result.passed, str(result)


def test_inverted_residual_adds_the_input_only_when_shapes_allow():
    assert InvertedResidual(8, 8, 1, 6).use_residual
    assert not InvertedResidual(8, 16, 1, 6).use_residual and not InvertedResidual(8, 8, 2, 6).use_residual
    block = InvertedResidual(4, 4, 1, 2).eval()
    for p in block.project[0].parameters():
        init.zeros_(p)
    x = ngrad.randn(1, 4, 5, 5)
    np.testing.assert_allclose(block(x).numpy(), x.numpy(), atol=1e-6)  # zero projection: only the shortcut


# ------------------------------------------------------------------ shapes, training, saving
@pytest.mark.parametrize("model,shape,out", [
    (SignsConvNet(), (2, 3, 64, 64), (2, 6)),
    (HappyModel(probabilities=True), (2, 3, 64, 64), (2, 1)),
    (resnet8(6, stem_stride=2), (2, 3, 64, 64), (2, 6)),
    (resnet14(10), (2, 3, 32, 32), (2, 10)),
    (InceptionNet(5), (2, 3, 16, 16), (2, 5)),
    (mobilenet_v2_small(6), (2, 3, 32, 32), (2, 6)),
    (LeNet5(activation="relu", pooling="max"), (2, 1, 32, 32), (2, 10)),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
def test_forward_backward_shapes(model, shape, out):
    y = model(ngrad.randn(*shape))
    assert y.shape == out
    y.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_happy_model_probabilities_are_in_0_1():
    y = HappyModel(probabilities=True).eval()(ngrad.randn(3, 3, 64, 64)).numpy()
    assert ((y > 0) & (y < 1)).all()


@pytest.mark.parametrize("make", [SignsConvNet, HappyModel, lambda: resnet8(4), lambda: mobilenet_v2_small(3),
                                  lambda: InceptionNet(3), LeNet5],
                         ids=["signs", "happy", "resnet8", "mobilenet", "inception", "lenet"])
def test_save_model_load_model_round_trip(tmp_path, make):
    model = make()
    size = 32 if not isinstance(model, (SignsConvNet, HappyModel)) else 64
    channels = 1 if isinstance(model, LeNet5) else 3
    x = ngrad.randn(2, channels, size, size)
    model(x)  # running statistics move
    model.eval()
    ngrad.save_model(model, tmp_path / "m.npz")
    clone = ngrad.load_model(tmp_path / "m.npz").eval()
    assert type(clone) is type(model) and clone.args == model.args
    np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())


def test_a_replaced_head_is_saved_as_it_is(tmp_path):
    model = mobilenet_v2_small(10)
    model[-1] = nn.Linear(256, 3)
    ngrad.save_model(model, tmp_path / "m.npz")
    clone = ngrad.load_model(tmp_path / "m.npz")
    assert clone.classifier.out_features == 3


def test_small_resnet_learns_a_toy_task():
    """Bright vs dark images: a few Adam steps separate them (training runs end to end)."""
    ngrad.manual_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 32)
    X = (rng.standard_normal((32, 3, 8, 8)) * 0.5 + (2 * y - 1)[:, None, None, None]).astype(np.float32)
    model = ngrad.Model(resnet8(2))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.01)
    history = model.fit(X, y, epochs=4, batch_size=16, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.8


# ------------------------------------------------------------------ docstring examples
DOC_MODULES = ["ngrad.nn.layers.conv", "ngrad.nn.layers.pooling", "ngrad.nn.layers.normalization_conv",
               "ngrad.ops.batchnorm2d", "ngrad.models.lenet", "ngrad.models.course", "ngrad.models.resnet",
               "ngrad.models.inception", "ngrad.models.mobilenet", "ngrad.data.augment", "ngrad.nn.transfer"]


@pytest.mark.parametrize("name", DOC_MODULES)
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
