"""Error analysis: mistakes, galleries, CSVs and the tag-count table with ceilings."""
import csv
import io

import numpy as np
import pytest

import ngrad
from ngrad.error_analysis import (
    error_analysis_table,
    find_mistakes,
    mistakes_csv,
    mistakes_from_model,
    mistakes_gallery,
)

PNG = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------- mistakes
def test_mistakes_from_labels():
    m = find_mistakes([0, 1, 2, 2], y_pred=[0, 2, 2, 1])
    assert [(x.index, x.true, x.predicted) for x in m] == [(1, 1, 2), (3, 2, 1)]
    assert all(x.confidence is None and not x.possibly_mislabeled for x in m)


def test_mistakes_from_softmax_scores():
    scores = np.array([[0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.02, 0.97, 0.01], [0.1, 0.6, 0.3]])
    m = find_mistakes([0, 1, 0, 1], scores=scores)
    assert [(x.index, x.predicted) for x in m] == [(1, 2), (2, 1)]
    assert m[0].confidence == pytest.approx(0.5) and not m[0].possibly_mislabeled
    assert m[1].confidence == pytest.approx(0.97) and m[1].possibly_mislabeled


def test_mistakes_with_named_classes_and_threshold():
    y = np.array(["cat", "dog", "cat"])
    scores = np.array([[0.8, 0.2], [0.85, 0.15], [0.3, 0.7]])
    m = find_mistakes(y, scores=scores, classes=["cat", "dog"], mislabeled_threshold=0.8)
    assert [(x.index, x.true, x.predicted) for x in m] == [(1, "dog", "cat"), (2, "cat", "dog")]
    assert [x.possibly_mislabeled for x in m] == [True, False]


def test_confidence_of_given_predictions():
    m = find_mistakes([1, 0], y_pred=[0, 0], scores=[0.3, 0.1])
    assert len(m) == 1 and m[0].confidence == pytest.approx(0.7)


def test_mistakes_from_model_scores_and_labels():
    X = np.array([[0.1], [0.9], [0.6], [0.2]])
    y = np.array([0, 1, 0, 1])
    m = mistakes_from_model(lambda X: X[:, 0], X, y)  # float output: probabilities
    assert [x.index for x in m] == [2, 3] and m[0].confidence == pytest.approx(0.6)
    m = mistakes_from_model(lambda X: (X[:, 0] > 0.5).astype(int), X, y)  # labels
    assert [x.index for x in m] == [2, 3] and m[0].confidence is None
    m = mistakes_from_model(lambda X: ngrad.tensor(X[:, 0]), X, ngrad.tensor(y))
    assert [x.index for x in m] == [2, 3]


def test_bad_inputs():
    with pytest.raises(ValueError, match="y_pred= .* or scores="):
        find_mistakes([0, 1])
    with pytest.raises(ValueError, match="probabilities"):
        find_mistakes([0, 1], scores=[-2.0, 3.0])
    with pytest.raises(ValueError, match="shape"):
        find_mistakes([0, 1], scores=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="2 examples but y_pred has 3"):
        find_mistakes([0, 1], y_pred=[0, 1, 1])
    with pytest.raises(ValueError, match="3 columns but classes has 2"):
        find_mistakes([0, 1], scores=np.full((2, 3), 1 / 3), classes=["a", "b"])


# ------------------------------------------------------------ looking
def test_gallery_png(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 8, 8, 3)).astype(np.uint8)
    y = np.arange(10) % 2
    scores = rng.random(10)
    m = find_mistakes(y, scores=scores)
    out = mistakes_gallery(images, m, tmp_path / "g" / "mistakes.png", class_names=["non-cat", "cat"], max_images=4)
    assert out.read_bytes()[:8] == PNG


def test_gallery_flat_channels_first_and_empty(tmp_path):
    pytest.importorskip("matplotlib")
    m = find_mistakes([0, 1], y_pred=[1, 1])
    mistakes_gallery(np.zeros((2, 64)), m, tmp_path / "flat.png", image_shape=(8, 8))
    mistakes_gallery(np.random.default_rng(0).standard_normal((2, 3, 8, 8)), m, tmp_path / "chw.png")
    mistakes_gallery(np.zeros((2, 8, 8)), [], tmp_path / "none.png")
    assert all((tmp_path / f).read_bytes()[:8] == PNG for f in ("flat.png", "chw.png", "none.png"))


def test_mistakes_csv_round_trip(tmp_path):
    X = np.array([[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]])
    m = find_mistakes([0, 1, 1], scores=[0.2, 0.05, 0.4])
    path = mistakes_csv(m, tmp_path / "m.csv", X=X, feature_names=["radius", "texture"],
                        class_names=["benign", "malignant"], categories=["blurry", "mislabeled"])
    rows = list(csv.DictReader(open(path)))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["true"] == "malignant" and rows[0]["predicted"] == "benign"
    assert rows[0]["radius"] == "3" and rows[0]["confidence"] == "0.95" and rows[0]["possibly_mislabeled"] == "1"
    assert rows[0]["blurry"] == ""
    # tag it, then count: only the tag columns are categories
    rows[0]["blurry"], rows[1]["mislabeled"] = "1", "x"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    table = error_analysis_table(path, verbose=False)
    assert [r["category"] for r in table.rows] == ["blurry", "mislabeled"]


def test_mistakes_csv_text(tmp_path):
    m = find_mistakes([1, 0], y_pred=[0, 0])
    path = mistakes_csv(m, tmp_path / "t.csv", texts=["great movie", "meh"], ids=["r1", "r2"])
    rows = list(csv.DictReader(open(path)))
    assert rows == [dict(id="r1", index="0", true="1", predicted="0", confidence="", possibly_mislabeled="0",
                         text="great movie")]


# ------------------------------------------------------------ counting
COURSE_SHEET = """image,dog,great cats,blurry,incorrectly labeled,comments
1,1,,,,pitbull
2,,,1,,
3,,1,1,,rainy day at zoo
4,,1,,,
5,,,,1,labeler missed cat in background
"""


def test_table_course_spreadsheet(capsys):
    r = error_analysis_table(io.StringIO(COURSE_SHEET), dev_error_rate=0.10)
    assert [x["category"] for x in r.rows] == ["dog", "great cats", "blurry", "incorrectly labeled"]
    counts = {x["category"]: x["count"] for x in r.rows}
    assert counts == {"dog": 1, "great cats": 2, "blurry": 2, "incorrectly labeled": 1}
    great = r.rows[1]
    assert great["percent"] == pytest.approx(40.0) and great["ceiling"] == pytest.approx(0.04)
    assert r.largest == "great cats" and r.ids["blurry"] == ["2", "3"]
    out = capsys.readouterr().out
    assert "Error analysis of 5 dev-set mistakes, dev error 10.00 %" in out and "4.00 %" in out


def test_table_course_numbers_with_total():
    """5 dogs among 100 mistakes at 10 % dev error: fixing dogs gains 0.5 % at most."""
    sheet = "id,dog\n" + "".join(f"{i},1\n" for i in range(5))
    r = error_analysis_table(io.StringIO(sheet), total_dev_errors=100, dev_error_rate=0.10, verbose=False)
    assert r.rows[0]["percent"] == pytest.approx(5.0)
    assert r.rows[0]["ceiling"] == pytest.approx(0.005)
    assert r.to_dict()["n_mistakes"] == 100


def test_table_without_rate_and_explicit_categories():
    r = error_analysis_table(io.StringIO(COURSE_SHEET), categories=["blurry"], verbose=False)
    assert len(r.rows) == 1 and r.rows[0]["ceiling"] is None
    assert "ceiling" not in str(r).splitlines()[1]


@pytest.mark.parametrize(
    "sheet, kwargs, match",
    [
        ("id\n1\n", {}, "header"),
        ("id,dog\n", {}, "no rows"),
        ("id,comment\n1,hello\n", {}, "no column of 0/1 marks"),
        ("id,dog\n1,maybe\n", dict(categories=["dog"]), r"row '1', column 'dog': 'maybe' is not a mark"),
        ("id,dog\n1,1\n", dict(categories=["cat"]), "not columns"),
        ("id,dog\n1,1\n2,0\n", dict(total_dev_errors=1), "at least the 2 rows"),
        ("id,dog\n1,1\n", dict(dev_error_rate=10), r"\[0, 1\]"),
    ],
)
def test_table_bad_input(sheet, kwargs, match):
    with pytest.raises(ValueError, match=match):
        error_analysis_table(io.StringIO(sheet), verbose=False, **kwargs)


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("ngrad.error_analysis"), optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
