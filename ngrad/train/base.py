"""``Callback`` (Keras's hook names) and ``CallbackList``, which calls them.

A callback overrides the hooks it needs. Inside them ``self.model`` is the
:class:`ngrad.train.Model` being trained (its ``module``, ``optimizer``,
``stop_training``...) and ``self.params`` holds ``epochs``, ``steps`` and
``verbose``. ``logs`` are dicts of floats: per batch, the epoch's running
averages so far (``loss``, metrics); per epoch, the epoch's averages plus
``val_*`` entries. Batch logs are rebuilt at every batch: copy what you keep.

>>> class PrintLoss(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
"""
from __future__ import annotations

__all__ = ["Callback", "CallbackList"]

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class of training callbacks; every hook does nothing."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    # fit
    def on_train_begin(self, logs=None): pass

    def on_train_end(self, logs=None): pass

    def on_epoch_begin(self, epoch, logs=None): pass

    def on_epoch_end(self, epoch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None): pass

    def on_train_batch_end(self, batch, logs=None): pass

    # evaluate (and the validation pass of fit)
    def on_test_begin(self, logs=None): pass

    def on_test_end(self, logs=None): pass

    def on_test_batch_begin(self, batch, logs=None): pass

    def on_test_batch_end(self, batch, logs=None): pass

    # predict
    def on_predict_begin(self, logs=None): pass

    def on_predict_end(self, logs=None): pass

    def on_predict_batch_begin(self, batch, logs=None): pass

    def on_predict_batch_end(self, batch, logs=None): pass


def _overrides(cb, hook: str) -> bool:
    return getattr(type(cb), hook) is not getattr(Callback, hook)


class CallbackList:
    """Calls a hook on every callback in order; batch hooks only on those that define them.

    ``wants(hook)`` tells the training loop whether any callback overrides a
    batch hook, so a loop without batch callbacks builds no batch logs.
    """

    def __init__(self, callbacks=(), model=None, params=None):
        self.callbacks = list(callbacks or ())
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")
        self._batch = {hook: [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)]
                       for hook in _BATCH_HOOKS}
        if model is not None:
            for cb in self.callbacks:
                cb.set_model(model)
        if params is not None:
            for cb in self.callbacks:
                cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def wants(self, hook: str) -> bool:
        """True when some callback overrides batch ``hook``."""
        return bool(self._batch[hook])

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def _call_batch(self, hook: str, batch: int, logs) -> None:
        for fn in self._batch[hook]:
            fn(batch, logs)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)

    def on_train_end(self, logs=None): self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)

    def on_test_end(self, logs=None): self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)

    def on_train_batch_begin(self, batch, logs=None): self._call_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None): self._call_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None): self._call_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None): self._call_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None): self._call_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None): self._call_batch("on_predict_batch_end", batch, logs)
