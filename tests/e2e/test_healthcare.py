"""End to end: the healthcare case study (split, tuning in processes, selection, metrics, diagnosis)."""
import csv
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn.datasets")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from apps.healthcare import main as app  # noqa: E402
from apps.healthcare import train  # noqa: E402


def test_data_split_is_stratified_and_standardized():
    data = train.load_data()
    sizes = {k: len(v[1]) for k, v in data.items() if k != "feature_names"}
    assert sizes == {"train": 306, "train_dev": 35, "dev": 114, "test": 114}
    share = {k: float(v[1].mean()) for k, v in data.items() if k != "feature_names"}
    assert all(abs(s - 212 / 569) < 0.02 for s in share.values())  # 212 malignant of 569
    assert abs(float(data["train"][0].mean())) < 1e-5 and len(data["feature_names"]) == 30


def test_case_study_quick(tmp_path, capsys):
    summary = app.main(["--n-trials", "3", "--epochs", "25", "--executor", "processes", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    for section in ("Hyperparameter search", "Malignant cases", "Diagnosis", "Largest gap", "Dev set"):
        assert section in out
    assert summary["scores"]["test"]["f1"] > 0.9 and summary["scores"]["dev"]["recall"] > 0.85
    assert summary["diagnosis"]["human"] == 0.01 and summary["diagnosis"]["largest"] is not None
    assert json.loads((tmp_path / "summary.json").read_text())["params"]["epochs"] == 25
    assert len(list(csv.DictReader(open(tmp_path / "tuning" / "results.csv")))) == 3
    rows = list(csv.DictReader(open(tmp_path / "dev_mistakes.csv")))
    assert len(rows) == summary["dev_mistakes"] and (not rows or "incorrectly labeled" in rows[0])


def test_default_hyperparameters_without_search(tmp_path):
    summary = app.main(["--n-trials", "0", "--epochs", "15", "--human-error", "0.02", "--out", str(tmp_path)])
    assert summary["selection"].startswith("default") and summary["diagnosis"]["human"] == 0.02
