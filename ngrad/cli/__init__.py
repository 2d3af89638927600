"""The ``ngrad`` command.

Each subcommand lives in its own module ``ngrad/cli/<name>.py`` exposing
``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning an exit status. Modules
import their heavy dependencies inside ``func`` so ``ngrad --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("demo", "reproduce", "train", "predict", "diagnose", "tune", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ngrad",
        description="ngrad: deep learning on NumPy, with the Deep Learning Specialization's experiments.",
    )
    parser.add_argument("--version", action="version", version=f"ngrad {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ngrad.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"ngrad.cli.{name}":
                continue  # not part of this version
            raise
        module.register(sub)
    return parser


def _version() -> str:
    from ngrad import __version__

    return __version__


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
