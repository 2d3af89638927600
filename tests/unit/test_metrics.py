"""Metrics against scikit-learn on random data, reports, plots and model selection."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ngrad
from ngrad import metrics as M

skm = pytest.importorskip("sklearn.metrics")

SETTINGS = settings(max_examples=40, deadline=None)
# scikit-learn warns about single-label inputs, which hypothesis draws on purpose
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")


@st.composite
def label_pairs(draw, max_classes=4):
    m = draw(st.integers(1, 60))
    k = draw(st.integers(1, max_classes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return rng.integers(0, k, size=m), rng.integers(0, k, size=m)


@st.composite
def binary_scores(draw):
    m = draw(st.integers(2, 80))
    seed = draw(st.integers(0, 2**32 - 1))
    ties = draw(st.booleans())
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=m)
    y[0], y[1] = 0, 1  # both classes present
    s = rng.random(m)
    if ties:
        s = np.round(s * 4) / 4  # many tied scores
    return y, s


@SETTINGS
@given(label_pairs())
def test_accuracy_and_confusion_matrix_match_sklearn(pair):
    y, p = pair
    assert M.accuracy(y, p) == pytest.approx(skm.accuracy_score(y, p))
    np.testing.assert_array_equal(M.confusion_matrix(y, p), skm.confusion_matrix(y, p))
    labels = [3, 0, 2, 1]
    np.testing.assert_array_equal(M.confusion_matrix(y, p, labels=labels), skm.confusion_matrix(y, p, labels=labels))
    for how in ("true", "pred", "all"):
        np.testing.assert_allclose(M.confusion_matrix(y, p, normalize=how), skm.confusion_matrix(y, p, normalize=how))


@SETTINGS
@given(label_pairs(max_classes=2), st.sampled_from([0, 1]))
def test_binary_precision_recall_f1_match_sklearn(pair, pos_label):
    y, p = pair
    kw = dict(pos_label=pos_label, zero_division=0.0)
    assert M.precision(y, p, pos_label=pos_label) == pytest.approx(skm.precision_score(y, p, **kw))
    assert M.recall(y, p, pos_label=pos_label) == pytest.approx(skm.recall_score(y, p, **kw))
    assert M.f1(y, p, pos_label=pos_label) == pytest.approx(skm.f1_score(y, p, **kw))


@SETTINGS
@given(label_pairs(), st.sampled_from(["macro", "micro", "weighted"]))
def test_averaged_precision_recall_f1_match_sklearn(pair, average):
    y, p = pair
    kw = dict(average=average, zero_division=0.0)
    assert M.precision(y, p, average=average) == pytest.approx(skm.precision_score(y, p, **kw))
    assert M.recall(y, p, average=average) == pytest.approx(skm.recall_score(y, p, **kw))
    assert M.f1(y, p, average=average) == pytest.approx(skm.f1_score(y, p, **kw))


@SETTINGS
@given(label_pairs())
def test_per_class_scores_match_sklearn(pair):
    y, p = pair
    ours = M.precision_recall_f1(y, p, average=None)
    theirs = skm.precision_recall_fscore_support(y, p, average=None, zero_division=0.0)[:3]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)


@SETTINGS
@given(binary_scores())
def test_roc_auc_matches_sklearn_with_ties(data):
    y, s = data
    assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


def test_roc_auc_string_labels_and_pos_label():
    y = np.array(["benign", "malignant", "malignant", "benign"])
    s = np.array([0.2, 0.9, 0.4, 0.5])
    assert M.roc_auc(y, s, pos_label="malignant") == pytest.approx(0.75)
    assert M.roc_auc(y, -s, pos_label="benign") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="pos_label"):
        M.roc_auc(y, s)


def test_roc_auc_needs_two_classes():
    with pytest.raises(ValueError, match="both classes"):
        M.roc_auc([1, 1, 1], [0.2, 0.3, 0.4])


def test_string_labels_and_tensors_and_course_shapes():
    y = ngrad.tensor(np.array([[1, 0, 1, 1]]))  # the course's (1, m) layout
    p = np.array([[1], [0], [0], [1]])
    assert M.recall(y, p) == pytest.approx(2 / 3)
    assert M.precision(["cat", "dog", "cat"], ["cat", "cat", "cat"], pos_label="cat") == pytest.approx(2 / 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="3 examples but y_pred has 2"):
        M.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="average='macro'"):
        M.f1([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="average must be one of"):
        M.f1([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="pos_label=2"):
        M.f1([0, 1], [0, 1], pos_label=2)
    with pytest.raises(ValueError, match="empty"):
        M.accuracy([], [])
    with pytest.raises(ValueError, match="1-D"):
        M.accuracy(np.zeros((2, 3)), np.zeros((2, 3)))


def test_tables():
    table = M.confusion_matrix_table([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], names=["benign", "malignant"])
    assert table.splitlines()[1].split() == ["benign", "1", "1"]
    assert table.splitlines()[2].split() == ["malignant", "1", "2"]
    report = M.classification_report([0, 0, 1, 1, 1], [0, 1, 1, 1, 0])
    assert "macro avg" in report and "0.6667" in report


def test_plot_confusion_matrix(tmp_path):
    pytest.importorskip("matplotlib")
    out = M.plot_confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], tmp_path / "cm" / "cm.png", names=["a", "b", "c"])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------- selection
CANDIDATES = {
    "A": {"accuracy": 0.90, "latency_ms": 80, "f1": 0.88},
    "B": {"accuracy": 0.92, "latency_ms": 95, "f1": 0.91},
    "C": {"accuracy": 0.95, "latency_ms": 1500, "f1": 0.94},
}


def test_select_model_course_example():
    """Maximize accuracy subject to running time <= 100 ms: B, not the most accurate C."""
    chosen = M.select_model(CANDIDATES, optimizing="accuracy", satisficing={"latency_ms": ("<=", 100)})
    assert chosen.name == "B" and chosen.index == 1
    assert list(chosen.rejected) == ["C"]
    assert "rejected 'C'" in str(chosen)


def test_select_model_minimize_and_list_candidates():
    cands = [dict(name="small", error=0.1, size_mb=5), dict(name="big", error=0.05, size_mb=500), dict(error=0.2, size_mb=1)]
    assert M.select_model(cands, optimizing="error", maximize=False).name == "big"
    chosen = M.select_model(cands, optimizing="error", maximize=False, satisficing={"size_mb": ("<", 10)})
    assert chosen.name == "small"
    assert M.select_model(cands[2:], optimizing="error").name == 0


def test_select_model_errors():
    with pytest.raises(ValueError, match=r"unknown metric 'recall': candidate 'A' has accuracy, f1, latency_ms"):
        M.select_model(CANDIDATES, optimizing="recall")
    with pytest.raises(ValueError, match="unknown metric 'memory'"):
        M.select_model(CANDIDATES, satisficing={"memory": ("<=", 1)})
    with pytest.raises(ValueError, match=r"no candidate meets.*'A': latency_ms = 80 fails <= 10"):
        M.select_model(CANDIDATES, satisficing={"latency_ms": ("<=", 10)})
    with pytest.raises(ValueError, match="op in"):
        M.select_model(CANDIDATES, satisficing={"latency_ms": ("=<", 10)})
    with pytest.raises(ValueError, match="at least one"):
        M.select_model({})


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("ngrad.metrics"), optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if matplotlib were not installed
    with pytest.raises(ImportError, match=r'pip install "ngrad\[plot\]"'):
        M.plot_confusion_matrix([0, 1], [0, 1], tmp_path / "cm.png")
