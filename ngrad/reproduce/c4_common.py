"""What the Course 4 experiments share: SIGNS as NCHW batches, a Keras-style training run with
per-epoch timing, and subsets of classes for the transfer-learning experiment."""
from __future__ import annotations

import math
import time

import numpy as np

import ngrad
from ngrad.data import course_files
from ngrad.train.base import Callback


def load_signs_nchw(data_dir, dtype=np.float32):
    """SIGNS as the course prepares it (pixels / 255), transposed once to ngrad's NCHW.

    Returns ``X_train (1080, 3, 64, 64), y_train (1080,), X_test (120, 3, 64, 64), y_test (120,)``.
    """
    X_train, y_train, X_test, y_test, _ = course_files.load_signs(data_dir)
    prep = lambda X: np.ascontiguousarray((X / 255.0).astype(dtype).transpose(0, 3, 1, 2))  # noqa: E731
    return prep(X_train), y_train, prep(X_test), y_test


def quick_subset(X, y, per_class: int, seed: int = 0):
    """``per_class`` examples of each class (the first ones after a seeded shuffle), for quick runs."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    keep = np.concatenate([order[y[order] == c][:per_class] for c in np.unique(y)])
    keep.sort()
    return X[keep], y[keep]


class EpochLog(Callback):
    """Logs every ``every``-th epoch (and the last) through ``ctx.log`` and times each epoch."""

    def __init__(self, ctx, every: int = 10, prefix: str = ""):
        super().__init__()
        self.ctx, self.every, self.prefix = ctx, max(int(every), 1), prefix
        self.seconds: list = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        last = epoch + 1 == self.params.get("epochs")
        if epoch % self.every == 0 or last:
            text = " ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())
            self.ctx.log(f"{self.prefix}epoch {epoch + 1}: {text} ({self.seconds[-1]:.1f}s)")


def train(module, X, y, X_val, y_val, epochs: int, batch_size: int, lr: float, ctx, seed: int = 0,
          every: int = 10, prefix: str = "", loss: str = "cross_entropy", callbacks=()):
    """Adam on ``module`` as the course's ``model.fit(..., validation_data=(X_test, Y_test))``.

    Returns ``(history dict, seconds per epoch list)``.
    """
    model = ngrad.Model(module)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"], lr=lr)
    log = EpochLog(ctx, every, prefix)
    history = model.fit(X, y, epochs=epochs, batch_size=batch_size, validation_data=(X_val, y_val), verbose=0,
                        seed=seed, callbacks=[*callbacks, log])
    return history.history, log.seconds


def cosine_schedule(lr: float, epochs: int):
    """``lr * (1 + cos(pi * epoch / epochs)) / 2``: from ``lr`` down towards 0 over the run."""
    return lambda epoch: lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(epochs, 1)))


def accuracy(module, X, y, batch_size: int = 64) -> float:
    """Accuracy of ``module``'s argmax (or its logit's sign for one output) in evaluation mode."""
    model = ngrad.Model(module)
    out = model.predict(X, batch_size=batch_size)
    pred = (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)
    return float(np.mean(pred == np.asarray(y).reshape(-1)))
