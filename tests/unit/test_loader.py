"""Mini-batching (the course recipe and DataLoader) and Standardizer."""
import json
import math

import numpy as np
import pytest

from ngrad.data.loader import DataLoader, random_mini_batches
from ngrad.data.preprocessing import Standardizer
from ngrad.errors import ShapeError


def course_random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The course's C2W2 function, verbatim in substance (column layout)."""
    np.random.seed(seed)
    m = X.shape[1]
    mini_batches = []
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    num_complete_minibatches = math.floor(m / mini_batch_size)
    for k in range(num_complete_minibatches):
        mini_batch_X = shuffled_X[:, k * mini_batch_size:(k + 1) * mini_batch_size]
        mini_batch_Y = shuffled_Y[:, k * mini_batch_size:(k + 1) * mini_batch_size]
        mini_batches.append((mini_batch_X, mini_batch_Y))
    if m % mini_batch_size != 0:
        mini_batch_X = shuffled_X[:, num_complete_minibatches * mini_batch_size:]
        mini_batch_Y = shuffled_Y[:, num_complete_minibatches * mini_batch_size:]
        mini_batches.append((mini_batch_X, mini_batch_Y))
    return mini_batches


@pytest.fixture
def course_data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((12, 148)), (rng.random((1, 148)) > 0.5).astype(float)


@pytest.mark.parametrize("size", [64, 32, 148, 7])
def test_random_mini_batches_matches_course(course_data, size):
    X, Y = course_data
    ours = random_mini_batches(X, Y, mini_batch_size=size, seed=3)
    theirs = course_random_mini_batches(X, Y, mini_batch_size=size, seed=3)
    assert [b[0].shape for b in ours] == [b[0].shape for b in theirs]
    for (x1, y1), (x2, y2) in zip(ours, theirs):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_random_mini_batches_sizes_and_contents(course_data):
    X, Y = course_data
    batches = random_mini_batches(X, Y, 64, seed=0)
    assert [b[0].shape[1] for b in batches] == [64, 64, 20]
    perm = np.random.RandomState(0).permutation(148)
    np.testing.assert_array_equal(batches[0][0], X[:, perm[:64]])
    np.testing.assert_array_equal(batches[-1][0], X[:, perm[128:]])
    np.testing.assert_array_equal(batches[-1][1], Y[:, perm[128:]])


def test_random_mini_batches_row_layout_equals_column_layout(course_data):
    X, Y = course_data
    cols = random_mini_batches(X, Y, 64, seed=5)
    rows = random_mini_batches(X.T, Y.ravel(), 64, seed=5, axis=0)
    for (xc, yc), (xr, yr) in zip(cols, rows):
        np.testing.assert_array_equal(xc.T, xr)
        np.testing.assert_array_equal(yc.ravel(), yr)


def test_random_mini_batches_leaves_global_generator_alone(course_data):
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    random_mini_batches(*course_data, 64, seed=0)
    assert np.random.random() == expected


def test_random_mini_batches_length_mismatch():
    with pytest.raises(ShapeError, match="different numbers of examples"):
        random_mini_batches(np.zeros((3, 10)), np.zeros((1, 9)))


def test_loader_batches_cover_data_once():
    X = np.arange(50).reshape(25, 2)
    y = np.arange(25)
    loader = DataLoader(X, y, batch_size=8, shuffle=True, seed=0)
    assert len(loader) == 4
    seen = [yb for _, yb in loader]
    assert [len(b) for b in seen] == [8, 8, 8, 1]
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), y)
    for xb, yb in DataLoader(X, y, batch_size=8, shuffle=True, seed=0):
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)


def test_loader_no_shuffle_and_drop_last():
    y = np.arange(10)
    loader = DataLoader(y, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_loader_deterministic_and_new_order_each_epoch():
    y = np.arange(30)
    a, b = DataLoader(y, batch_size=30, shuffle=True, seed=4), DataLoader(y, batch_size=30, shuffle=True, seed=4)
    e1a, e2a = next(iter(a))[0], next(iter(a))[0]
    e1b = next(iter(b))[0]
    np.testing.assert_array_equal(e1a, e1b)
    assert not np.array_equal(e1a, e2a)


def test_loader_length_mismatch_names_shapes():
    with pytest.raises(ShapeError, match=r"\(10, 3\).*\(9,\)"):
        DataLoader(np.zeros((10, 3)), np.zeros(9))


def test_loader_bad_batch_size():
    with pytest.raises(ValueError, match="positive integer"):
        DataLoader(np.zeros(3), batch_size=0)


def _epochs(loader, n_epochs):
    return [[yb.copy() for (yb,) in loader] for _ in range(n_epochs)]


@pytest.mark.parametrize("shuffle", [True, False])
def test_loader_resumes_mid_epoch(shuffle):
    y = np.arange(23)
    reference = _epochs(DataLoader(y, batch_size=5, shuffle=shuffle, seed=7), 3)

    first = DataLoader(y, batch_size=5, shuffle=shuffle, seed=7)
    got = _epochs(first, 1)
    it = iter(first)
    got.append([next(it)[0].copy(), next(it)[0].copy()])
    state = json.loads(json.dumps(first.state_dict()))  # survives JSON

    second = DataLoader(y, batch_size=5, shuffle=shuffle, seed=999)
    second.load_state_dict(state)
    got[1] += [yb.copy() for (yb,) in second]
    got += _epochs(second, 1)
    assert second.epoch == 3
    for e_ref, e_got in zip(reference, got):
        assert len(e_ref) == len(e_got)
        for a, b in zip(e_ref, e_got):
            np.testing.assert_array_equal(a, b)


def test_loader_resumes_between_epochs():
    y = np.arange(12)
    reference = _epochs(DataLoader(y, batch_size=5, shuffle=True, seed=1), 2)
    first = DataLoader(y, batch_size=5, shuffle=True, seed=1)
    _epochs(first, 1)
    second = DataLoader(y, batch_size=5, shuffle=True, seed=2)
    second.load_state_dict(first.state_dict())
    for a, b in zip(reference[1], _epochs(second, 1)[0]):
        np.testing.assert_array_equal(a, b)


def test_loader_state_mismatch():
    state = DataLoader(np.arange(10), batch_size=5).state_dict()
    with pytest.raises(ValueError, match="num_samples"):
        DataLoader(np.arange(11), batch_size=5).load_state_dict(state)


def test_standardizer_fit_transform_inverse():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(200, 4)).astype(np.float32)
    X[:, 2] = 5.0  # constant feature: centred, not divided by zero
    s = Standardizer().fit(X)
    Z = s.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z[:, [0, 1, 3]].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(Z[:, 2], 0)
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-5, atol=1e-5)


def test_standardizer_column_layout_and_config_roundtrip():
    X = np.random.default_rng(1).normal(size=(3, 50))
    s = Standardizer(axis=1).fit(X)
    assert s.mean.shape == (3,)
    clone = Standardizer.from_config(json.loads(json.dumps(s.get_config())))
    np.testing.assert_array_equal(clone.transform(X), s.transform(X))


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(np.zeros((2, 2)))
    s = Standardizer().fit(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match="cannot apply"):
        s.transform(np.zeros((4, 5)))
