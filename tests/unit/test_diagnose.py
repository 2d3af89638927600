"""Bias / variance / data-mismatch diagnosis on the course's worked examples, and its CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ngrad.cli import main
from ngrad.diagnose import REMEDIES, diagnose, diagnose_model


# --------------------------------------------------- the course's examples
@pytest.mark.parametrize(
    "numbers, largest",
    [
        # cat classifier: same training and dev errors, different human-level error
        (dict(human=0.01, train=0.08, dev=0.10), "avoidable_bias"),
        (dict(human=0.075, train=0.08, dev=0.10), "variance"),
        # medical imaging, human-level 0.5 % (a team of experienced doctors)
        (dict(human=0.005, train=0.05, dev=0.06), "avoidable_bias"),
        (dict(human=0.005, train=0.01, dev=0.05), "variance"),
        (dict(human=0.005, train=0.007, dev=0.008), "avoidable_bias"),
        # train-dev set: variance vs data mismatch
        (dict(human=0.0, train=0.01, train_dev=0.09, dev=0.10), "variance"),
        (dict(human=0.0, train=0.01, train_dev=0.015, dev=0.10), "data_mismatch"),
        (dict(human=0.0, train=0.10, train_dev=0.11, dev=0.12), "avoidable_bias"),
        (dict(human=0.0, train=0.10, train_dev=0.11, dev=0.20), "avoidable_bias"),
        # autonomous-driving case study: bias first, then a large data mismatch
        (dict(human=0.005, train=0.088, train_dev=0.091, dev=0.143, test=0.148), "avoidable_bias"),
        # tuned to the dev set
        (dict(human=0.01, train=0.012, train_dev=0.013, dev=0.015, test=0.05), "overfitting_dev"),
    ],
)
def test_course_examples(numbers, largest):
    report = diagnose(**numbers)
    assert report.largest == largest
    assert report.remedies == REMEDIES[largest]


def test_gap_values():
    r = diagnose(human=0.01, train=0.08, train_dev=0.10, dev=0.12, test=0.13)
    assert r.avoidable_bias == pytest.approx(0.07)
    assert r.variance == pytest.approx(0.02)
    assert r.data_mismatch == pytest.approx(0.02)
    assert r.overfitting_dev == pytest.approx(0.01)
    assert list(r.gaps) == ["avoidable_bias", "variance", "data_mismatch", "overfitting_dev"]


def test_without_train_dev_variance_is_dev_minus_train():
    r = diagnose(human=0.01, train=0.02, dev=0.10)
    assert r.variance == pytest.approx(0.08)
    assert r.data_mismatch is None and r.overfitting_dev is None
    assert "data_mismatch" not in r.gaps


def test_remedies_are_the_courses():
    bias = " ".join(REMEDIES["avoidable_bias"])
    for word in ("bigger model", "longer", "momentum", "RMSprop", "Adam", "architecture", "hyperparameters"):
        assert word in bias
    variance = " ".join(REMEDIES["variance"])
    for word in ("more training data", "L2", "dropout", "data augmentation", "architecture"):
        assert word in variance
    mismatch = " ".join(REMEDIES["data_mismatch"])
    for word in ("error analysis", "more similar", "collect more data", "synthesis", "overfit"):
        assert word in mismatch
    assert "bigger dev set" in REMEDIES["overfitting_dev"][0]


def test_speech_example_dev_easier_than_train_dev():
    """Rear-view-mirror speech example: dev error below train-dev error."""
    r = diagnose(human=0.04, train=0.07, train_dev=0.10, dev=0.06, test=0.06)
    assert r.data_mismatch == pytest.approx(-0.04)
    assert any("easier" in n for n in r.notes)


def test_surpassing_human_level_is_noted():
    r = diagnose(human=0.005, train=0.003, dev=0.004)
    assert r.avoidable_bias < 0 and r.largest == "variance"
    assert any("Bayes" in n for n in r.notes)


def test_nothing_to_do():
    r = diagnose(human=0.02, train=0.02, dev=0.02)
    assert r.largest is None and r.remedies == []
    assert "No gap" in str(r)


def test_higher_is_better_matches_errors():
    acc = diagnose(human=0.99, train=0.92, train_dev=0.90, dev=0.88, higher_is_better=True, metric="accuracy")
    err = diagnose(human=0.01, train=0.08, train_dev=0.10, dev=0.12)
    assert acc.largest == err.largest == "avoidable_bias"
    for gap in err.gaps:
        assert acc.gaps[gap] == pytest.approx(err.gaps[gap])
    assert acc.given["train"] == 0.92 and acc.train == pytest.approx(0.08)
    assert "accuracy 92.00 %" in str(acc)


def test_percent_scale():
    r = diagnose(human=1, train=8, dev=10, scale=100)
    assert r.largest == "avoidable_bias" and r.avoidable_bias == pytest.approx(7)
    assert "7.00 %" in str(r)


def test_str_and_to_dict():
    r = diagnose(human=0.01, train=0.08, train_dev=0.10, dev=0.12)
    text = str(r)
    assert "avoidable bias" in text and "<- largest" in text and "bigger model" in text
    d = r.to_dict()
    assert json.loads(json.dumps(d))["largest"] == "avoidable_bias"
    assert d["remedies"] == REMEDIES["avoidable_bias"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(train=0.1, dev=0.2), r"missing: human="),
        (dict(human=0.01, dev=0.2), r"missing: train="),
        (dict(), r"missing: human=, train=, dev="),
        (dict(human=0.01, train=8, dev=10), r"train=8 is outside \[0, 1\].*scale=100"),
        (dict(human=-0.01, train=0.08, dev=0.1), "negative"),
        (dict(human=0.01, train=float("nan"), dev=0.1), "not a finite number"),
        (dict(human=0.01, train="8%", dev=0.1), "not a finite number"),
        (dict(human=0.01, train=0.08, dev=0.1, scale=0), "scale must be a positive"),
        (dict(human=1.2, train=0.9, dev=0.8, higher_is_better=True), "outside"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagnose(**kwargs)


# --------------------------------------------------------- from a model
def test_diagnose_model():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 2))
    y = (X[:, 0] > 0).astype(int)
    noisy = y.copy()
    noisy[:40] = 1 - noisy[:40]  # 10 % label noise in the dev set

    def predict(X):
        return (X[:, 0] > 0).astype(int)

    r = diagnose_model(predict, train=(X, y), dev=(X, noisy), human=0.0)
    assert r.train == 0.0 and r.dev == pytest.approx(0.10)
    assert r.largest == "variance"
    r = diagnose_model(predict, train=(X, y), dev=(X, noisy), human=1.0, metric="accuracy")
    assert r.higher_is_better and r.dev == pytest.approx(0.10) and r.metric == "accuracy"


def test_diagnose_model_scores_are_argmaxed():
    X = np.eye(3)
    y = np.array([0, 1, 2])
    r = diagnose_model(lambda X: X * 5.0, train=(X, y), dev=(X, y), human=0.0)
    assert r.train == 0.0 and r.largest is None


def test_diagnose_model_bad_input():
    with pytest.raises(ValueError, match="human="):
        diagnose_model(lambda X: X, train=([0], [0]), dev=([0], [0]))
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        diagnose_model(lambda X: X, train=([0], [0]), dev=([0], [0]), human=0.0, metric="auc")
    with pytest.raises(ValueError, match=r"dev= must be an \(X, y\) pair"):
        diagnose_model(lambda X: X, train=([0], [0]), dev=[0, 1, 2], human=0.0)


# ------------------------------------------------------------------ CLI
def test_cli_text(capsys):
    assert main(["diagnose", "--human", "0.01", "--train", "0.08", "--train-dev", "0.1", "--dev", "0.12"]) == 0
    out = capsys.readouterr().out
    assert "Largest gap: avoidable bias" in out


def test_cli_json_and_percentages(capsys):
    argv = ["diagnose", "--human", "0%", "--train", "1%", "--train-dev", "1.5%", "--dev", "10%", "--test", "11%", "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["largest"] == "data_mismatch" and d["data_mismatch"] == pytest.approx(0.085)


def test_cli_higher_is_better(capsys):
    argv = ["diagnose", "--human", "0.99", "--train", "0.92", "--dev", "0.9", "--higher-is-better", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["largest"] == "avoidable_bias"


def test_cli_bad_input_exits_2(capsys):
    assert main(["diagnose", "--human", "0.01", "--train", "8", "--dev", "10"]) == 2
    assert "--train 8.0 is outside [0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["diagnose", "--human", "0.01", "--train", "abc", "--dev", "0.1"])
    assert e.value.code == 2
    assert "'abc' is not a number" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["diagnose", "--human", "0.01", "--dev", "0.1"])
    assert e.value.code == 2


def test_cli_subprocess():
    cmd = [sys.executable, "-m", "ngrad", "diagnose", "--human", "0.075", "--train", "0.08", "--dev", "0.10"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Largest gap: variance" in done.stdout
    bad = subprocess.run(cmd[:-1] + ["-0.1"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "negative" in bad.stderr


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("ngrad.diagnose"), optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
