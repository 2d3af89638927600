"""Data augmentation: flips, rotations, translations, pad-and-crop as functions and as layers."""
import json

import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.data.augment import (
    RandomFlip,
    RandomPadCrop,
    RandomRotation,
    RandomTranslation,
    data_augmenter,
    random_flip,
    random_pad_crop,
    random_rotation,
    random_translation,
    rotation_matrices,
    warp,
)


def batch(n=4, c=3, h=6, w=5, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize("fn,args", [
    (random_flip, ("horizontal_and_vertical",)), (random_rotation, (0.2,)), (random_translation, (0.2, 0.1)),
    (random_pad_crop, (2,)),
], ids=["flip", "rotation", "translation", "pad_crop"])
def test_same_seed_same_result_other_seed_other_result(fn, args):
    X = batch(8)
    a, b, c = fn(X, *args, rng=3), fn(X, *args, rng=3), fn(X, *args, rng=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == X.shape and a.dtype == X.dtype


def test_library_generator_is_the_default():
    X = batch(8)
    ngrad.manual_seed(5)
    a = random_rotation(X, 0.3)
    ngrad.manual_seed(5)
    np.testing.assert_array_equal(random_rotation(X, 0.3), a)


# ------------------------------------------------------------------ what each one does
def test_flip_flips_whole_images_or_leaves_them():
    X = batch(16)
    Y = random_flip(X, rng=0)
    flipped = [np.array_equal(y, x[:, :, ::-1]) for x, y in zip(X, Y)]
    kept = [np.array_equal(y, x) for x, y in zip(X, Y)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    V = random_flip(X, "vertical", rng=0)
    assert all(np.array_equal(v, x[:, ::-1]) or np.array_equal(v, x) for x, v in zip(X, V))


def test_rotation_by_quarter_turns_is_rot90():
    X = np.arange(2 * 1 * 5 * 5, dtype=np.float64).reshape(2, 1, 5, 5)
    matrix, offset = rotation_matrices([np.pi / 2, -np.pi / 2], 5, 5)
    for interpolation in ("nearest", "bilinear"):
        Y = warp(X, matrix, offset, interpolation, "constant")
        np.testing.assert_allclose(Y[0, 0], np.rot90(X[0, 0]), atol=1e-9)  # counter-clockwise
        np.testing.assert_allclose(Y[1, 0], np.rot90(X[1, 0], -1), atol=1e-9)


def test_rotation_keeps_the_centre_and_angles_stay_in_range():
    X = batch(16, h=7, w=7)
    Y = random_rotation(X, 0.2, rng=1)
    np.testing.assert_allclose(Y[:, :, 3, 3], X[:, :, 3, 3], atol=1e-6)  # the centre pixel does not move
    Z = random_rotation(X, (0.0, 0.0), rng=1)
    np.testing.assert_allclose(Z, X, atol=1e-6)  # a zero range is the identity


@pytest.mark.parametrize("mode,expected", [
    ("constant", [9, 9, 0, 1, 2]),
    ("nearest", [0, 0, 0, 1, 2]),
    ("reflect", [1, 0, 0, 1, 2]),
    ("wrap", [3, 4, 0, 1, 2]),
])
def test_fill_modes_on_a_whole_pixel_shift(mode, expected):
    X = np.arange(5, dtype=np.float64).reshape(1, 1, 1, 5)
    Y = warp(X, np.eye(2)[None], [[0.0, -2.0]], "bilinear", mode, fill_value=9.0)
    np.testing.assert_array_equal(Y[0, 0, 0], expected)


def test_translation_by_whole_pixels_is_a_shift():
    X = batch(1, h=6, w=6)
    Y = random_translation(X, (0.5, 0.5), (-1 / 3, -1 / 3), fill_mode="constant", interpolation="nearest", rng=0)
    np.testing.assert_array_equal(Y[0, :, 3:, :4], X[0, :, :3, 2:])  # 3 down, 2 left
    assert not Y[0, :, :3].any() and not Y[0, :, :, 4:].any()


def test_pad_crop_is_a_bounded_whole_pixel_shift():
    X = batch(16, c=1, h=8, w=8) + 10.0  # no zeros inside the images
    Y = random_pad_crop(X, 2, rng=0)
    for x, y in zip(X, Y):
        inside = y[y != 0]
        assert inside.size >= 6 * 6 and np.isin(inside, x).all()


def test_channels_last_matches_channels_first():
    X = batch(6)
    a = random_rotation(X, 0.25, rng=2)
    b = random_rotation(X.transpose(0, 2, 3, 1), 0.25, rng=2, data_format="channels_last")
    np.testing.assert_allclose(b.transpose(0, 3, 1, 2), a, atol=1e-6)


def test_uint8_images():
    X = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    assert random_flip(X, rng=0, data_format="channels_last").dtype == np.uint8
    assert random_rotation(X, 0.1, interpolation="nearest", rng=0, data_format="channels_last").dtype == np.uint8
    Y = random_rotation(X, 0.1, rng=0, data_format="channels_last")
    assert Y.dtype == np.float32 and 0 <= Y.min() and Y.max() <= 255


def test_bad_arguments():
    with pytest.raises(ValueError, match="random_flip: mode must be one of"):
        random_flip(batch(), "diagonal")
    with pytest.raises(ValueError, match="fill_mode must be one of"):
        random_rotation(batch(), 0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"expected a batch of images .* got shape \(3, 4\)"):
        random_translation(np.zeros((3, 4)), 0.1)
    with pytest.raises(ValueError, match="lower > upper"):
        RandomRotation((0.2, 0.1))


# ------------------------------------------------------------------ layers
def test_layers_are_identity_in_eval_and_random_in_training():
    X = ngrad.tensor(batch(8))
    for layer in (RandomFlip(rng=0), RandomRotation(0.2, rng=0), RandomTranslation(0.2, rng=0),
                  RandomPadCrop(2, rng=0)):
        layer.eval()
        assert layer(X) is X
        layer.train()
        Y = layer(X)
        assert Y.shape == X.shape and not np.array_equal(Y.numpy(), X.numpy()) and not Y.requires_grad


def test_seeded_layer_repeats_across_instances_and_draws_anew_per_call():
    X = ngrad.tensor(batch(8))
    a, b = RandomRotation(0.2, rng=7), RandomRotation(0.2, rng=7)
    first = a(X).numpy()
    np.testing.assert_array_equal(b(X).numpy(), first)
    assert not np.array_equal(a(X).numpy(), first)


def test_layer_refuses_inputs_that_need_gradients():
    with pytest.raises(RuntimeError, match="RandomFlip .* passes no gradient back; put it first"):
        RandomFlip()(ngrad.randn(2, 1, 3, 3, requires_grad=True))


def test_course_data_augmenter_and_config_round_trip():
    aug = data_augmenter(rng=0)
    assert [type(m).__name__ for m in aug] == ["RandomFlip", "RandomRotation"]
    assert aug[1].factor == (-0.2, 0.2)
    clone = nn.from_config(json.loads(json.dumps(nn.to_config(aug))))
    X = ngrad.tensor(batch(4))
    np.testing.assert_array_equal(clone(X).numpy(), aug(X).numpy())  # same seeds, same draws


def test_augmentation_inside_a_trained_model():
    """Active in fit, off in evaluate/predict."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 32)
    X = (rng.standard_normal((32, 1, 6, 6)) * 0.3 + (2 * y - 1)[:, None, None, None]).astype(np.float32)
    calls = []
    flip = RandomFlip(rng=0)
    flip.register_forward_hook(lambda m, args, out: calls.append(m.training))
    model = ngrad.Model(nn.Sequential(flip, nn.Flatten(), nn.Linear(36, 2)))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.05)
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=0)
    model.evaluate(X, y, verbose=0)
    assert calls == [True] * 4 + [False]  # 2 epochs of 2 batches, then one evaluation batch
