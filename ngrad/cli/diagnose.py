"""``ngrad diagnose``: avoidable bias, variance, data mismatch from a few error rates."""
from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  ngrad diagnose --human 0.01 --train 0.08 --dev 0.10
  ngrad diagnose --human 1% --train 1% --train-dev 1.5% --dev 10% --json
  ngrad diagnose --human 0.99 --train 0.92 --dev 0.90 --higher-is-better
"""


def register(sub):
    p = sub.add_parser(
        "diagnose",
        help="diagnose avoidable bias, variance and data mismatch from error rates",
        description="Read the gaps between human-level, training, train-dev, dev and test errors, "
        "name the largest and list the course's remedies for it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--human", type=_rate, required=True, help="human-level error (proxy for Bayes error)")
    p.add_argument("--train", type=_rate, required=True, help="training error")
    p.add_argument("--train-dev", type=_rate, default=None, help="train-dev error (training distribution, held out)")
    p.add_argument("--dev", type=_rate, required=True, help="dev error")
    p.add_argument("--test", type=_rate, default=None, help="test error")
    p.add_argument(
        "--higher-is-better",
        action="store_true",
        help="the numbers are a metric such as accuracy (converted to errors as 1 - value)",
    )
    p.add_argument("--metric", default=None, help="the metric's name in the report (e.g. accuracy)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def _rate(text: str) -> float:
    """A fraction (``0.12``) or a percentage (``12%``)."""
    s = text.strip()
    try:
        return float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (write 0.12 or 12%)") from None


def run(args) -> int:
    import json

    from ngrad.diagnose import diagnose

    try:
        report = diagnose(
            human=args.human,
            train=args.train,
            train_dev=args.train_dev,
            dev=args.dev,
            test=args.test,
            higher_is_better=args.higher_is_better,
            metric=args.metric,
        )
    except ValueError as e:
        print(f"ngrad diagnose: error: {_flag_names(str(e))}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0


def _flag_names(message: str) -> str:
    """Speak of command-line flags rather than keyword arguments."""
    for kw, flag in (("train_dev=", "--train-dev "), ("human=", "--human "), ("train=", "--train "),
                     ("dev=", "--dev "), ("test=", "--test ")):
        message = message.replace(kw, flag)
    return message.replace("scale=100 for percentages", "12% for percentages")
