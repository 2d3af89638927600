"""``ngrad bench``: run the benchmarks (ngrad vs PyTorch vs hand-written NumPy).

The benchmarks live in ``benchmarks/`` at the root of a source checkout (they
are not installed with the package); this command finds that folder next to
the ``ngrad`` package and runs ``python -m benchmarks`` there with the same
options, so ``ngrad bench --quick`` is ``python -m benchmarks --quick``.
"""
from __future__ import annotations


def register(sub):
    p = sub.add_parser(
        "bench",
        help="benchmark ngrad against PyTorch and hand-written NumPy (from a source checkout)",
        description="Run the benchmarks of the source checkout this ngrad comes from "
        "(`python -m benchmarks`): each workload in ngrad, PyTorch and a hand-written NumPy reference, "
        "in separate processes and alternating rounds; writes benchmarks/results/latest.md and latest.json.",
    )
    p.add_argument("--quick", action="store_true", help="tiny repeats and shapes, one round: checks the harness")
    p.add_argument("--threads", type=int, choices=(1, 2), default=1, help="BLAS/torch threads (default 1)")
    p.add_argument("--rounds", type=int, default=None, help="rounds of alternating order (default 3; --quick 1)")
    p.add_argument("--only", default=None, help="comma-separated workloads (perop, gemm, mlp, ..., startup)")
    p.add_argument("--frameworks", default=None, help="comma-separated subset of ngrad,torch,numpy")
    p.add_argument("--out", default=None, help="folder for latest.md / latest.json")
    p.add_argument("--check", action="store_true", help="compare loss trajectories instead of timing")
    p.add_argument("--check-steps", type=int, default=None)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def checkout_root():
    """The repository root holding ``benchmarks/`` next to this ``ngrad``, or None."""
    import os

    import ngrad

    root = os.path.dirname(os.path.dirname(os.path.abspath(ngrad.__file__)))
    return root if os.path.isfile(os.path.join(root, "benchmarks", "__main__.py")) else None


def runner_argv(args) -> list:
    argv = []
    for flag in ("quick", "check", "quiet"):
        if getattr(args, flag):
            argv.append(f"--{flag}")
    argv += ["--threads", str(args.threads)]
    for opt in ("rounds", "only", "frameworks", "out", "check_steps"):
        value = getattr(args, opt)
        if value is not None:
            argv += [f"--{opt.replace('_', '-')}", str(value)]
    return argv


def run(args) -> int:
    import os
    import subprocess
    import sys

    root = checkout_root()
    if root is None:
        print(
            "ngrad bench: the benchmarks come with the source checkout, not with the installed package; "
            "clone the repository, `pip install -e .` and run `ngrad bench` (or `python -m benchmarks`) there",
            file=sys.stderr,
        )
        return 2
    if args.out is not None:
        args.out = os.path.abspath(args.out)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.call([sys.executable, "-m", "benchmarks", *runner_argv(args)], cwd=root, env=env)
