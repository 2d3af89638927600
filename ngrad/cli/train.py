"""``ngrad train``: fit an MLP to a CSV's rows and save it for ``ngrad predict``."""
from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  ngrad train iris.csv --target species --out iris_model
  ngrad train houses.csv --target price --hidden 128,64 --epochs 200 --dropout 0.1 --out price_model
  ngrad train data.csv --target label --optimizer momentum --lr 0.05 --l2 0.7 --batch-norm --out model

Every column except the target must be numeric. Text targets and integer targets with few distinct
values are classes; other numbers are regressed (override with --task). Features are standardized
with the training rows' statistics, which are saved with the model.
"""


def register(sub):
    p = sub.add_parser(
        "train",
        help="train an MLP on a CSV file (classification or regression) and save it",
        description="Train a multilayer perceptron to predict one column of a CSV file from the others, "
        "print training and validation metrics, and save the model and a learning-curve plot.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("csv", help="training data: a comma-separated file with a header row")
    p.add_argument("--target", required=True, help="the column to predict")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the model, config and plot")
    p.add_argument("--hidden", type=_sizes, default=(64, 32),
                   help="hidden layer sizes, comma-separated (default 64,32; 'none' for a linear model)")
    p.add_argument("--epochs", type=_positive_int, default=50, help="passes over the training rows (default 50)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="mini-batch size (default 32)")
    p.add_argument("--optimizer", choices=("adam", "sgd", "momentum", "rmsprop"), default="adam",
                   help="optimizer (default adam)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: the optimizer's, 0.001 for adam and rmsprop, 0.01 otherwise)")
    p.add_argument("--dropout", type=float, default=0.0, help="drop probability after each hidden layer (default 0)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 regularization strength lambda (default 0)")
    p.add_argument("--batch-norm", action="store_true", help="batch normalization after each hidden layer")
    p.add_argument("--val-split", type=float, default=0.2,
                   help="fraction of rows held out for validation (default 0.2; 0 for none)")
    p.add_argument("--task", choices=("classification", "regression"), default=None,
                   help="override the task inferred from the target column")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, weights, dropout and shuffling")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _sizes(text: str) -> tuple:
    if text.strip().lower() in ("none", "0", ""):
        return ()
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of sizes (e.g. 64,32)") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def run(args) -> int:
    from ngrad.tabular import TabularError, TrainSettings, train_csv

    settings = TrainSettings(
        hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
        lr=args.lr, dropout=args.dropout, l2=args.l2, batch_norm=args.batch_norm,
        val_split=args.val_split, task=args.task, seed=args.seed,
    )
    try:
        result = train_csv(args.csv, args.target, args.out, settings, verbose=0 if args.quiet else 1,
                           log=lambda line: print(f"ngrad train: {line}", flush=True))
    except TabularError as e:
        print(f"ngrad train: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"ngrad train: error: cannot write the model to {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(format_metrics(result.metrics))
    for note in result.notes:
        print(f"note: {note}")
    saved = ", ".join(p for p in result.paths.values() if p)
    print(f"saved: {saved}")
    return 0


def format_metrics(metrics: dict) -> str:
    """``train       accuracy 0.9750`` lines, one per split."""
    width = max(len(split) for split in metrics)
    lines = []
    for split, values in metrics.items():
        parts = "  ".join(f"{name} {value:.4g}" if name != "accuracy" else f"{name} {value:.4f}"
                          for name, value in values.items())
        lines.append(f"{split:<{width}}  {parts}")
    return "\n".join(lines)
