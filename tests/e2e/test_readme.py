"""The README's promises: its two set-up commands, CI running the second, its Python examples."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
MAIN_JOB = 'pip install -e ".[all]" && ngrad reproduce all-embedded'
TEST_COMMAND = 'pip install -e ".[test]" && pytest'


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_two_set_up_commands_come_first():
    first_block = re.search(r"```bash\n(.*?)```", README, flags=re.S).group(1).splitlines()
    commands = [line.split("#")[0].strip() for line in first_block if line.strip()]
    assert commands == [MAIN_JOB, TEST_COMMAND]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert TEST_COMMAND in [line.strip() for line in ci]


def test_every_cli_command_in_the_readme_exists():
    from ngrad.cli import main

    shell = "\n".join(re.findall(r"```bash\n(.*?)```", README, flags=re.S))
    commands = [line.split("#")[0] for line in shell.splitlines()]
    used = {word for line in commands for word in re.findall(r"\bngrad ([a-z]\w*)", line)}
    assert {"reproduce", "train", "predict", "diagnose", "tune", "bench"} <= used
    for command in used:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0


def test_the_reproduce_table_lists_every_experiment():
    from ngrad.reproduce import ids

    listed = re.findall(r"^\| `([a-z0-9-]+)` \|", README, flags=re.M)
    assert listed == ids()


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_python_example_runs(index, tmp_path):
    """Each example runs as written, in a fresh interpreter, in an empty folder."""
    code = _python_blocks()[index]
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, MPLBACKEND="Agg"))
    assert run.returncode == 0, run.stderr
