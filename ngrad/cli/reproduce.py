"""``ngrad reproduce``: the course's experiments, one command each.

    ngrad reproduce list                         every experiment id, one line each
    ngrad reproduce c2w1-init                    run one; table, plots and results.json in runs/c2w1-init
    ngrad reproduce c1w2-logreg --data-dir D     experiments on the course's files
    ngrad reproduce all-embedded                 every experiment that needs no course file
    ngrad reproduce all --data-dir D             every experiment

Exit status: 0 when the experiments ran (mismatches are reported in the
tables), 1 when one could not run (e.g. a missing data file), 2 for an
unknown experiment id or bad arguments.
"""
from __future__ import annotations

import sys
from pathlib import Path

TARGETS = ("list", "all", "all-embedded")


def register(sub):
    p = sub.add_parser(
        "reproduce",
        help="reproduce the course's experiments and compare with its numbers",
        description="Run one of the course's experiments with ngrad and print a table "
                    "'metric | course | ngrad | check'; plots and results.json go to --out.",
    )
    p.add_argument("experiment", nargs="?", metavar="ID",
                   help="an experiment id, or 'list', 'all', 'all-embedded'")
    p.add_argument("--data-dir", default=None,
                   help="the course's data directory, searched with its subfolders (default: $NGRAD_DATA)")
    p.add_argument("--out", default=None,
                   help="output folder (default runs/<id>; for several experiments, one subfolder each)")
    p.add_argument("--quick", action="store_true", help="a short run (seconds), as the tests do")
    p.add_argument("--epochs", type=int, default=None,
                   help="train this many epochs instead of the course's (full-batch iterations for "
                        "full-batch gradient descent)")
    p.add_argument("--all", action="store_true", dest="run_all", help="run every experiment")
    p.add_argument("--no-data", action="store_true", help="with --all: only those that need no course file")
    p.add_argument("--no-plots", action="store_true", help="do not save plots")
    p.set_defaults(func=run)


def run(args) -> int:
    from ngrad import reproduce

    target = args.experiment
    if args.run_all:
        if target is not None:
            return _usage(f"give an experiment id or --all, not both (got {target!r})")
        target = "all-embedded" if args.no_data else "all"
    elif args.no_data:
        return _usage("--no-data goes with --all (or use 'all-embedded')")
    if target is None or target == "list":
        return _list(reproduce)
    if target in ("all", "all-embedded"):
        exps = reproduce.embedded() if target == "all-embedded" else list(reproduce.experiments().values())
        return _run_many(reproduce, exps, args)
    try:
        exp = reproduce.get(target)
    except reproduce.UnknownExperiment as e:
        print(f"ngrad reproduce: {e}", file=sys.stderr)
        print("run 'ngrad reproduce list' to see what each one does", file=sys.stderr)
        return 2
    return _run_one(reproduce, exp, args, args.out, args.epochs)[0]


def _list(reproduce) -> int:
    exps = reproduce.experiments().values()
    width = max(len(e.id) for e in exps)
    for e in exps:
        data = "course files" if e.needs_data else "no data needed"
        print(f"{e.id.ljust(width)}  {e.title} ({data})")
    return 0


def _run_one(reproduce, exp, args, out, epochs):
    """Run one experiment; returns ``(exit status, Result or None)``."""
    if epochs is not None and exp.epochs is None:
        return _usage(f"--epochs does not apply to {exp.id}: it trains nothing"), None
    if epochs is not None and epochs < 1:
        return _usage(f"--epochs must be a positive number, got {epochs}"), None
    try:
        result = reproduce.run_experiment(exp, out=out, data_dir=args.data_dir, quick=args.quick,
                                          epochs=epochs, plots=not args.no_plots)
    except (FileNotFoundError, ImportError) as e:  # a missing course file or optional library
        print(f"ngrad reproduce {exp.id}: {e}", file=sys.stderr)
        return 1, None
    return 0, result


def _run_many(reproduce, exps, args) -> int:
    status, summary = 0, []
    for exp in exps:
        out = Path(args.out) / exp.id if args.out else None
        epochs = args.epochs if exp.epochs is not None else None  # --epochs applies where it can
        code, result = _run_one(reproduce, exp, args, out, epochs)
        status = max(status, code)
        summary.append((exp.id, result))
        print()
    _print_summary(summary)
    return status


def _print_summary(summary) -> None:
    """One line per experiment: how many rows matched the course, differed, or had no course number."""
    width = max(len(exp_id) for exp_id, _ in summary)
    print("summary")
    for exp_id, result in summary:
        if result is None:
            print(f"  {exp_id.ljust(width)}  did not run")
            continue
        c = result.counts
        print(f"  {exp_id.ljust(width)}  {c['match']} match, {c['differs']} differ, "
              f"{c['info']} without a course number")


def _usage(message: str) -> int:
    print(f"ngrad reproduce: {message}", file=sys.stderr)
    return 2
