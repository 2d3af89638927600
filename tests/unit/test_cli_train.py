"""``ngrad train`` / ``ngrad predict``: CSV in, model directory and predictions out, clear errors."""
import csv
import json

import numpy as np
import pytest

from ngrad.cli import main
from ngrad.tabular import TabularError, encode_labels, infer_task, read_csv

FAST = ["--epochs", "15", "--hidden", "16", "--batch-size", "32", "--quiet"]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def iris_like(tmp_path):
    """Three well-separated text classes from two numeric features (and a constant one)."""
    rng = np.random.default_rng(0)
    names = np.array(["setosa", "versicolor", "virginica"])
    y = np.repeat(np.arange(3), 40)
    X = rng.normal(size=(120, 2)) * 0.3 + np.stack([y * 2.0, -y * 1.5], axis=1)
    rows = [[f"{a:.4f}", f"{b:.4f}", "1", names[k]] for (a, b), k in zip(X, y)]
    return write_csv(tmp_path / "flowers.csv", ["petal", "sepal", "const", "species"], rows)


@pytest.fixture
def linear_reg(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3))
    t = 3.0 * X[:, 0] - 2.0 * X[:, 1] + 100.0
    rows = [[f"{a:.5f}", f"{b:.5f}", f"{c:.5f}", f"{v:.5f}"] for (a, b, c), v in zip(X, t)]
    return write_csv(tmp_path / "houses.csv", ["rooms", "age", "noise", "price"], rows)


def run_cli(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_back(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


# ------------------------------------------------------------- happy paths
def test_train_and_predict_classification(iris_like, tmp_path, capsys):
    out_dir = tmp_path / "model"
    code, out, err = run_cli(["train", iris_like, "--target", "species", "--out", out_dir, *FAST,
                              "--lr", "0.02"], capsys)
    assert code == 0, err
    assert "120 rows (96 train, 24 validation), 3 features -> 'species' (classification, 3 classes)" in out
    assert "train" in out and "validation" in out and "accuracy" in out
    for name in ("model.safetensors", "config.json", "learning_curve.png"):
        assert (out_dir / name).is_file()
    config = json.loads((out_dir / "config.json").read_text())
    assert config["task"] == "classification" and config["target"] == "species"
    assert config["classes"] == ["setosa", "versicolor", "virginica"]
    assert config["features"] == ["petal", "sepal", "const"]
    assert len(config["standardizer"]["mean"]) == 3
    assert config["metrics"]["validation"]["accuracy"] >= 0.9

    predictions = tmp_path / "pred.csv"
    code, out, err = run_cli(["predict", out_dir, iris_like, "--out", predictions], capsys)
    assert code == 0, err
    assert "120 predictions" in err and "accuracy" in err
    rows = read_back(predictions)
    assert rows[0] == ["species", "probability_setosa", "probability_versicolor", "probability_virginica"]
    assert len(rows) == 121
    truth = [r[3] for r in read_back(iris_like)[1:]]
    assert np.mean([r[0] == t for r, t in zip(rows[1:], truth)]) >= 0.9
    probs = np.array([[float(p) for p in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert [r[0] for r in rows[1:]] == [["setosa", "versicolor", "virginica"][i] for i in probs.argmax(axis=1)]


def test_train_and_predict_regression(linear_reg, tmp_path, capsys):
    out_dir = tmp_path / "reg"
    code, out, err = run_cli(["train", linear_reg, "--target", "price", "--out", out_dir, "--epochs", "30",
                              "--hidden", "16", "--lr", "0.01", "--quiet"], capsys)
    assert code == 0, err
    assert "(regression)" in out and "mse" in out and "mae" in out
    config = json.loads((out_dir / "config.json").read_text())
    assert config["task"] == "regression" and config["classes"] is None
    assert config["metrics"]["validation"]["mae"] < 1.5  # the target spreads over about +-10

    # without --out the predictions go to standard output; the target column may be absent
    features_only = write_csv(tmp_path / "new.csv", ["noise", "age", "rooms"],
                              [["0", "0", "0"], ["0", "1", "1"]])
    code, out, err = run_cli(["predict", out_dir, features_only], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "price" and len(lines) == 3
    assert abs(float(lines[1]) - 100.0) < 2.0 and abs(float(lines[2]) - 101.0) < 2.0


def test_binary_integer_labels_with_regularization(tmp_path, capsys):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    rows = [[f"{a:.4f}", f"{b:.4f}", str(int(a + b > 0))] for a, b in X]
    data = write_csv(tmp_path / "bin.csv", ["x1", "x2", "label"], rows)
    out_dir = tmp_path / "bin"
    code, out, err = run_cli(["train", data, "--target", "label", "--out", out_dir, *FAST, "--lr", "0.05",
                              "--optimizer", "rmsprop", "--dropout", "0.1", "--l2", "0.1", "--batch-norm",
                              "--val-split", "0"], capsys)
    assert code == 0, err
    assert "80 rows (all for training, no validation split)" in out
    assert "(classification, 2 classes)" in out and "\nvalidation" not in out
    assert json.loads((out_dir / "config.json").read_text())["classes"] == ["0", "1"]
    code, out, err = run_cli(["predict", out_dir, data], capsys)
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["label", "probability_0", "probability_1"] and {r[0] for r in rows[1:]} <= {"0", "1"}


def test_task_override(linear_reg, tmp_path, capsys):
    code, out, err = run_cli(["train", linear_reg, "--target", "rooms", "--task", "classification",
                              "--out", tmp_path / "m", *FAST], capsys)
    assert code == 0  # every distinct float is a class: allowed when asked for


def test_task_inference():
    assert infer_task(["a", "b"]) == "classification"
    assert infer_task(["1", "0", "2"]) == "classification"
    assert infer_task(["1.5", "2.0"]) == "regression"
    assert infer_task([str(i) for i in range(100)]) == "regression"
    assert encode_labels(["10", "9", "10"]) == (["9", "10"], pytest.approx(np.array([1, 0, 1])))


# ------------------------------------------------------------- bad input
def assert_error(code, err, *fragments):
    assert code == 2
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_missing_target_column_names_the_columns(iris_like, tmp_path, capsys):
    code, _, err = run_cli(["train", iris_like, "--target", "label", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "ngrad train: error:", "no column 'label'", "'petal', 'sepal', 'const', 'species'")


def test_non_numeric_feature(tmp_path, capsys):
    rows = [[str(i), "red" if i == 4 else "1.5", str(i % 2)] for i in range(20)]
    data = write_csv(tmp_path / "bad.csv", ["x", "colour", "y"], rows)
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "feature column 'colour' is not numeric: line 6 has 'red'")


def test_empty_file(tmp_path, capsys):
    data = tmp_path / "empty.csv"
    data.write_text("")
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "empty.csv: the file is empty")


def test_header_only(tmp_path, capsys):
    data = tmp_path / "header.csv"
    data.write_text("x,y\n")
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "no data rows")


@pytest.mark.parametrize("cell, shown", [("", "an empty cell"), ("NaN", "'NaN'"), ("NA", "'NA'")])
def test_nan_in_feature_names_column_and_line(tmp_path, capsys, cell, shown):
    rows = [[str(i), cell if i == 7 else "2", str(i % 2)] for i in range(20)]
    data = write_csv(tmp_path / "nan.csv", ["x", "z", "y"], rows)
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "missing value (NaN) in feature column 'z' at line 9", shown)


def test_nan_in_target(tmp_path, capsys):
    rows = [[str(i), "" if i == 3 else str(i % 2)] for i in range(20)]
    data = write_csv(tmp_path / "nan.csv", ["x", "y"], rows)
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "missing value (NaN) in target column 'y' at line 5")


def test_too_few_rows(tmp_path, capsys):
    data = write_csv(tmp_path / "few.csv", ["x", "y"], [[str(i), str(i % 2)] for i in range(5)])
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "5 data rows; training needs at least 10")


def test_single_class(tmp_path, capsys):
    data = write_csv(tmp_path / "one.csv", ["x", "y"], [[str(i), "a"] for i in range(12)])
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "single class ('a')")


def test_missing_csv_and_ragged_rows(tmp_path, capsys):
    code, _, err = run_cli(["train", tmp_path / "nope.csv", "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "nope.csv: no such file")
    data = tmp_path / "ragged.csv"
    data.write_text("x,y\n1,0\n2,1,3\n")
    code, _, err = run_cli(["train", data, "--target", "y", "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "line 3 has 3 fields but the header has 2")


def test_text_target_forced_to_regression(iris_like, tmp_path, capsys):
    code, _, err = run_cli(["train", iris_like, "--target", "species", "--task", "regression",
                            "--out", tmp_path / "m"], capsys)
    assert_error(code, err, "target column 'species' is not numeric: line 2 has 'setosa'",
                 "--task classification")


def test_bad_settings(iris_like, tmp_path, capsys):
    code, _, err = run_cli(["train", iris_like, "--target", "species", "--out", tmp_path / "m",
                            "--dropout", "1.5"], capsys)
    assert_error(code, err, "dropout must lie in [0, 1)")
    with pytest.raises(SystemExit) as e:  # argparse's own check
        main(["train", str(iris_like), "--target", "species", "--out", str(tmp_path), "--hidden", "a,b"])
    assert e.value.code == 2


def test_predict_missing_feature_column(iris_like, tmp_path, capsys):
    out_dir = tmp_path / "model"
    assert run_cli(["train", iris_like, "--target", "species", "--out", out_dir, *FAST], capsys)[0] == 0
    data = write_csv(tmp_path / "new.csv", ["petal", "species"], [["1.0", "setosa"]])
    code, _, err = run_cli(["predict", out_dir, data], capsys)
    assert_error(code, err, "ngrad predict: error:", "missing feature columns 'sepal', 'const'",
                 "the columns are 'petal', 'species'")


def test_predict_bad_model_dir(iris_like, tmp_path, capsys):
    code, _, err = run_cli(["predict", tmp_path / "nothing", iris_like], capsys)
    assert_error(code, err, "no such model directory")
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["predict", tmp_path / "empty", iris_like], capsys)
    assert_error(code, err, "no model.safetensors")


def test_read_csv_details(tmp_path):
    data = tmp_path / "semi.csv"
    data.write_text("a;b;c\n1;2;3\n")
    with pytest.raises(TabularError, match="comma-separated"):
        read_csv(data)
    data.write_text("\ufeffa,b\n\n 1 , 2 \n\n3,4\n")  # BOM, blank lines, spaces
    table = read_csv(data)
    assert table.columns == ["a", "b"] and table.rows == [["1", "2"], ["3", "4"]] and table.lines == [3, 5]
    data.write_text("a,a\n1,2\n")
    with pytest.raises(TabularError, match="names column 'a' twice"):
        read_csv(data)
