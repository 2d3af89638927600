"""Callbacks: hook order, EarlyStopping, ModelCheckpoint, BackupAndRestore (in process),
LearningRateScheduler, TerminateOnNaN, CSVLogger."""
import csv
import math
import os

import numpy as np
import pytest

import ngrad
from ngrad import nn
from ngrad.io import load_checkpoint, load_model, load_weights
from ngrad.train import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    Model,
    ModelCheckpoint,
    NonFiniteLossError,
    TerminateOnNaN,
)


def blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return (centers[y] + rng.standard_normal((n, 2))).astype(np.float32), y


def make_model(seed=0, lr=0.05, optimizer="adam", rich=False):
    ngrad.manual_seed(seed)
    if rich:  # buffers (batch norm) and randomness (dropout) to restore
        module = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    else:
        module = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    model = Model(module)
    model.compile(optimizer, "cross_entropy", metrics=["accuracy"], lr=lr)
    return model


def weights(model):
    return model.module.state_dict()


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), k


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def _rec(name):
        def hook(self, *args):
            self.calls.append((name,) + tuple(a for a in args[:-1] if isinstance(a, int)))
        return hook

    for _name in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                  "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
                  "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"):
        locals()[_name] = _rec(_name)
    del _name


def test_hook_order_and_model_and_params():
    X, y = blobs(30)
    rec = Recorder()
    model = make_model()
    model.fit(X, y, epochs=2, batch_size=20, verbose=0, validation_data=(X[:10], y[:10]), callbacks=[rec])
    epoch = [("on_train_batch_begin", 0), ("on_train_batch_end", 0), ("on_train_batch_begin", 1),
             ("on_train_batch_end", 1), ("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
             ("on_test_end",)]
    assert rec.calls == ([("on_train_begin",)] + [("on_epoch_begin", 0)] + epoch + [("on_epoch_end", 0)]
                         + [("on_epoch_begin", 1)] + epoch + [("on_epoch_end", 1), ("on_train_end",)])
    assert rec.model is model and rec.params["epochs"] == 2 and rec.params["steps"] == 2
    rec.calls.clear()
    model.predict(X, batch_size=30, callbacks=[rec])
    assert rec.calls == [("on_predict_begin",), ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
                         ("on_predict_end",)]


def test_stop_training_from_a_callback():
    class StopAfterTwoBatches(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    X, y = blobs()
    h = make_model().fit(X, y, epochs=5, batch_size=8, verbose=0, callbacks=[StopAfterTwoBatches()])
    assert len(h.history["loss"]) == 1


# ----------------------------------------------------------- early stopping
def test_early_stopping_patience_when_nothing_improves():
    X, y = blobs()
    model = make_model(lr=0.0, optimizer="sgd")  # nothing changes: only epoch 0 improves
    es = EarlyStopping(monitor="val_loss", patience=2)
    h = model.fit(X, y, epochs=10, verbose=0, validation_split=0.25, callbacks=[es])
    assert len(h.epoch) == 3 and es.stopped_epoch == 2 and es.best_epoch == 0


def test_early_stopping_restores_best_weights():
    model = make_model()
    es = EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    es.set_model(model)
    es.on_train_begin()
    best = weights(model)
    es.on_epoch_end(0, {"val_accuracy": 0.9})
    for epoch, value in ((1, 0.8), (2, 0.85)):
        for p in model.module.parameters():
            p.data += 1.0
        es.on_epoch_end(epoch, {"val_accuracy": value})
    assert model.stop_training and es.stopped_epoch == 2
    for k, v in weights(model).items():
        assert np.array_equal(v, best[k])


def test_early_stopping_min_delta_and_missing_monitor():
    es = EarlyStopping(monitor="loss", min_delta=0.1, patience=1)
    es.set_model(make_model())
    es.on_train_begin()
    es.on_epoch_end(0, {"loss": 1.0})
    es.on_epoch_end(1, {"loss": 0.95})  # less than min_delta: no improvement
    assert es.model.stop_training
    with pytest.warns(UserWarning, match="'val_auc' is not in the logs"):
        odd = EarlyStopping(monitor="val_auc")
        odd.set_model(make_model())
        odd.on_train_begin()
        odd.on_epoch_end(0, {"loss": 1.0})


# --------------------------------------------------------------- checkpoint
@pytest.mark.parametrize("suffix", ["safetensors", "npz"])
def test_model_checkpoint_every_epoch_with_formatted_names(tmp_path, suffix):
    X, y = blobs()
    model = make_model()
    ckpt = ModelCheckpoint(tmp_path / ("ckpt-{epoch:02d}." + suffix))
    model.fit(X, y, epochs=2, verbose=0, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == [f"ckpt-01.{suffix}", f"ckpt-02.{suffix}"]
    state = load_checkpoint(tmp_path / f"ckpt-02.{suffix}", make_model(1))
    assert state["epoch"] == 2 and state["logs"]["loss"] == model.history.history["loss"][1]
    np.testing.assert_array_equal(load_model(tmp_path / f"ckpt-02.{suffix}")(ngrad.tensor(X)).numpy(),
                                  model.predict(X))


def test_model_checkpoint_save_best_only(tmp_path):
    model = make_model()
    ckpt = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True, save_weights_only=True)
    ckpt.set_model(model)
    ckpt.on_epoch_end(0, {"loss": 1.0, "val_loss": 0.5})
    saved = weights(model)
    for p in model.module.parameters():
        p.data += 1.0
    ckpt.on_epoch_end(1, {"loss": 1.0, "val_loss": 0.7})  # worse: not saved
    restored = make_model(3)
    load_weights(restored, tmp_path / "best.npz")
    for k, v in weights(restored).items():
        assert np.array_equal(v, saved[k])


def test_model_checkpoint_bad_filepath():
    with pytest.raises(ValueError, match=r"\.safetensors"):
        ModelCheckpoint("model.h5")
    ckpt = ModelCheckpoint("m-{val_acc}.npz")
    ckpt.set_model(make_model())
    with pytest.raises(ValueError, match="cannot fill in"):
        ckpt.on_epoch_end(0, {"loss": 1.0})


# ------------------------------------------------------- backup and restore
class Crash(Exception):
    pass


class CrashAt(Callback):
    """Simulates a killed process: raises after a given batch of a given epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_train_batch_end(self, batch, logs=None):
        if (self.model.epoch, batch) == self.at:
            raise Crash


@pytest.mark.parametrize("save_freq, crash", [("epoch", (2, 3)), (2, (1, 4)), (3, (0, 5))])
def test_backup_and_restore_resumes_exactly(tmp_path, save_freq, crash):
    X, y = blobs()
    fit_args = dict(epochs=4, batch_size=10, verbose=0, validation_split=0.2)

    reference = make_model(rich=True)
    ref_history = reference.fit(X, y, **fit_args).history

    crashed = make_model(rich=True)
    backup = BackupAndRestore(tmp_path, save_freq=save_freq)
    with pytest.raises(Crash):
        crashed.fit(X, y, callbacks=[backup, CrashAt(*crash)], **fit_args)
    assert os.path.exists(backup.path)

    ngrad.manual_seed(12345)  # a new process: the library generator is elsewhere
    resumed = make_model(rich=True)
    ngrad.manual_seed(777)
    backup = BackupAndRestore(tmp_path, save_freq=save_freq)
    history = resumed.fit(X, y, callbacks=[backup], **fit_args).history
    assert backup.restored is not None
    assert_same_weights(resumed, reference)
    assert history == ref_history
    assert not os.path.exists(backup.path)  # deleted once training completed


def test_backup_restores_nothing_without_a_backup(tmp_path):
    X, y = blobs(40)
    backup = BackupAndRestore(tmp_path)
    make_model().fit(X, y, epochs=1, verbose=0, callbacks=[backup])
    assert backup.restored is None and os.listdir(tmp_path) == []


# ---------------------------------------------------------------- schedules
def test_learning_rate_scheduler_two_and_one_argument_schedules():
    X, y = blobs(40)
    model = make_model(lr=0.1)
    h = model.fit(X, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    assert h.history["lr"] == [0.05, 0.025, 0.0125]
    model = make_model(lr=0.1)
    h = model.fit(X, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert h.history["lr"] == [0.01, 0.02]
    assert model.optimizer.param_groups[0]["lr"] == 0.02


def test_learning_rate_scheduler_with_backup_applies_schedule_once(tmp_path):
    X, y = blobs()
    args = dict(epochs=3, batch_size=10, verbose=0)
    halve = lambda epoch, lr: lr * 0.5  # noqa: E731
    reference = make_model()
    reference.fit(X, y, callbacks=[LearningRateScheduler(halve)], **args)
    crashed = make_model()
    with pytest.raises(Crash):
        crashed.fit(X, y, callbacks=[LearningRateScheduler(halve), BackupAndRestore(tmp_path, save_freq=2),
                                     CrashAt(1, 4)], **args)
    resumed = make_model()
    resumed.fit(X, y, callbacks=[LearningRateScheduler(halve), BackupAndRestore(tmp_path, save_freq=2)], **args)
    assert resumed.optimizer.param_groups[0]["lr"] == reference.optimizer.param_groups[0]["lr"]
    assert_same_weights(resumed, reference)


def test_learning_rate_scheduler_rejects_bad_values():
    X, y = blobs(20)
    with pytest.raises(ValueError, match="returned nan for epoch 0"):
        make_model().fit(X, y, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: math.nan)])


# ------------------------------------------------------------------- NaN
def nan_data(bad_index=35):
    X, y = blobs(60)
    X[bad_index, 0] = np.nan  # batch 35 // 10 = 3 (0-based) of each epoch
    return X, y


def test_terminate_on_nan_names_epoch_and_batch(capsys):
    X, y = nan_data()
    stopper = TerminateOnNaN()
    h = make_model().fit(X, y, epochs=3, batch_size=10, shuffle=False, verbose=0, callbacks=[stopper])
    assert "epoch 1/3, batch 4/6" in stopper.message and "nan" in stopper.message
    assert stopper.message in capsys.readouterr().out
    assert len(h.epoch) == 1 and math.isnan(h.history["loss"][0])


def test_terminate_on_nan_raises_and_keeps_last_good_checkpoints(tmp_path):
    X, y = nan_data()
    model = make_model()
    ckpt_path = tmp_path / "ckpt.safetensors"
    callbacks = [ModelCheckpoint(ckpt_path, save_freq=1, save_weights_only=True),
                 BackupAndRestore(tmp_path / "backup", save_freq=1), TerminateOnNaN(raise_error=True)]
    good = {}

    class KeepGood(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if math.isfinite(logs["loss"]):
                good.update(weights(self.model))

    with pytest.warns(UserWarning, match="not saving at epoch 1"):
        with pytest.raises(NonFiniteLossError, match=r"epoch 1/2, batch 4/6"):
            model.fit(X, y, epochs=2, batch_size=10, shuffle=False, verbose=0, callbacks=[KeepGood()] + callbacks)
    restored = make_model(5)
    load_weights(restored, ckpt_path)
    for k, v in weights(restored).items():
        assert np.array_equal(v, good[k])
        assert np.isfinite(v).all()
    assert os.path.exists(callbacks[1].path)  # the backup survives for a fixed rerun
    load_checkpoint(callbacks[1].path, make_model(6))


# -------------------------------------------------------------------- CSV
def test_csv_logger(tmp_path):
    X, y = blobs(40)
    path = tmp_path / "log.csv"
    make_model().fit(X, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    make_model().fit(X, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    lines = open(path).read().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,") and lines[3].startswith("0,")
