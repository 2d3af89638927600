"""Train / dev / test splits: sizes, stratification, seeds, train-dev sets, sources."""
import numpy as np
import pytest

import ngrad
from ngrad.data.split import check_same_distribution, split_indices, train_dev_split, train_dev_test_split


def _disjoint_cover(parts, m):
    allidx = np.concatenate(parts)
    assert len(allidx) == len(set(allidx.tolist()))
    return len(allidx) == m


def test_default_is_98_1_1_for_large_data():
    idx = split_indices(1_000_000)
    assert [len(i) for i in idx] == [980_000, 10_000, 10_000]
    assert _disjoint_cover(idx, 1_000_000)


def test_fractions_and_counts():
    X = np.arange(100)
    tr, dv, te = train_dev_test_split(X, fractions=(0.6, 0.2, 0.2))
    assert (len(tr), len(dv), len(te)) == (60, 20, 20)
    assert sorted(np.concatenate([tr, dv, te]).tolist()) == list(range(100))
    tr, dv, te = train_dev_test_split(X, counts=(None, 5, 7))
    assert (len(tr), len(dv), len(te)) == (88, 5, 7)
    tr, dv, te = train_dev_test_split(X, counts=(50, 5, 7))
    assert (len(tr), len(dv), len(te)) == (50, 5, 7)


def test_small_fraction_rounds_up_to_one_example():
    tr, dv, te = train_dev_test_split(np.arange(150))
    assert (len(dv), len(te)) == (2, 2)
    assert len(tr) == 146


def test_pairs_stay_aligned_and_order_is_sklearn_like():
    X = np.arange(50)[:, None] * np.ones((1, 3))
    y = np.arange(50)
    X_tr, X_dv, X_te, y_tr, y_dv, y_te = train_dev_test_split(X, y, fractions=(0.8, 0.1, 0.1))
    for Xs, ys in ((X_tr, y_tr), (X_dv, y_dv), (X_te, y_te)):
        np.testing.assert_array_equal(Xs[:, 0], ys)


def test_seeded():
    a = train_dev_test_split(np.arange(100), fractions=(0.8, 0.1, 0.1), seed=3)
    b = train_dev_test_split(np.arange(100), fractions=(0.8, 0.1, 0.1), seed=3)
    c = train_dev_test_split(np.arange(100), fractions=(0.8, 0.1, 0.1), seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_no_shuffle_keeps_order():
    tr, dv, te = train_dev_test_split(np.arange(10), counts=(6, 2, 2), shuffle=False)
    assert tr.tolist() == list(range(6)) and dv.tolist() == [6, 7] and te.tolist() == [8, 9]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratified_proportions(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=1000, p=[0.7, 0.2, 0.1])
    y_tr, y_dv, y_te = train_dev_test_split(y, fractions=(0.8, 0.1, 0.1), stratify=y, seed=seed)
    overall = np.bincount(y, minlength=3) / len(y)
    for part in (y_tr, y_dv, y_te):
        counts = np.bincount(part, minlength=3)
        # each class count is within one example of its exact share
        assert np.all(np.abs(counts - overall * len(part)) <= 1.0 + 1e-9)
    assert (len(y_tr), len(y_dv), len(y_te)) == (800, 100, 100)


def test_tensors_split_along_axis_0():
    X = ngrad.tensor(np.arange(40.0).reshape(20, 2))
    y = np.arange(20)
    X_tr, X_dv, X_te, y_tr, y_dv, y_te = train_dev_test_split(X, y, counts=(10, 5, 5))
    assert isinstance(X_tr, ngrad.Tensor) and X_tr.shape == (10, 2)
    np.testing.assert_array_equal(X_dv.numpy()[:, 0] / 2, y_dv)


def test_lists_split():
    names = [f"img{i}" for i in range(10)]
    tr, dv, te = train_dev_test_split(names, counts=(6, 2, 2))
    assert isinstance(tr, list) and sorted(tr + dv + te) == sorted(names)


def test_train_dev_option_carves_from_training():
    X = np.arange(1000)
    tr, tdv, dv, te = train_dev_test_split(X, fractions=(0.8, 0.1, 0.1), train_dev=0.1)
    assert (len(tr), len(tdv), len(dv), len(te)) == (720, 80, 100, 100)
    assert _disjoint_cover([tr, tdv, dv, te], 1000)
    tr, tdv, dv, te = train_dev_test_split(X, fractions=(0.8, 0.1, 0.1), train_dev=50)
    assert len(tdv) == 50 and len(tr) == 750


def test_train_dev_split():
    X, y = np.arange(200).reshape(100, 2), np.arange(100) % 4
    X_tr, X_tdv, y_tr, y_tdv = train_dev_split(X, y, fraction=0.2, stratify=y)
    assert len(y_tdv) == 20 and np.all(np.bincount(y_tdv) == 5)
    assert len(X_tr) == 80
    _, tdv = train_dev_split(np.arange(10), count=3)
    assert len(tdv) == 3


def test_dev_sources_course_example():
    """200 000 web images and 10 000 mobile-app images: dev and test come from mobile only."""
    sources = np.array(["web"] * 2000 + ["mobile"] * 100)
    X = np.arange(len(sources))
    tr, tdv, dv, te = train_dev_test_split(
        X, counts=(None, 25, 25), sources=sources, dev_sources=["mobile"], train_dev=0.05
    )
    assert set(sources[dv]) == {"mobile"} and set(sources[te]) == {"mobile"}
    assert (sources[tr] == "mobile").sum() + (sources[tdv] == "mobile").sum() == 50
    assert len(tr) + len(tdv) == 2050
    assert _disjoint_cover([tr, tdv, dv, te], 2100)


def test_sources_mixed_dev_and_test_share_the_mix():
    rng = np.random.default_rng(0)
    sources = rng.choice(["a", "b", "c"], size=600, p=[0.5, 0.3, 0.2])
    tr, dv, te = train_dev_test_split(np.arange(600), fractions=(0.6, 0.2, 0.2), sources=sources)
    check_same_distribution(sources[dv], sources[te])


def test_split_too_small_for_the_source_mix_names_the_sources():
    with pytest.raises(ValueError, match=r"source 'a' is in dev \(1 example\) but not in test; source 'b' is in test"):
        train_dev_test_split(np.arange(3), counts=(1, 1, 1), sources=["a", "a", "b"], seed=0)


def test_check_same_distribution_names_the_sources():
    with pytest.raises(ValueError, match=r"'web'.*in dev.*not in test"):
        check_same_distribution(["web", "mobile", "mobile"], ["mobile", "mobile"])
    with pytest.raises(ValueError, match=r"'mobile' is 90\.0% of dev but 10\.0% of test"):
        check_same_distribution(["mobile"] * 90 + ["web"] * 10, ["mobile"] * 10 + ["web"] * 90)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(fractions=(0.5, 0.3, 0.3)), "sum to 1"),
        (dict(fractions=(0.5, 0.5)), "three"),
        (dict(fractions=(1.2, -0.1, -0.1)), "non-negative"),
        (dict(counts=(50, 30, 30)), "only 100 are available"),
        (dict(counts=(None, None, 3)), "at most one"),
        (dict(counts=(1.5, 3, 3)), "integer"),
        (dict(fractions=(0.9, 0.05, 0.05), counts=(1, 1, 1)), "not both"),
        (dict(train_dev=2.0), r"\(0, 1\)"),
        (dict(train_dev=1000), "does not fit"),
        (dict(dev_sources=["x"]), "needs sources"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_dev_test_split(np.arange(100), **kwargs)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="same number of examples"):
        train_dev_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match="never appear"):
        train_dev_test_split(np.arange(4), sources=["a"] * 4, dev_sources=["b"], fractions=(0.5, 0.25, 0.25))


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("ngrad.data.split"), optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
