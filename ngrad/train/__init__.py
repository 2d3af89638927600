"""Training: the Keras-style ``Model`` (compile / fit / evaluate / predict), callbacks,
streaming metrics, the progress bar and learning-curve plots.

>>> from ngrad.train import Model, EarlyStopping, BackupAndRestore  # doctest: +SKIP
"""
from ngrad.train.base import Callback, CallbackList
from ngrad.train.callbacks import (
    BackupAndRestore,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    NonFiniteLossError,
    ProgbarLogger,
    TerminateOnNaN,
)
from ngrad.train.history import History, plot_history
from ngrad.train.metrics import Accuracy, BinaryAccuracy, CategoricalAccuracy, Mean, Metric
from ngrad.train.model import Model
from ngrad.train.progbar import Progbar

__all__ = [
    "Accuracy",
    "BackupAndRestore",
    "BinaryAccuracy",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "CategoricalAccuracy",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "Mean",
    "Metric",
    "Model",
    "ModelCheckpoint",
    "NonFiniteLossError",
    "Progbar",
    "ProgbarLogger",
    "TerminateOnNaN",
    "plot_history",
]
