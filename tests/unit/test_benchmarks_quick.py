"""``python -m benchmarks --quick`` runs end to end and reports every workload.

Asserts that the harness works (results written, every workload and framework
listed, no side failing), never anything about speed.
"""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # `benchmarks/` sits at the repository root, outside the installed package
    sys.path.insert(0, REPO)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--quiet", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    return proc, out


def test_quick_run_succeeds(quick_run):
    proc, _ = quick_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_json_lists_every_workload(quick_run):
    from benchmarks.workloads import NAMES

    _, out = quick_run
    res = json.loads((out / "latest.json").read_text())
    assert res["meta"]["mode"] == "quick"
    assert res["meta"]["machine"]["threads"] == 1
    assert set(res["workloads"]) == set(NAMES)
    for name, rec in res["workloads"].items():
        assert set(rec["frameworks"]) == {"ngrad", "torch", "numpy"}, name
        for fw, st in rec["frameworks"].items():
            assert st["status"] in ("ok", "pending", "skipped"), (name, fw, st)
        assert rec["frameworks"]["numpy"]["status"] == "ok", name
        assert rec["cases"], name
        for case in rec["cases"]:
            assert "numpy" in case["frameworks"], (name, case["id"])
    assert res["startup"]["commands"]["import ngrad"]["status"] == "ok"


def test_markdown_lists_every_workload(quick_run):
    from benchmarks.workloads import NAMES, load

    _, out = quick_run
    md = (out / "latest.md").read_text()
    for name in NAMES:
        assert load(name).TITLE in md
    assert "## Startup" in md and "## Peak memory" in md


def test_ngrad_bench_finds_the_checkout_and_passes_options():
    from ngrad.cli import build_parser
    from ngrad.cli.bench import checkout_root, runner_argv

    assert checkout_root() == REPO
    args = build_parser().parse_args(["bench", "--quick", "--only", "perop,mlp", "--threads", "2"])
    assert runner_argv(args) == ["--quick", "--threads", "2", "--only", "perop,mlp"]
