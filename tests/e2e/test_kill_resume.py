"""End to end: a training process killed with SIGKILL mid-epoch resumes from its backup in a
new process and ends with exactly the weights of an uninterrupted run with the same seed.

The child script trains a model with batch norm (buffers) and dropout (library RNG) with
Adam (optimizer state) on shuffled mini-batches (DataLoader state), backing up every 3
batches. After 17 batches (epoch 1, batch 7) it writes a marker file and slows down; the
parent kills it as soon as it sees the marker, at whatever point it has reached.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ngrad.io import load_tensors

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import ngrad
    from ngrad import nn
    from ngrad.io import save_weights
    from ngrad.train import BackupAndRestore, Callback, Model

    backup_dir, out, marker, kill_after, pause = sys.argv[1:6]
    kill_after, pause = int(kill_after), float(pause)

    class Marker(Callback):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            Marker.seen += 1
            if Marker.seen == kill_after and marker != "-":
                with open(marker, "w") as f:
                    f.write("ready")
            if Marker.seen >= kill_after:
                time.sleep(pause)  # the rest takes seconds: the parent's kill lands mid-run

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=200)
    X = (np.eye(3)[y] @ rng.standard_normal((3, 6)) * 2 + rng.standard_normal((200, 6))).astype(np.float32)

    ngrad.manual_seed(42)
    module = nn.Sequential(nn.Linear(6, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    model = Model(module)
    model.compile("adam", "cross_entropy", metrics=["accuracy"], lr=0.01)
    callbacks = [BackupAndRestore(backup_dir, save_freq=3), Marker()] if backup_dir != "-" else []
    model.fit(X, y, epochs=6, batch_size=16, validation_split=0.2, verbose=0, callbacks=callbacks)
    save_weights(module, out)
    restored = callbacks[0].restored if callbacks else None
    print("restored", restored, "epochs", len(model.history.epoch), "loss", model.history.history["loss"][-1])
    """
)


def run_child(script, *args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    backup_dir, marker = tmp_path / "backup", tmp_path / "marker"

    reference = finish(run_child(script, "-", tmp_path / "reference.npz", "-", 0, 0))

    victim = run_child(script, backup_dir, tmp_path / "unused.npz", marker, 17, 0.05)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert victim.poll() is None, victim.communicate()[1]
        assert time.monotonic() < deadline, "the child never reached the marker"
        time.sleep(0.005)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    backups = [p for p in os.listdir(backup_dir) if p.startswith("backup.")]
    assert backups, "no backup was written before the kill"

    resumed = finish(run_child(script, backup_dir, tmp_path / "resumed.npz", "-", 0, 0))
    assert "restored None" not in resumed, resumed
    assert resumed.split("epochs")[1] == reference.split("epochs")[1]  # same history length and last loss
    assert os.listdir(backup_dir) == []  # backup deleted when done, no temporary file left

    expected, _ = load_tensors(tmp_path / "reference.npz")
    got, _ = load_tensors(tmp_path / "resumed.npz")
    assert expected.keys() == got.keys()
    for name in expected:
        assert np.array_equal(expected[name], got[name]), name
