"""Tabular learning from CSV files: what ``ngrad train`` and ``ngrad predict`` run.

A CSV with a header row is read with the standard ``csv`` module (no pandas).
One column is the target; every other column is a numeric feature. Features
are standardized with statistics of the training rows only, an MLP is trained
with :class:`ngrad.train.Model`, and the model directory receives

* ``model.safetensors``: the network's architecture and weights, with the
  tabular metadata (feature names, standardization, target name, task and
  class labels) in the file's JSON metadata -- the one file ``predict`` needs;
* ``config.json``: the same metadata, the training settings and the final
  metrics, for people and tools to read;
* ``learning_curve.png``: training (and validation) loss and metric per epoch.

Bad input raises :class:`TabularError` with a message naming the column,
the value and the line of the file; the command line prints it and exits
with status 2.

>>> from ngrad.tabular import TrainSettings, train_csv, predict_csv   # doctest: +SKIP
>>> result = train_csv("iris.csv", "species", "iris_model", TrainSettings(epochs=100))  # doctest: +SKIP
>>> header, rows, score = predict_csv("iris_model", "new_flowers.csv")  # doctest: +SKIP
"""
from ngrad.tabular.predict import TabularModel, load_tabular_model, predict_csv, write_csv
from ngrad.tabular.table import Table, TabularError, encode_labels, infer_task, read_csv
from ngrad.tabular.train import MIN_ROWS, TrainResult, TrainSettings, build_mlp, train_csv

__all__ = [
    "MIN_ROWS",
    "Table",
    "TabularError",
    "TabularModel",
    "TrainResult",
    "TrainSettings",
    "build_mlp",
    "encode_labels",
    "infer_task",
    "load_tabular_model",
    "predict_csv",
    "read_csv",
    "train_csv",
    "write_csv",
]
