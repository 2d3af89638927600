"""ngrad.data.datasets: the course's generated sets drawn exactly, its files, bundled sets, helpers."""
from pathlib import Path

import numpy as np
import pytest

from ngrad.data import datasets as D
from ngrad.errors import DTypeError, ShapeError

sklearn_datasets = pytest.importorskip("sklearn.datasets")

REPO = Path(__file__).resolve().parents[2]
COURSE_DATA = REPO.parent / "shared" / "data" / "coursera"  # the course's data directory, if present


@pytest.fixture
def global_np_state():
    """The course's recipes seed NumPy's global generator; put it back afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.fixture
def course_data():
    if not (COURSE_DATA / "cat_vs_noncat" / "train_catvnoncat.h5").is_file():
        pytest.skip(f"the course's data directory is not at {COURSE_DATA}")
    return COURSE_DATA


# ------------------------------------------------ the course's recipes, as written
def course_flower():
    np.random.seed(1)
    m, N, D_, a = 400, 200, 2, 4
    X = np.zeros((m, D_))
    Y = np.zeros((m, 1), dtype="uint8")
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def course_circles():
    np.random.seed(1)
    train_X, train_Y = sklearn_datasets.make_circles(n_samples=300, noise=.05)
    np.random.seed(2)
    test_X, test_Y = sklearn_datasets.make_circles(n_samples=100, noise=.05)
    return train_X.T, train_Y.reshape((1, 300)), test_X.T, test_Y.reshape((1, 100))


def course_moons():
    np.random.seed(3)
    train_X, train_Y = sklearn_datasets.make_moons(n_samples=300, noise=.2)
    return train_X.T, train_Y.reshape((1, 300))


def course_extra(seed):
    np.random.seed(seed)
    N = 200
    noisy_circles = sklearn_datasets.make_circles(n_samples=N, factor=.5, noise=.3)
    noisy_moons = sklearn_datasets.make_moons(n_samples=N, noise=.2)
    blobs = sklearn_datasets.make_blobs(n_samples=N, random_state=5, n_features=2, centers=6)
    gaussian_quantiles = sklearn_datasets.make_gaussian_quantiles(
        mean=None, cov=0.5, n_samples=N, n_features=2, n_classes=2, shuffle=True, random_state=None)
    no_structure = np.random.rand(N, 2), np.random.rand(N, 2)
    return noisy_circles, noisy_moons, blobs, gaussian_quantiles, no_structure


def assert_identical(ours, theirs):
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


# ------------------------------------------------------------------ generators
def test_flower_equals_course_recipe(global_np_state):
    X, Y = D.load_planar_dataset(layout="course")
    X_c, Y_c = course_flower()
    assert_identical(X, X_c)
    assert_identical(Y, Y_c)
    assert X.shape == (2, 400) and Y.dtype == np.uint8 and int(Y.sum()) == 200


def test_flower_rows_layout_is_the_transpose():
    X, y = D.load_planar_dataset()
    X_c, Y_c = D.load_planar_dataset(layout="course")
    assert X.shape == (400, 2) and y.shape == (400,)
    assert_identical(X, np.ascontiguousarray(X_c.T))
    assert_identical(y, Y_c[0])
    assert np.all(y[:200] == 0) and np.all(y[200:] == 1)


def test_circles_equal_course_recipe(global_np_state):
    ours = D.load_circles(layout="course")
    for a, b in zip(ours, course_circles()):
        assert_identical(a, b)
    X_train, y_train, X_test, y_test = D.load_circles()
    assert X_train.shape == (300, 2) and y_train.shape == (300,)
    assert X_test.shape == (100, 2) and y_test.shape == (100,)
    assert np.bincount(y_train).tolist() == [150, 150]


def test_moons_equal_course_recipe(global_np_state):
    X, Y = D.load_moons(layout="course")
    X_c, Y_c = course_moons()
    assert_identical(X, X_c)
    assert_identical(Y, Y_c)
    assert D.load_moons()[0].shape == (300, 2)


def test_extra_datasets_equal_course_recipe_in_draw_order(global_np_state):
    ours = D.load_extra_datasets(seed=7)
    c_circles, c_moons, c_blobs, c_quantiles, c_none = course_extra(7)
    for name, (X_c, y_c) in [("noisy_circles", c_circles), ("noisy_moons", c_moons),
                             ("gaussian_quantiles", c_quantiles)]:
        assert_identical(ours[name][0], X_c)
        assert_identical(ours[name][1], y_c)
    assert_identical(ours["blobs"][0], c_blobs[0])
    assert_identical(ours["blobs"][1], c_blobs[1] % 2)
    assert_identical(ours["no_structure"][0], c_none[0])
    np.testing.assert_array_equal(ours["no_structure"][1], (c_none[1][:, 0] > 0.5).astype(int))
    course = D.load_extra_datasets(seed=7, layout="course")
    assert course["noisy_moons"][0].shape == (2, 200) and course["noisy_moons"][1].shape == (1, 200)


def test_generators_leave_global_state_alone(global_np_state):
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    D.load_planar_dataset()
    D.load_circles()
    D.load_moons()
    D.load_extra_datasets()
    np.testing.assert_array_equal(np.random.rand(3), expected)


def test_generators_are_repeatable():
    a, b = D.load_moons(), D.load_moons()
    np.testing.assert_array_equal(a[0], b[0])


def test_bad_layout_and_size():
    with pytest.raises(ValueError, match="layout must be 'rows' or 'course'"):
        D.load_planar_dataset(layout="columns")
    with pytest.raises(ValueError, match="even"):
        D.load_planar_dataset(m=3)


# ------------------------------------------------------- the course's files
def test_cat_vs_noncat(course_data):
    X_train, y_train, X_test, y_test, classes = D.load_cat_vs_noncat(data_dir=course_data)
    assert X_train.shape == (209, 64, 64, 3) and X_train.dtype == np.uint8
    assert y_train.shape == (209,) and int(y_train.sum()) == 72
    assert X_test.shape == (50, 64, 64, 3) and int(y_test.sum()) == 33
    assert classes.tolist() == ["non-cat", "cat"]
    _, Y_train, _, Y_test, raw = D.load_cat_vs_noncat(data_dir=course_data, layout="course")
    assert Y_train.shape == (1, 209) and Y_test.shape == (1, 50)
    assert raw.tolist() == [b"non-cat", b"cat"]


def test_signs(course_data):
    X_train, y_train, X_test, y_test, classes = D.load_signs(data_dir=course_data)
    assert X_train.shape == (1080, 64, 64, 3) and X_test.shape == (120, 64, 64, 3)
    assert np.bincount(y_train).tolist() == [180] * 6
    assert np.bincount(y_test).tolist() == [20] * 6
    assert classes.tolist() == list(range(6))


def test_football(course_data):
    X_train, y_train, X_test, y_test = D.load_football(data_dir=course_data)
    assert X_train.shape == (211, 2) and X_test.shape == (200, 2)
    assert y_train.shape == (211,) and y_test.shape == (200,)
    assert np.bincount(y_train).tolist() == [105, 106]
    assert np.bincount(y_test).tolist() == [113, 87]
    course = D.load_football(data_dir=course_data, layout="course")
    assert [a.shape for a in course] == [(2, 211), (1, 211), (2, 200), (1, 200)]
    np.testing.assert_array_equal(course[0], X_train.T)


def test_course_data_relative_to_repo(course_data, monkeypatch):
    monkeypatch.chdir(REPO)
    X_train, *_ = D.load_football(data_dir="../shared/data/coursera")
    assert X_train.shape == (211, 2)


# ------------------------------------------------------- finding files, errors
def _write_h5(path, split="train", m=4, x_shape=None, y_shape=None, drop=()):
    h5py = pytest.importorskip("h5py")
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        data = {
            f"{split}_set_x": np.zeros(x_shape or (m, 8, 8, 3), dtype=np.uint8),
            f"{split}_set_y": (np.arange(int(np.prod(y_shape or (m,)))) % 2).reshape(y_shape or (m,)),
            "list_classes": np.array([b"non-cat", b"cat"]),
        }
        for key, value in data.items():
            if key not in drop:
                f[key] = value


def _write_cat_pair(root, sub="", **train_kw):
    _write_h5(root / sub / "train_catvnoncat.h5", "train", **train_kw)
    _write_h5(root / sub / "test_catvnoncat.h5", "test", m=2)


def test_env_var_lookup(tmp_path, monkeypatch):
    _write_cat_pair(tmp_path)
    monkeypatch.setenv("NGRAD_DATA", str(tmp_path))
    X_train, y_train, X_test, y_test, classes = D.load_cat_vs_noncat()
    assert X_train.shape == (4, 8, 8, 3) and X_test.shape == (2, 8, 8, 3)


def test_subfolder_search(tmp_path, monkeypatch):
    monkeypatch.delenv("NGRAD_DATA", raising=False)
    _write_cat_pair(tmp_path, "course/week4/datasets")
    assert D.find_course_file("train_catvnoncat.h5", tmp_path) == (
        tmp_path / "course/week4/datasets/train_catvnoncat.h5")
    assert D.load_cat_vs_noncat(data_dir=str(tmp_path))[0].shape == (4, 8, 8, 3)


def test_shallower_match_wins(tmp_path):
    for sub in ("a/b", "z"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "data.mat").write_bytes(b"")
    assert D.find_course_file("data.mat", tmp_path) == tmp_path / "z" / "data.mat"


def test_argument_beats_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("NGRAD_DATA", str(tmp_path / "nowhere"))
    _write_cat_pair(tmp_path)
    assert D.load_cat_vs_noncat(data_dir=tmp_path)[1].shape == (4,)


def test_missing_file_names_file_dir_and_env_var(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        D.load_cat_vs_noncat(data_dir=tmp_path)
    message = str(e.value)
    assert "train_catvnoncat.h5" in message and str(tmp_path) in message and "NGRAD_DATA" in message


def test_no_data_dir_given(monkeypatch):
    monkeypatch.delenv("NGRAD_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="data.mat: no data directory given.*NGRAD_DATA"):
        D.load_football()


def test_data_dir_that_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("NGRAD_DATA", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=r"\(from NGRAD_DATA\) does not exist"):
        D.load_signs()


def test_h5_missing_key(tmp_path):
    _write_cat_pair(tmp_path, drop=("train_set_y",))
    with pytest.raises(D.DataFormatError, match=r"missing key 'train_set_y' \(keys present"):
        D.load_cat_vs_noncat(data_dir=tmp_path)


def test_h5_wrong_image_shape(tmp_path):
    _write_cat_pair(tmp_path, x_shape=(4, 8, 8))
    with pytest.raises(D.DataFormatError, match=r"'train_set_x' has shape \(4, 8, 8\)"):
        D.load_cat_vs_noncat(data_dir=tmp_path)


def test_h5_label_count_mismatch(tmp_path):
    _write_cat_pair(tmp_path, y_shape=(5,))
    with pytest.raises(D.DataFormatError, match=r"'train_set_y' has shape \(5,\); expected \(4,\)"):
        D.load_cat_vs_noncat(data_dir=tmp_path)


def test_h5_labels_as_row_are_accepted(tmp_path):
    _write_cat_pair(tmp_path, y_shape=(1, 4))
    assert D.load_cat_vs_noncat(data_dir=tmp_path)[1].shape == (4,)


def test_not_an_h5_file(tmp_path):
    (tmp_path / "train_signs.h5").write_bytes(b"not hdf5")
    with pytest.raises(D.DataFormatError, match="not a readable HDF5 file"):
        D.load_signs(data_dir=tmp_path)


def _write_mat(path, **overrides):
    sio = pytest.importorskip("scipy.io")
    data = {"X": np.zeros((6, 2)), "y": np.ones((6, 1), np.uint8),
            "Xval": np.zeros((3, 2)), "yval": np.zeros((3, 1), np.uint8)}
    data.update(overrides)
    sio.savemat(path, {k: v for k, v in data.items() if v is not None})


def test_mat_ok(tmp_path):
    _write_mat(tmp_path / "data.mat")
    X_train, y_train, X_test, y_test = D.load_football(data_dir=tmp_path)
    assert X_train.shape == (6, 2) and y_train.shape == (6,) and y_test.shape == (3,)


def test_mat_missing_key(tmp_path):
    _write_mat(tmp_path / "data.mat", yval=None)
    with pytest.raises(D.DataFormatError, match=r"missing key 'yval' \(keys present: \['X', 'Xval', 'y'\]\)"):
        D.load_football(data_dir=tmp_path)


def test_mat_wrong_shapes(tmp_path):
    _write_mat(tmp_path / "data.mat", y=np.ones((5, 1)))
    with pytest.raises(D.DataFormatError, match=r"'y' has shape \(5,\); expected \(6,\)"):
        D.load_football(data_dir=tmp_path)
    _write_mat(tmp_path / "data.mat", Xval=np.zeros((3, 4)))
    with pytest.raises(D.DataFormatError, match="'X' has 2 features but 'Xval' has 4"):
        D.load_football(data_dir=tmp_path)


def test_not_a_mat_file(tmp_path):
    (tmp_path / "data.mat").write_bytes(b"garbage")
    with pytest.raises(D.DataFormatError, match="not a readable MATLAB .mat file"):
        D.load_football(data_dir=tmp_path)


# ------------------------------------------------------------ bundled sets
def test_digits():
    X, y = D.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.shape == (1797,)
    assert set(np.unique(y)) == set(range(10))
    X_train, y_train, X_test, y_test = D.load_digits(test_fraction=0.2, seed=1)
    assert len(X_train) + len(X_test) == 1797 and len(y_test) == len(X_test)
    assert abs(len(X_test) - 0.2 * 1797) <= 1


def test_breast_cancer_course_layout():
    X, Y = D.load_breast_cancer(layout="course")
    assert X.shape == (30, 569) and Y.shape == (1, 569)
    X_train, y_train, X_test, y_test = D.load_breast_cancer(test_fraction=0.25)
    assert X_train.shape[1] == 30 and set(np.unique(y_test)) == {0, 1}


# ------------------------------------------------------------------- helpers
def test_flatten_images_matches_course():
    X = np.arange(2 * 3 * 4 * 3).reshape(2, 3, 4, 3)
    np.testing.assert_array_equal(D.flatten_images(X, layout="course"), X.reshape(X.shape[0], -1).T)
    assert D.flatten_images(X).shape == (2, 36)
    with pytest.raises(ShapeError, match=r"flatten_images.*\(5, 4\)"):
        D.flatten_images(np.zeros((5, 4)))


def test_scale_pixels():
    X = np.array([0, 51, 255], dtype=np.uint8)
    assert D.scale_pixels(X).dtype == np.float32
    np.testing.assert_array_equal(D.scale_pixels(X, dtype=np.float64), X / 255.)
    with pytest.raises(DTypeError):
        D.scale_pixels(X, dtype=np.int32)


def test_one_hot():
    y = np.array([[1, 2, 3, 0, 2, 1]])
    course = np.eye(4)[y.reshape(-1)].T  # the course's convert_to_one_hot(Y, 4)
    np.testing.assert_array_equal(D.one_hot(y, 4, layout="course", dtype=np.float64), course)
    assert D.one_hot([0, 1], num_classes=3).shape == (2, 3)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        D.one_hot([0, 2], num_classes=2)
    with pytest.raises(DTypeError):
        D.one_hot([0.5, 1.0])
