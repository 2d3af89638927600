"""Callbacks for ``Model.fit`` with Keras's names and hooks.

* :class:`ProgbarLogger`: the progress bar (added by ``fit`` for ``verbose`` 1 and 2).
* :class:`History`: per-epoch logs (added by ``fit``; returned by it).
* :class:`EarlyStopping`: stop when a monitored value stops improving.
* :class:`ModelCheckpoint`: save the model every epoch (or N batches), or its best.
* :class:`BackupAndRestore`: resume a killed run exactly where its last backup was.
* :class:`LearningRateScheduler`: set the learning rate at each epoch.
* :class:`TerminateOnNaN`: stop (or raise) when the loss becomes NaN or infinite.
* :class:`CSVLogger`: one CSV row per epoch.

No checkpointing callback ever writes while the loss or a weight is NaN or
infinite, so the last good file survives a diverging run.
"""
from __future__ import annotations

import inspect
import math
import os
import warnings

import numpy

from ngrad.train.base import Callback, CallbackList
from ngrad.train.history import History
from ngrad.train.progbar import Progbar

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "NonFiniteLossError",
    "ProgbarLogger",
    "TerminateOnNaN",
]


class NonFiniteLossError(FloatingPointError):
    """Raised by ``TerminateOnNaN(raise_error=True)``; the message names the epoch and batch."""


# ----------------------------------------------------------------- progress
class ProgbarLogger(Callback):
    """Shows progress: a live bar per epoch on a terminal, else one line per epoch.

    See :mod:`ngrad.train.progbar` for what each ``verbose`` level prints.
    ``evaluate`` and ``predict`` get one bar (one line) each; the validation
    pass inside ``fit`` shows only as the ``val_*`` values of the epoch line.
    """

    def __init__(self, verbose: int = 1):
        super().__init__()
        self.verbose = verbose
        self.bar = None
        self._step = 0
        self._in_fit = False

    def _start(self, title: str) -> None:
        self.bar = Progbar(self.params.get("steps"), title, self.verbose)
        self._step = 0

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}")

    def on_train_batch_end(self, batch, logs=None):
        self._step = batch + 1
        self.bar.update(self._step, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close(self._step, logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start("evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._step = batch + 1
            self.bar.update(self._step, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self.bar.close(self._step, logs)

    def on_predict_begin(self, logs=None):
        self._start("predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._step = batch + 1
        self.bar.update(self._step)

    def on_predict_end(self, logs=None):
        self.bar.close(self._step)


# ------------------------------------------------------------------ helpers
def _mode_sign(mode: str, monitor: str, who: str) -> int:
    """+1 when larger is better, -1 when smaller is better."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        name = monitor.removeprefix("val_")
        return 1 if name in ("acc", "accuracy", "auc") or name.endswith(("accuracy", "_acc", "auc")) else -1
    return 1 if mode == "max" else -1


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except TypeError:
        return True


def _healthy(model, logs) -> bool:
    """True when the logged loss and every weight are finite (safe to checkpoint)."""
    if not _finite((logs or {}).get("loss", 0.0)):
        return False
    return all(bool(numpy.isfinite(p.data).all()) for p in model.module.parameters())


def _monitored(logs, monitor: str, who: str, warned: set):
    value = (logs or {}).get(monitor)
    if value is None and monitor not in warned:
        warned.add(monitor)
        warnings.warn(
            f"{who}: '{monitor}' is not in the logs (available: {', '.join(sorted(logs or {}))}); "
            f"pass validation data or choose another monitor",
            UserWarning,
            stacklevel=3,
        )
    return value


# ------------------------------------------------------------ early stopping
class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A log key, e.g. ``"val_loss"`` or ``"val_accuracy"``.
    min_delta : float
        An improvement smaller than this does not count.
    patience : int
        Epochs without improvement before stopping.
    mode : {'auto', 'min', 'max'}
        'auto' maximizes accuracies and minimizes everything else.
    baseline : float, optional
        Stop unless the monitored value beats this.
    restore_best_weights : bool
        On stopping, put back the weights of the best epoch.
    start_from_epoch : int
        Epochs to let pass before watching.

    Attributes
    ----------
    best, best_epoch, stopped_epoch (0-based; 0 when it never stopped the run)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline=None, restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.sign = _mode_sign(mode, monitor, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._warned: set = set()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -math.inf * self.sign
        self.best_epoch = 0
        self.best_weights = None

    def _improves(self, value, reference) -> bool:
        return self.sign * (value - reference) > self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping", self._warned)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.module.state_dict()  # a fallback if nothing ever improves
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.module.state_dict()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.module.load_state_dict(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            restored = f"; restored the weights of epoch {self.best_epoch + 1}" if self.restore_best_weights else ""
            print(f"Epoch {self.stopped_epoch + 1}: early stopping ({self.monitor} best {self.best:.4f}{restored})")


# -------------------------------------------------------------- checkpoints
class ModelCheckpoint(Callback):
    """Save the model during training, every epoch (or every N batches), or only its best.

    Parameters
    ----------
    filepath : str or PathLike
        Ending in ``.safetensors`` or ``.npz``; may use ``{epoch}`` (1-based,
        e.g. ``"ckpt-{epoch:03d}.safetensors"``), ``{batch}`` and log keys
        (``{val_loss:.3f}``).
    monitor : str
        The log key judged by ``save_best_only``.
    save_best_only : bool
        Save only when ``monitor`` improves on the best so far.
    save_weights_only : bool
        Weights only (:func:`ngrad.io.save_weights`); otherwise a checkpoint
        with weights, optimizer state and the architecture when the module
        has a config (:func:`ngrad.io.save_checkpoint`; ``load_model`` reads it).
    mode : {'auto', 'min', 'max'}
    save_freq : 'epoch' or int
        Save at every epoch end, or every ``save_freq`` batches of an epoch.
    initial_value_threshold : float, optional
        With ``save_best_only``, a value the first save must beat.

    Files are written atomically, and never while the loss or a weight is
    NaN or infinite.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq="epoch",
                 initial_value_threshold=None):
        from ngrad.io import file_format

        super().__init__()
        self.filepath = os.fspath(filepath)
        file_format(self.filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.sign = _mode_sign(mode, monitor, "ModelCheckpoint")
        self.save_freq = _check_save_freq(save_freq, "ModelCheckpoint")
        self.best = initial_value_threshold if initial_value_threshold is not None else -math.inf * self.sign
        self.last_saved = None
        self._warned: set = set()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch" and (batch + 1) % self.save_freq == 0:
            self._save(self.model.epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch: int, batch, logs) -> None:
        if not _healthy(self.model, logs):
            warnings.warn(f"ModelCheckpoint: not saving at epoch {epoch + 1}: the loss or a weight is not finite",
                          UserWarning, stacklevel=3)
            return
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint", self._warned)
            if current is None or not self.sign * (current - self.best) > 0:
                return
            self.best = current
        path = self._format_path(epoch, batch, logs)
        self._write(path, epoch, logs)
        self.last_saved = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")

    def _format_path(self, epoch: int, batch, logs) -> str:
        fields = {**(logs or {}), "epoch": epoch + 1, "batch": "end" if batch is None else batch + 1}
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"ModelCheckpoint: cannot fill in {self.filepath!r} ({e!r}); the fields are "
                f"{', '.join(sorted(fields))}"
            ) from None

    def _write(self, path: str, epoch: int, logs) -> None:
        from ngrad.io import save_checkpoint, save_weights

        if self.save_weights_only:
            save_weights(self.model.module, path)
        else:
            save_checkpoint(self.model, path, state={"epoch": epoch + 1, "logs": dict(logs or {})})


def _check_save_freq(save_freq, who: str):
    if save_freq == "epoch":
        return save_freq
    if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
        raise ValueError(f"{who}: save_freq must be 'epoch' or a positive number of batches, got {save_freq!r}")
    return save_freq


class BackupAndRestore(Callback):
    """Back the run up as it goes, so that a killed run resumes exactly where it was.

    A backup holds the weights and buffers, the optimizer state, the position
    (epoch and batch), the DataLoader's shuffling state, the library RNG
    state (dropout), the partial sums of the epoch's metrics and the history.
    Starting ``fit`` again with the same model, data and arguments restores
    it and continues: the run ends with exactly the weights an uninterrupted
    run would have. The backup is deleted when training completes.

    Parameters
    ----------
    backup_dir : str or PathLike
        Holds ``backup.safetensors`` (``backup.npz`` without safetensors).
    save_freq : 'epoch' or int
        Back up at every epoch end, and with an int also after every
        ``save_freq``-th batch of an epoch.
    delete_checkpoint : bool
        Delete the backup once training completes (not after a crash, nor
        after a run stopped by a non-finite loss).

    Notes
    -----
    Other callbacks' own state (EarlyStopping's patience count, ...) is not
    part of the backup. A backup is never written while the loss or a weight
    is not finite.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint: bool = True):
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = _check_save_freq(save_freq, "BackupAndRestore")
        self.delete_checkpoint = delete_checkpoint
        self.path = os.path.join(self.backup_dir, "backup" + _default_suffix())
        self.restored = None  # the position restored, (epoch, batch), or None
        self._healthy = True

    def on_train_begin(self, logs=None):
        self._healthy = True
        self.restored = None
        self._remove_stale_temporaries()
        if os.path.exists(self.path):
            self._restore()

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary files of backups whose writing a crash interrupted."""
        prefix = f".{os.path.basename(self.path)}."
        if os.path.isdir(self.backup_dir):
            for name in os.listdir(self.backup_dir):
                if name.startswith(prefix) and name.endswith(".tmp"):
                    os.remove(os.path.join(self.backup_dir, name))

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch" and (batch + 1) % self.save_freq == 0:
            self._backup(logs, self.model.epoch, mid_epoch=True)

    def on_epoch_end(self, epoch, logs=None):
        self._backup(logs, epoch, mid_epoch=False)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and self._healthy and os.path.exists(self.path):
            os.remove(self.path)

    def _backup(self, logs, epoch: int, mid_epoch: bool) -> None:
        from ngrad.io import save_checkpoint
        from ngrad.random import get_rng_state

        if not _healthy(self.model, logs):
            self._healthy = False
            return
        model = self.model
        if mid_epoch:
            epochs, history = list(model.history.epoch), model.history.history
        else:
            epochs, history = model.history.with_epoch(epoch, logs)
        state = {
            "epoch": epoch if mid_epoch else epoch + 1,
            "loader": model.train_loader.state_dict(),
            "metrics": [m.get_state() for m in model.metrics] if mid_epoch else None,
            "history": {"epoch": epochs, "history": history},
            "rng": get_rng_state(),
        }
        save_checkpoint(model, self.path, optimizer=model.optimizer, state=state)

    def _restore(self) -> None:
        from ngrad.io import load_checkpoint
        from ngrad.random import set_rng_state

        model = self.model
        state = load_checkpoint(self.path, model, optimizer=model.optimizer)
        model.train_loader.load_state_dict(state["loader"])
        model._initial_epoch = int(state["epoch"])
        model._pending_metric_state = state["metrics"]
        model.history.epoch = list(state["history"]["epoch"])
        model.history.history = {k: list(v) for k, v in state["history"]["history"].items()}
        set_rng_state(state["rng"])
        self.restored = (model._initial_epoch, model.train_loader.batch)


def _default_suffix() -> str:
    try:
        import safetensors.numpy  # noqa: F401
    except ImportError:
        return ".npz"
    return ".safetensors"


# --------------------------------------------------------------- schedules
class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch: ``lr = schedule(epoch, lr)``.

    ``schedule`` takes the 0-based epoch and the current learning rate (or
    just the epoch) and returns the new rate; it is applied to every param
    group. The closed-form schedules of :mod:`ngrad.optim.lr_scheduler` take
    the initial rate, e.g.
    ``LearningRateScheduler(lambda epoch, lr: step_decay(epoch, 0.1, step_size=10))``.
    The rate is logged as ``lr``. A run resumed mid-epoch keeps the restored rate
    instead of applying the schedule to that epoch twice.
    """

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _n_positional(schedule) != 1

    def on_epoch_begin(self, epoch, logs=None):
        loader = self.model.train_loader
        if loader is not None and loader.batch > 0:
            return  # resumed mid-epoch: this epoch's rate was restored with the optimizer
        for group in self.model.optimizer.param_groups:
            lr = self.schedule(epoch, group["lr"]) if self._takes_lr else self.schedule(epoch)
            if not isinstance(lr, (int, float, numpy.floating, numpy.integer)) or not lr >= 0 or not _finite(lr):
                raise ValueError(f"LearningRateScheduler: the schedule returned {lr!r} for epoch {epoch}")
            group["lr"] = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {self.model.optimizer.param_groups[0]['lr']:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.model.optimizer.param_groups[0]["lr"]


def _n_positional(fn) -> int:
    """How many positional arguments ``fn`` takes (2 when it cannot be told)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in params)


# -------------------------------------------------------------- NaN guard
class TerminateOnNaN(Callback):
    """Stop training as soon as the loss becomes NaN or infinite.

    Parameters
    ----------
    raise_error : bool
        Raise :class:`NonFiniteLossError` instead of setting
        ``model.stop_training`` (and printing the message).

    Attributes
    ----------
    message : str or None
        Names the epoch and batch (1-based, as the progress bar counts).
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or _finite(loss):
            return
        self.message = (
            f"TerminateOnNaN: the loss became {loss} at epoch {self.model.epoch + 1}/{self.params.get('epochs', '?')}, "
            f"batch {batch + 1}/{self.params.get('steps', '?')}; training stopped, no checkpoint written since"
        )
        self.model.stop_training = True
        if self.raise_error:
            raise NonFiniteLossError(self.message)
        print(self.message)


# ----------------------------------------------------------------- CSV log
class CSVLogger(Callback):
    """Write one row per epoch (``epoch`` then the log keys, sorted) to a CSV file.

    The whole file is rewritten atomically after each epoch, so it is always
    complete. With ``append``, rows go after those of an existing file.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append

    def on_train_begin(self, logs=None):
        self._prefix = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as f:
                self._prefix = f.read()
            if self._prefix and not self._prefix.endswith("\n"):
                self._prefix += "\n"
        self._keys = None
        self._lines: list = []

    def on_epoch_end(self, epoch, logs=None):
        from ngrad.io import atomic_write

        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            if not self._prefix:
                self._lines.append(self.separator.join(["epoch", *self._keys]))
        row = [str(epoch)] + [_csv_value(logs.get(k, "")) for k in self._keys]
        self._lines.append(self.separator.join(row))
        atomic_write(self.filename, (self._prefix + "\n".join(self._lines) + "\n").encode("utf-8"))


def _csv_value(v) -> str:
    return repr(float(v)) if isinstance(v, (float, numpy.floating)) else str(v)
