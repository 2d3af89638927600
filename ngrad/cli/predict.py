"""``ngrad predict``: run a model saved by ``ngrad train`` on a CSV's rows."""
from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  ngrad predict iris_model new_flowers.csv --out predictions.csv
  ngrad predict price_model houses_2024.csv > prices.csv

The CSV needs every feature column the model was trained on (by name; other columns are ignored).
The output has the predicted label or value in a column named after the target and, for
classification, one probability_<label> column per class. When the CSV also holds the target
column, the accuracy (or MSE and MAE) is reported on standard error.
"""


def register(sub):
    p = sub.add_parser(
        "predict",
        help="predict a CSV's rows with a model saved by ngrad train",
        description="Load a model directory written by ngrad train and write a prediction for every "
        "row of a CSV file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model_dir", metavar="DIR", help="the directory ngrad train wrote (--out)")
    p.add_argument("csv", help="rows to predict: a comma-separated file with a header row")
    p.add_argument("--out", default=None, metavar="FILE", help="write the predictions here (default: standard output)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ngrad.tabular import TabularError, predict_csv, write_csv

    try:
        header, rows, score = predict_csv(args.model_dir, args.csv)
        write_csv(header, rows, args.out)
    except TabularError as e:
        print(f"ngrad predict: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"ngrad predict: error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    where = f" to {args.out}" if args.out else ""
    print(f"ngrad predict: {len(rows)} predictions{where}", file=sys.stderr)
    if score:
        shown = "  ".join(f"{k} {v:.4g}" for k, v in score.items())
        print(f"ngrad predict: against the CSV's {header[0]!r} column: {shown}", file=sys.stderr)
    return 0
