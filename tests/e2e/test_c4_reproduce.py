"""The Course 4 reproductions: quick runs in the default suite, full runs with ``-m slow``.

Run through the runner directly (``run_experiment``) to look at the rows
themselves; ``tests/e2e/test_reproduce.py`` runs each quick through the CLI. Experiments on SIGNS skip when the course's data
directory (``<repo>/../shared/data/coursera``) is not there.
"""
import io
import json
from pathlib import Path

import pytest

from ngrad.reproduce import c4_digits_cnn, c4w1_conv_step, c4w1_signs_cnn, c4w2_resnet, c4w2_transfer
from ngrad.reproduce.runner import run_experiment

COURSE_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "coursera"
MODULES = [c4w1_conv_step, c4w1_signs_cnn, c4w2_resnet, c4w2_transfer, c4_digits_cnn]
IDS = [m.EXPERIMENT.id for m in MODULES]


def _run(module, tmp_path, **kwargs):
    exp = module.EXPERIMENT
    data_dir = None
    if exp.needs_data:
        if not (COURSE_DATA / "signs").is_dir():
            pytest.skip(f"{exp.id} needs the course's data directory, not found at {COURSE_DATA}")
        data_dir = COURSE_DATA
    stream = io.StringIO()
    result = run_experiment(exp, out=tmp_path / exp.id, data_dir=data_dir, plots=False, stream=stream, **kwargs)
    data = json.loads((tmp_path / exp.id / "results.json").read_text())
    assert data["experiment"] == exp.id and len(data["rows"]) == len(result.rows)
    return result, stream.getvalue()


def test_ids():
    assert IDS == ["c4w1-conv-step", "c4w1-signs-cnn", "c4w2-resnet", "c4w2-transfer", "c4-digits-cnn"]
    assert [m.EXPERIMENT.needs_data for m in MODULES] == [False, True, True, True, False]


def test_conv_step_matches_every_printed_number(tmp_path):
    result, _ = _run(c4w1_conv_step, tmp_path, quick=True)
    assert result.counts == {"match": 25, "differs": 0, "info": 0}


def test_resnet_quick_counts_and_block_tests_match(tmp_path):
    result, printed = _run(c4w2_resnet, tmp_path, quick=True)
    assert all(r.ok for r in result.rows), printed
    compared = {r.metric: r.status for r in result.rows if r.status}
    assert compared["ResNet50(64x64x3, 6 classes): total params"] == "match"
    assert compared["ResNet50: non-trainable params"] == "match"
    assert sum(s == "in range" for s in compared.values()) == 4  # the identity_block tests


def test_transfer_quick_keeps_the_frozen_base(tmp_path):
    result, printed = _run(c4w2_transfer, tmp_path, quick=True)
    assert all(r.ok for r in result.rows), printed
    rows = {r.metric: r for r in result.rows}
    assert rows["frozen base: largest change of a base weight or running statistic"].ngrad == 0.0
    assert rows["load_matching: shape-mismatched entries (the old head)"].status == "match"
    assert any((tmp_path / "c4w2-transfer").glob("pretrained.*"))


@pytest.mark.slow
@pytest.mark.parametrize("module", [c4w1_signs_cnn, c4w2_transfer, c4_digits_cnn],
                         ids=["c4w1-signs-cnn", "c4w2-transfer", "c4-digits-cnn"])
def test_full_run(module, tmp_path):
    result, printed = _run(module, tmp_path)
    assert all(r.ok for r in result.rows), printed


@pytest.mark.slow
def test_full_resnet_run_with_one_resnet50_epoch(tmp_path):
    """ResNet-50 for one epoch (its accuracy is not compared), the small ResNet for its full length."""
    result, printed = _run(c4w2_resnet, tmp_path, epochs=1)
    assert all(r.ok for r in result.rows), printed
    small = next(r for r in result.rows if r.metric.startswith("resnet8 from scratch"))
    assert small.status == "in range", printed
