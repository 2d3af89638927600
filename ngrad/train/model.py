"""``Model``: Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict`` around any ngrad Module.

>>> import numpy as np, ngrad
>>> from ngrad import nn
>>> from ngrad.train import Model
>>> _ = ngrad.manual_seed(0)
>>> X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
>>> y = (X[:, 0] > 0).astype(np.int64)
>>> model = Model(nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)))
>>> model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.05)
>>> history = model.fit(X, y, epochs=20, batch_size=16, verbose=0, seed=0)
>>> history.history["accuracy"][-1] > 0.9
True
>>> model.predict(X[:3]).shape
(3, 2)
"""
from __future__ import annotations

import copy
import math

import numpy

from ngrad.backend import get_default_dtype, to_numpy
from ngrad.data.loader import DataLoader
from ngrad.errors import ShapeError
from ngrad.function import no_grad
from ngrad.tensor import Tensor, _wrap
from ngrad.train.base import CallbackList
from ngrad.train.callbacks import ProgbarLogger
from ngrad.train.history import History
from ngrad.train.losses import as_numpy_targets, get_loss, get_optimizer, prepare_targets
from ngrad.train.metrics import Mean, get_metric

__all__ = ["Model"]


class Model:
    """Train, evaluate and run a module with Keras's vocabulary.

    Parameters
    ----------
    module : nn.Module
        Any module mapping a batch ``X`` (N, ...) to outputs ``y_hat`` (N, ...).

    Attributes
    ----------
    module, optimizer : the wrapped module and its optimizer (after ``compile``)
    history : History
        The logs of the last ``fit``.
    stop_training : bool
        Set it (from a callback) to end ``fit`` after the current batch.
    train_loader : DataLoader
        The loader of the ``fit`` in progress (its position is resumable).
    """

    def __init__(self, module):
        if not callable(module) or not hasattr(module, "parameters"):
            raise TypeError(f"Model wraps an nn.Module, got {type(module).__name__}")
        self.module = module
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.stop_training = False
        self.history = History()
        self.train_loader = None
        self.epoch = 0  # the epoch in progress (0-based)
        self._loss_name = self._loss_fn = None
        self._metric_specs = []
        self._initial_epoch = 0
        self._pending_metric_state = None

    def __call__(self, X):
        return self.module(X)

    def __repr__(self):
        return f"Model({self.module!r})"

    # ---------------------------------------------------------------- compile
    def compile(self, optimizer="adam", loss="cross_entropy", metrics=None, lr=None) -> None:
        """Choose the optimizer, the loss and the metrics.

        Parameters
        ----------
        optimizer : {'adam', 'adamw', 'sgd', 'momentum', 'rmsprop'} or Optimizer
            A name builds that optimizer over ``module.named_parameters()``
            (state keyed by parameter name) with its default hyperparameters.
        loss : {'cross_entropy', 'bce', 'bce_with_logits', 'mse', 'mae'} or callable
            A callable is called as ``loss(y_hat, y)`` with Tensors and must
            return a scalar Tensor (a loss module works).
        metrics : list, optional
            ``'accuracy'`` (argmax or threshold, following the loss),
            ``'binary_accuracy'``, ``'mse'``, ``'mae'``, Metric instances or
            functions ``fn(y_hat, y) -> float`` on arrays.
        lr : float, optional
            Learning rate (default: the optimizer's own).
        """
        self._loss_name, self._loss_fn = get_loss(loss)
        self.loss = loss
        self.optimizer = get_optimizer(optimizer, self.module, lr)
        self._metric_specs = list(metrics or [])
        self.metrics = self._make_metrics()
        self._val_metrics = self._make_metrics()

    def _make_metrics(self) -> list:
        """``[loss mean, metric, ...]`` with unique names."""
        metrics = [Mean("loss")]
        for spec in self._metric_specs:
            m = get_metric(spec, self._loss_name)
            m = copy.deepcopy(m) if m in self._metric_specs else m
            names = {x.name for x in metrics}
            base, i = m.name, 1
            while m.name in names:
                m.name, i = f"{base}_{i}", i + 1
            metrics.append(m)
        return metrics

    def _require_compiled(self, who: str) -> None:
        if self.optimizer is None:
            raise RuntimeError(f"Model.{who}: call model.compile(optimizer=..., loss=...) first")

    # -------------------------------------------------------------------- fit
    def fit(self, X, y, epochs: int = 1, batch_size: int = 32, validation_data=None,
            validation_split: float = 0.0, shuffle: bool = True, callbacks=None, verbose: int = 1,
            seed=None, initial_epoch: int = 0) -> History:
        """Train for ``epochs`` epochs over mini-batches of ``(X, y)``.

        Parameters
        ----------
        X : array_like, shape (N, ...)
        y : array_like, shape (N, ...)
            Targets (see :mod:`ngrad.train.losses` for what each loss takes).
        epochs, batch_size : int
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch; logged as ``val_loss``, ``val_<metric>``.
        validation_split : float
            Hold out this fraction of ``(X, y)`` (the last examples, before
            any shuffling, as Keras does) as validation data.
        shuffle : bool
            Reshuffle the training examples every epoch.
        callbacks : list of Callback
        verbose : {0, 1, 2}
            0 silent, 1 progress bar (one line per epoch when stdout is not a
            terminal), 2 one line per epoch.
        seed : int, optional
            Seeds the shuffling; by default it is seeded from ngrad's library
            generator (``ngrad.manual_seed``), which also drives dropout.
        initial_epoch : int
            The epoch to start at (0-based), e.g. to continue a previous run.

        Returns
        -------
        History
            Per-epoch logs: ``history.history["loss"]``, ``["val_accuracy"]``...
        """
        self._require_compiled("fit")
        X, y = self._prepare(X, y, "fit")
        (X, y), val = _validation(X, y, validation_data, validation_split, self)
        self.train_loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
        self.history = History()
        cbs = self._callbacks(callbacks, verbose, {"epochs": epochs, "steps": len(self.train_loader),
                                                   "samples": len(X), "batch_size": batch_size}, fit=True)
        self.stop_training = False
        self._initial_epoch, self._pending_metric_state = int(initial_epoch), None
        was_training = self.module.training
        try:
            logs = self._fit_epochs(cbs, epochs, val, batch_size)
        finally:
            self.module.train(was_training)
        cbs.on_train_end(logs)
        return self.history

    def _fit_epochs(self, cbs, epochs: int, val, batch_size: int) -> dict:
        cbs.on_train_begin()
        logs: dict = {}
        for epoch in range(self._initial_epoch, epochs):
            self.epoch = epoch
            self._start_epoch_metrics()
            self.module.train()
            cbs.on_epoch_begin(epoch)
            self._train_epoch(cbs)
            logs = _results(self.metrics)
            if val is not None:
                val_logs = self._test_loop(val[0], val[1], batch_size, cbs)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        return logs

    def _start_epoch_metrics(self) -> None:
        """Reset the epoch's metrics, or continue a resumed epoch's sums."""
        pending, self._pending_metric_state = self._pending_metric_state, None
        for i, m in enumerate(self.metrics):
            m.reset()
            if pending is not None:
                m.set_state(pending[i])

    def _train_epoch(self, cbs) -> None:
        """One pass over ``self.train_loader``: forward, loss, backward, step, metrics."""
        module, optimizer, loss_fn, loader = self.module, self.optimizer, self._loss_fn, self.train_loader
        loss_metric, metrics = self.metrics[0], self.metrics[1:]
        begin_hooks, end_hooks = cbs.wants("on_train_batch_begin"), cbs.wants("on_train_batch_end")
        for xb, yb in loader:
            batch = loader.batch - 1
            if begin_hooks:
                cbs.on_train_batch_begin(batch)
            y_hat = module(_wrap(xb, False, None))
            loss = loss_fn(y_hat, _wrap(yb, False, None))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_metric.update_value(float(loss.data), len(xb))
            if metrics:
                out = _output_array(y_hat)
                for m in metrics:
                    m.update(out, yb)
            if end_hooks:
                cbs.on_train_batch_end(batch, _results(self.metrics))
            if self.stop_training:
                break

    # --------------------------------------------------------------- evaluate
    def evaluate(self, X, y, batch_size: int = 32, verbose: int = 1, callbacks=None, return_dict: bool = False):
        """Loss and metrics on ``(X, y)``, in eval mode and without a graph.

        Returns the loss (a float) when no metrics were compiled, else
        ``[loss, metric, ...]``; with ``return_dict`` a dict ``{"loss": ...}``.
        """
        self._require_compiled("evaluate")
        X, y = self._prepare(X, y, "evaluate")
        cbs = self._callbacks(callbacks, verbose, {"steps": _n_batches(len(X), batch_size), "samples": len(X)})
        logs = self._test_loop(X, y, batch_size, cbs)
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def _test_loop(self, X, y, batch_size: int, cbs) -> dict:
        """Streaming loss and metrics over ``(X, y)`` in batches; returns their logs."""
        metrics = self._val_metrics
        for m in metrics:
            m.reset()
        begin_hooks, end_hooks = cbs.wants("on_test_batch_begin"), cbs.wants("on_test_batch_end")
        cbs.on_test_begin()
        with _eval_mode(self.module), no_grad():
            for batch, start in enumerate(range(0, len(X), batch_size)):
                if begin_hooks:
                    cbs.on_test_batch_begin(batch)
                xb, yb = X[start:start + batch_size], y[start:start + batch_size]
                y_hat = self.module(_wrap(xb, False, None))
                loss = self._loss_fn(y_hat, _wrap(yb, False, None))
                metrics[0].update_value(float(loss.data), len(xb))
                out = _output_array(y_hat)
                for m in metrics[1:]:
                    m.update(out, yb)
                if end_hooks:
                    cbs.on_test_batch_end(batch, _results(metrics))
        logs = _results(metrics)
        cbs.on_test_end(logs)
        return logs

    # ---------------------------------------------------------------- predict
    def predict(self, X, batch_size: int = 32, verbose: int = 0, callbacks=None):
        """The module's outputs for ``X`` (N, ...) as one NumPy array (N, ...).

        Runs in eval mode (dropout off, batch norm on running statistics)
        under ``ngrad.no_grad()``, ``batch_size`` examples at a time.
        """
        X = self._prepare_X(X, "predict")
        cbs = self._callbacks(callbacks, verbose, {"steps": _n_batches(len(X), batch_size), "samples": len(X)})
        begin_hooks, end_hooks = cbs.wants("on_predict_batch_begin"), cbs.wants("on_predict_batch_end")
        outputs = []
        cbs.on_predict_begin()
        with _eval_mode(self.module), no_grad():
            for batch, start in enumerate(range(0, len(X), batch_size)):
                if begin_hooks:
                    cbs.on_predict_batch_begin(batch)
                out = _output_array(self.module(_wrap(X[start:start + batch_size], False, None)))
                outputs.append(out)
                if end_hooks:
                    cbs.on_predict_batch_end(batch, {"outputs": out})
        cbs.on_predict_end()
        return numpy.concatenate([to_numpy(o) for o in outputs])

    # ----------------------------------------------------------- convenience
    def summary(self, *args, **kwargs):
        """The module's layer table (``module.summary``)."""
        return self.module.summary(*args, **kwargs)

    def save(self, path, extra: dict | None = None) -> None:
        """Architecture and weights in one file (:func:`ngrad.io.save_model`)."""
        from ngrad.io import save_model

        save_model(self.module, path, extra=extra)

    def save_weights(self, path) -> None:
        from ngrad.io import save_weights

        save_weights(self.module, path)

    def load_weights(self, path, strict: bool = True):
        from ngrad.io import load_weights

        return load_weights(self.module, path, strict=strict)

    # ---------------------------------------------------------------- helpers
    def _callbacks(self, callbacks, verbose: int, params: dict, fit: bool = False) -> CallbackList:
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        cbs = list(callbacks or [])
        if fit:
            cbs.append(self.history)
        if verbose:
            cbs.append(ProgbarLogger(verbose))
        return CallbackList(cbs, model=self, params={**params, "verbose": verbose})

    def _prepare_X(self, X, who: str):
        """``X`` as an array; floating data in the default dtype (converted once)."""
        X = numpy.asarray(X.data if isinstance(X, Tensor) else X)
        if X.ndim == 0 or len(X) == 0:
            raise ShapeError(f"{who}: X must hold at least one example along axis 0, got shape {X.shape}")
        if X.dtype.kind == "f":
            X = X.astype(get_default_dtype(), copy=False)
        elif X.dtype.kind not in "biu":
            raise TypeError(f"{who}: X must be numeric, got dtype {X.dtype}")
        return X

    def _prepare(self, X, y, who: str):
        X = self._prepare_X(X, who)
        if y is None:
            raise ValueError(f"{who}: y (the targets) is required")
        y = as_numpy_targets(y)
        if y.ndim == 0 or len(y) != len(X):
            raise ShapeError(
                f"{who}: X and y hold different numbers of examples: X has shape {X.shape}, y has shape {y.shape}"
            )
        return X, prepare_targets(self._loss_name, y, who)


class _eval_mode:
    """``module.eval()`` inside the block, the previous mode after."""

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        self.was_training = self.module.training
        self.module.eval()

    def __exit__(self, *exc):
        self.module.train(self.was_training)
        return False


def _output_array(y_hat):
    if not isinstance(y_hat, Tensor):
        raise TypeError(f"the module must return a Tensor, got {type(y_hat).__name__}")
    return y_hat.data


def _results(metrics) -> dict:
    return {m.name: m.result() for m in metrics}


def _n_batches(n: int, batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return math.ceil(n / batch_size)


def _validation(X, y, validation_data, validation_split: float, model):
    """``((X_train, y_train), (X_val, y_val) or None)`` from fit's validation arguments."""
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a tuple (X_val, y_val)")
        return (X, y), model._prepare(*validation_data, "fit(validation_data)")
    if not validation_split:
        return (X, y), None
    if not 0 < validation_split < 1:
        raise ValueError(f"fit: validation_split must lie in (0, 1), got {validation_split}")
    split_at = int(math.floor(len(X) * (1.0 - validation_split)))
    if split_at == 0 or split_at == len(X):
        raise ValueError(f"fit: validation_split={validation_split} of {len(X)} examples leaves an empty set")
    return (X[:split_at], y[:split_at]), (X[split_at:], y[split_at:])
