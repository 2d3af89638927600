"""Babysitting one model ("panda" mode, Course 2 week 3).

Without the compute to train many models at once, you watch one: train an
epoch, look at the curve, checkpoint, nudge the learning rate up or down, and
go back to an earlier checkpoint when things blow up. :func:`babysit` does that
loop around your own ``train_one_epoch(state, lr)``; it needs no training loop
of its own. :func:`babysit_model` does it for a compiled :class:`ngrad.train.Model`.

``state`` is whatever you train: a module, an optimizer, or a dict of them (and
of arrays and numbers). Anything with ``state_dict()`` / ``load_state_dict()``
is checkpointed through them; other state needs ``save=`` / ``load=`` hooks.

>>> import numpy as np
>>> state = {"w": np.array(5.0)}
>>> def train_one_epoch(state, lr):           # gradient descent on w**2
...     state["w"] = state["w"] - lr * 2 * state["w"]
...     return float(state["w"] ** 2)
>>> run = babysit(train_one_epoch, state, epochs=6, lr=0.1, lr_plan={3: 0.4})
>>> [h["lr"] for h in run.history]
[0.1, 0.1, 0.1, 0.4, 0.4, 0.4]
>>> run.best_epoch
5
"""
from __future__ import annotations

import copy
import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Babysitter", "babysit", "babysit_model"]

ON_DIVERGENCE = ("restore", "stop", "continue")


@dataclass
class Babysitter:
    """The record of a babysat run, and the way back to any of its checkpoints.

    Attributes
    ----------
    history : list of dict
        One entry per epoch: ``epoch``, ``lr``, the metric (and anything else
        ``train_one_epoch`` returned), ``event`` (learning-rate changes,
        restores) and ``checkpoint``.
    metric : str
    maximize : bool
    state
        The trained state (changed in place).
    """

    history: list
    metric: str
    maximize: bool
    state: object = None
    checkpoints: dict = field(default_factory=dict)
    _load: object = None

    @property
    def curve(self) -> np.ndarray:
        """The metric per epoch (NaN where training diverged)."""
        return np.array([h[self.metric] for h in self.history], dtype=float)

    @property
    def best_epoch(self):
        """The epoch with the best finite metric (``None`` if there is none)."""
        good = [h for h in self.history if math.isfinite(h[self.metric])]
        if not good:
            return None
        pick = max if self.maximize else min
        return pick(good, key=lambda h: h[self.metric])["epoch"]

    def restore(self, epoch=None):
        """Load the checkpoint of ``epoch`` (default: the best epoch) into ``state``."""
        epoch = self.best_epoch if epoch is None else epoch
        if epoch not in self.checkpoints:
            raise KeyError(f"no checkpoint for epoch {epoch}; checkpoints exist for {sorted(self.checkpoints)}")
        self._load(self.state, self.checkpoints[epoch])
        return self.state

    def rows(self) -> list:
        return [{k: (str(v) if k == "checkpoint" and v is not None else v) for k, v in h.items()}
                for h in self.history]

    def to_csv(self, path) -> Path:
        rows = self.rows()
        columns = list(dict.fromkeys(k for r in rows for k in r))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        return path

    def plot(self, path) -> Path:
        """Save a PNG of the metric (top) and the learning rate (bottom, log scale) per epoch."""
        from ngrad.metrics import new_figure, save_figure

        epochs = [h["epoch"] for h in self.history]
        fig = new_figure(figsize=(6, 5))
        ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        ax1.plot(epochs, self.curve, marker="o", ms=3)
        for h in self.history:
            if h["event"]:
                ax1.axvline(h["epoch"], color="C3", alpha=0.3, lw=1)
        ax1.set_ylabel(self.metric)
        ax1.set_title(f"{self.metric} per epoch (red lines: learning-rate changes, restores)")
        ax1.grid(alpha=0.3)
        ax2.step(epochs, [h["lr"] for h in self.history], where="post")
        ax2.set_yscale("log")
        ax2.set_ylabel("learning rate")
        ax2.set_xlabel("epoch")
        ax2.grid(alpha=0.3)
        fig.tight_layout()
        return save_figure(fig, path)


def babysit(
    train_one_epoch,
    state,
    epochs,
    lr,
    lr_plan=None,
    metric="loss",
    maximize=False,
    checkpoint_dir=None,
    save=None,
    load=None,
    on_divergence="restore",
    backoff=0.5,
    verbose=False,
):
    """Train one model epoch by epoch with checkpoints and learning-rate changes.

    Parameters
    ----------
    train_one_epoch : callable
        ``train_one_epoch(state, lr)`` trains one epoch in place and returns the
        metric to watch (a float, or a dict holding ``metric``).
    state : object
        What is trained (see the module docstring).
    epochs : int
    lr : float
        The starting learning rate.
    lr_plan : dict or callable, optional
        ``{epoch: new_lr}`` applied at the start of those epochs (0-based), or
        ``lr_plan(epoch, lr, history) -> new_lr or None`` to decide as you go.
    metric : str
        The watched metric's name (``"loss"``).
    maximize : bool
        Whether higher is better for ``metric``.
    checkpoint_dir : str or Path, optional
        Write a checkpoint per epoch there (``epoch_000.npz``...); otherwise
        checkpoints are kept in memory.
    save, load : callable, optional
        ``save(state, path)`` / ``load(state, path)`` hooks for state that has no
        ``state_dict()``; they need ``checkpoint_dir``.
    on_divergence : {"restore", "stop", "continue"}
        When the metric is NaN or infinite: go back to the last good checkpoint
        and multiply the learning rate by ``backoff`` (default), stop, or go on.
    backoff : float
        Learning-rate factor after a restore.
    verbose : bool
        Print a line per epoch.

    Returns
    -------
    Babysitter
    """
    if on_divergence not in ON_DIVERGENCE:
        raise ValueError(f"on_divergence must be one of {ON_DIVERGENCE}, got {on_divergence!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    saver, loader = _hooks(state, checkpoint_dir, save, load)
    run = Babysitter(history=[], metric=metric, maximize=bool(maximize), state=state, _load=loader)
    last_good = None
    for epoch in range(int(epochs)):
        lr, events = _plan(lr_plan, epoch, lr, run.history)
        value, extra = _watch(train_one_epoch(state, lr), metric)
        entry = {"epoch": epoch, "lr": lr, metric: value, **extra, "event": "", "checkpoint": None}
        run.history.append(entry)
        if not math.isfinite(value):
            events.append(f"{metric} is {value}")
            if on_divergence == "restore" and last_good is not None:
                loader(state, run.checkpoints[last_good])
                lr *= backoff
                events.append(f"restored epoch {last_good}, lr -> {lr:.3g}")
            elif on_divergence != "continue":
                entry["event"] = "; ".join(events + ["stopped"])
                _say(verbose, entry, metric)
                break
        else:
            run.checkpoints[epoch] = entry["checkpoint"] = saver(state, epoch)
            last_good = epoch
        entry["event"] = "; ".join(events)
        _say(verbose, entry, metric)
    return run


def babysit_model(
    model,
    X,
    y,
    epochs,
    lr=None,
    lr_plan=None,
    validation_data=None,
    batch_size=32,
    metric=None,
    maximize=False,
    checkpoint_dir=None,
    on_divergence="restore",
    backoff=0.5,
    seed=0,
    verbose=False,
):
    """:func:`babysit` a compiled :class:`ngrad.train.Model`, one ``fit`` epoch at a time.

    Each epoch sets the optimizer's learning rate, trains one epoch with
    ``model.fit`` and checkpoints the module and optimizer state (in memory,
    or as ``.npz`` files in ``checkpoint_dir``).

    Parameters
    ----------
    model : ngrad.train.Model
        Compiled (``model.compile(optimizer=..., loss=...)``).
    X, y : array_like
        Training data.
    epochs : int
    lr : float, optional
        Starting learning rate (default: the optimizer's).
    lr_plan : dict or callable, optional
        ``{epoch: new_lr}`` or ``lr_plan(epoch, lr, history)``, as in :func:`babysit`.
    validation_data : (X_val, y_val), optional
        Evaluated after each epoch (``val_loss``, ``val_<metric>``).
    metric : str, optional
        The log key to watch: ``"val_loss"`` with validation data, else ``"loss"``.
    maximize, checkpoint_dir, on_divergence, backoff, verbose
        As in :func:`babysit`.
    seed : int
        Shuffling seed of the first epoch (``seed + epoch`` afterwards).

    Returns
    -------
    Babysitter
        Its history holds every log of every epoch (``loss``, ``val_loss``...).
    """
    if getattr(model, "optimizer", None) is None:
        raise RuntimeError("babysit_model: compile the model first (model.compile(optimizer=..., loss=...))")
    lr = float(model.optimizer.param_groups[0]["lr"]) if lr is None else lr
    metric = metric or ("val_loss" if validation_data is not None else "loss")
    epoch_counter = iter(range(int(epochs)))

    def train_one_epoch(state, lr):
        for group in model.optimizer.param_groups:
            group["lr"] = lr
        history = model.fit(X, y, epochs=1, batch_size=batch_size, validation_data=validation_data,
                            verbose=0, seed=seed + next(epoch_counter))
        return {k: v[-1] for k, v in history.history.items()}

    state = {"module": model.module, "optimizer": model.optimizer}
    return babysit(train_one_epoch, state, epochs, lr, lr_plan=lr_plan, metric=metric, maximize=maximize,
                   checkpoint_dir=checkpoint_dir, on_divergence=on_divergence, backoff=backoff, verbose=verbose)


def _plan(lr_plan, epoch, lr, history):
    """(learning rate for ``epoch``, events)."""
    if lr_plan is None:
        return lr, []
    new = lr_plan(epoch, lr, history) if callable(lr_plan) else lr_plan.get(epoch)
    if new is None or new == lr:
        return lr, []
    if not (isinstance(new, (int, float)) and new > 0):
        raise ValueError(f"lr_plan gave {new!r} for epoch {epoch}; learning rates must be positive numbers")
    return float(new), [f"lr {lr:.3g} -> {new:.3g}"]


def _watch(out, metric):
    if hasattr(out, "items"):
        if metric not in out:
            raise KeyError(f"train_one_epoch returned {sorted(out)} without {metric!r}; pass metric=")
        return float(out[metric]), {k: v for k, v in out.items() if k != metric}
    return float(out), {}


def _say(verbose, entry, metric):
    if verbose:
        note = f"  [{entry['event']}]" if entry["event"] else ""
        print(f"epoch {entry['epoch']:4d}  lr {entry['lr']:.3g}  {metric} {entry[metric]:.6g}{note}", flush=True)


# ------------------------------------------------------------- checkpoints
def _hooks(state, checkpoint_dir, save, load):
    """(save(state, epoch) -> checkpoint, load(state, checkpoint))."""
    if (save is None) != (load is None):
        raise ValueError("give both save= and load= hooks, or neither")
    if save is not None:
        if checkpoint_dir is None:
            raise ValueError("save=/load= hooks need checkpoint_dir= (where the checkpoint files go)")
        folder = _folder(checkpoint_dir)
        return (lambda s, e: _saved(save, s, folder / f"epoch_{e:03d}")), load
    _capture(state)  # fail now, not after an epoch, when the state cannot be captured
    if checkpoint_dir is None:
        return (lambda s, e: _capture(s)), _apply
    folder = _folder(checkpoint_dir)
    return (lambda s, e: _write(_capture(s), folder / f"epoch_{e:03d}.npz")), (lambda s, p: _apply(s, _read(p)))


def _folder(checkpoint_dir):
    folder = Path(checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _saved(save, state, path):
    save(state, path)
    return path


def _capture(state):
    """A deep copy of ``state`` as plain data (state_dicts, arrays, numbers, dicts, lists)."""
    if hasattr(state, "state_dict") and hasattr(state, "load_state_dict"):
        return copy.deepcopy(_numpy_tree(state.state_dict()))
    if isinstance(state, dict):
        return {k: _capture(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [_capture(v) for v in state]
    if state is None or isinstance(state, (bool, int, float, str, np.ndarray, np.generic)):
        return copy.deepcopy(state)
    from ngrad.tensor import Tensor

    if isinstance(state, Tensor):
        return state.numpy().copy()
    raise TypeError(
        f"babysit cannot checkpoint a {type(state).__name__}: give it state_dict()/load_state_dict(), "
        "or pass save=(state, path) and load=(state, path) hooks with checkpoint_dir="
    )


def _numpy_tree(obj):
    from ngrad.tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.numpy().copy()
    if isinstance(obj, dict):
        return {k: _numpy_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_numpy_tree(v) for v in obj)
    return obj


def _apply(state, snap):
    """Put a :func:`_capture` snapshot back into ``state`` in place."""
    if hasattr(state, "load_state_dict"):
        state.load_state_dict(copy.deepcopy(snap))
    elif isinstance(state, dict):
        for k, v in snap.items():
            if k in state and _structured(state[k]):
                _apply(state[k], v)
            else:
                state[k] = copy.deepcopy(v)
    elif isinstance(state, list):
        for i, v in enumerate(snap):
            if _structured(state[i]):
                _apply(state[i], v)
            else:
                state[i] = copy.deepcopy(v)
    else:
        from ngrad.tensor import Tensor

        if isinstance(state, Tensor):
            state.data[...] = snap
        elif isinstance(state, np.ndarray):
            state[...] = snap
        else:
            raise TypeError(f"cannot restore a {type(state).__name__} in place; keep it inside a dict")


def _structured(obj):
    from ngrad.tensor import Tensor

    return hasattr(obj, "load_state_dict") or isinstance(obj, (dict, list, Tensor))


def _write(snap, path):
    from ngrad.io import flatten_state, save_tensors

    arrays, skeleton = flatten_state(snap, "state")
    save_tensors(arrays, path, {"format": "babysit", "state": skeleton})
    return path


def _read(path):
    from ngrad.io import load_tensors, unflatten_state

    arrays, meta = load_tensors(path)
    return unflatten_state(meta["state"], arrays)
