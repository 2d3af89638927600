"""ngrad.nn.transfer: freezing (with Keras's frozen BatchNorm), fine-tuning from layer k,
replacing the head and loading weights by name with a report."""
import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.models import mobilenet_v2_small, resnet8
from ngrad.nn.layers.conv import Conv2D
from ngrad.nn.layers.normalization_conv import BatchNorm2d
from ngrad.nn.layers.pooling import GlobalAvgPool2D
from ngrad.nn.transfer import (
    MatchReport,
    freeze,
    freeze_until,
    is_frozen,
    layers,
    load_matching,
    replace_head,
    unfreeze,
)


def small_cnn(classes=3):
    return nn.Sequential(Conv2D(3, 4, 3, padding="same"), BatchNorm2d(4), nn.ReLU(), GlobalAvgPool2D(),
                         nn.Linear(4, classes))


def data(n=16, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 6, 6)).astype(np.float32) + 2.0, rng.integers(0, classes, n)


# ------------------------------------------------------------------ freezing
def test_freeze_and_unfreeze_everything():
    model = small_cnn()
    freeze(model)
    assert not any(p.requires_grad for p in model.parameters()) and model[1].frozen and is_frozen(model)
    assert "Trainable params: 0" in nn.summary(model, print_fn=None)
    unfreeze(model)
    assert all(p.requires_grad for p in model.parameters()) and not model[1].frozen


def test_frozen_base_is_unchanged_by_fit_even_in_training_mode():
    """Keras semantics: a frozen BatchNorm uses and keeps its running statistics."""
    model = small_cnn()
    X, y = data()
    model.train()
    model(ngrad.tensor(X))  # some running statistics to keep
    base = nn.Sequential(*list(model)[:4])
    freeze(base)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    fit = ngrad.Model(model)
    fit.compile(optimizer="adam", loss="cross_entropy", lr=0.05)
    fit.fit(X, y, epochs=2, batch_size=8, verbose=0, seed=0)
    after = model.state_dict()
    for k in before:
        if k.startswith("4."):
            assert not np.array_equal(after[k], before[k]), k  # the head learned
        else:
            np.testing.assert_array_equal(after[k], before[k], err_msg=k)  # the base did not move at all
    # and in training mode the frozen BN normalises with its running statistics: train == eval outputs
    model.train()
    np.testing.assert_allclose(model(ngrad.tensor(X)).numpy(), model.eval()(ngrad.tensor(X)).numpy(), rtol=1e-6)


def test_plain_requires_grad_false_keeps_pytorch_batchnorm():
    bn = BatchNorm2d(2)
    bn.requires_grad_(False)
    bn(ngrad.randn(4, 2, 3, 3) + 3.0)
    assert bn.running_mean.numpy().min() > 0.1 and not bn.frozen


def test_frozen_batchnorm1d_runs_in_eval_mode():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    freeze(model, "1")
    model.train()
    model(ngrad.randn(8, 3) + 5.0)
    assert not model[1].running_mean.numpy().any() and int(model[1].num_batches_tracked.item()) == 0
    assert model[1].training  # the mode is restored after each call
    unfreeze(model)
    model(ngrad.randn(8, 3) + 5.0)
    assert model[1].running_mean.numpy().any()


def test_freeze_by_name_pattern():
    model = resnet8(4)
    freeze(model, ["conv1", "bn1", "stage1*"])
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith(("conv1", "bn1", "stage1")) for n in frozen)
    assert model.stage1[0].bn1.frozen and not model.stage2[0].bn1.frozen
    with pytest.raises(KeyError, match="no layer of ResNet matches 'stage9'"):
        freeze(model, "stage9")


def test_freeze_until_by_index_negative_index_and_name():
    model = mobilenet_v2_small(5)
    leaves = layers(model)
    assert leaves[-1][0] == "classifier" and leaves[0][0] == "features.0"
    k = freeze_until(model, 10)
    assert k == 10
    assert all(is_frozen(m) for _, m in leaves[:10] if list(m.parameters()))
    assert not any(is_frozen(m) for _, m in leaves[10:] if list(m.parameters()))
    assert freeze_until(model, -1) == len(leaves) - 1 and model.classifier.weight.requires_grad
    assert not model.features[0].weight.requires_grad
    assert freeze_until(model, "classifier") == len(leaves) - 1
    assert freeze_until(model, 0) == 0 and all(p.requires_grad for p in model.parameters())
    with pytest.raises(KeyError, match="no layer named 'head'"):
        freeze_until(model, "head")
    with pytest.raises(IndexError):
        freeze_until(model, len(leaves) + 1)


def test_replace_head_returns_the_old_one_and_trains_the_new():
    model = mobilenet_v2_small(10)
    freeze(model)
    old = replace_head(model, nn.Linear(256, 2))
    assert isinstance(old, nn.Linear) and old.out_features == 10
    assert model(ngrad.randn(2, 3, 16, 16)).shape == (2, 2) and model.classifier.weight.requires_grad
    with pytest.raises(KeyError, match="no child 'head'"):
        replace_head(model, nn.Identity(), "head")


# ------------------------------------------------------------------ loading by name
@pytest.mark.parametrize("suffix", ["safetensors", "npz"])
def test_load_matching_reports_matched_missing_unexpected_mismatched(tmp_path, suffix):
    if suffix == "safetensors":
        pytest.importorskip("safetensors")
    pretrained = mobilenet_v2_small(10)
    path = tmp_path / f"pretrained.{suffix}"
    ngrad.save_weights(pretrained, path)
    target = mobilenet_v2_small(3)  # a new head: classifier shapes differ
    report = load_matching(target, path)
    assert isinstance(report, MatchReport) and not report.ok
    assert sorted(report.mismatched) == [("classifier.bias", (10,), (3,)), ("classifier.weight", (10, 256), (3, 256))]
    assert not report.missing and not report.unexpected
    assert len(report.matched) == len(target.state_dict()) - 2
    for key in report.matched:
        np.testing.assert_array_equal(target.state_dict()[key], pretrained.state_dict()[key])
    assert not np.array_equal(target.classifier.weight.numpy()[:3], pretrained.classifier.weight.numpy()[:3])
    text = str(report)
    assert "shape mismatch (kept): classifier.weight: file (10, 256) vs model (3, 256)" in text


def test_load_matching_missing_unexpected_strict_and_prefix(tmp_path):
    source = nn.Sequential({"features": small_cnn()[:2], "extra": nn.Linear(2, 2)})
    state = source.state_dict()
    target = nn.Sequential({"features": small_cnn()[:2], "head": nn.Linear(4, 3)})
    before = {k: v.copy() for k, v in target.state_dict().items()}
    with pytest.raises(RuntimeError, match="nothing loaded"):
        load_matching(target, state, strict=True)
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    report = load_matching(target, state)
    assert report.missing == ["head.weight", "head.bias"] and report.unexpected == ["extra.weight", "extra.bias"]
    assert "features.1.running_var" in report.matched
    base = small_cnn()[:2]
    only = load_matching(base, state, prefix="features.")
    assert only.ok and len(only.matched) == len(base.state_dict())


def test_load_matching_from_a_checkpoint(tmp_path):
    model = small_cnn()
    ngrad.save_checkpoint(model, tmp_path / "ckpt.npz")
    fresh = small_cnn()
    assert load_matching(fresh, tmp_path / "ckpt.npz", strict=True).ok
    np.testing.assert_array_equal(fresh[0].weight.numpy(), model[0].weight.numpy())
