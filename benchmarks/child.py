"""One framework's benchmark process: ``python -m benchmarks.child ...`` (started by the runner).

Builds the named workloads for one framework, warms each case up, times it,
then measures memory, and writes a JSON result file. The thread-count
environment variables (``OPENBLAS_NUM_THREADS`` ...) are set by the runner
before this process starts, so NumPy's BLAS reads them at import.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

from benchmarks import harness
from benchmarks.workloads import load


def _versions(framework: str, threads: int) -> dict:
    import numpy

    out = {"python": sys.version.split()[0], "numpy": numpy.__version__}
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        out.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    elif framework == "ngrad":
        import ngrad

        out["ngrad"] = ngrad.__version__
    return out


def run(framework: str, names, quick: bool, threads: int, check_steps: int = 0) -> dict:
    result = {"framework": framework, "versions": _versions(framework, threads), "workloads": {}}
    timing = harness.Timing.quick() if quick else harness.Timing.full()
    for name in names:
        mod = load(name)
        entry = result["workloads"][name] = {"status": "ok", "cases": {}}
        t0 = time.perf_counter()
        try:
            if check_steps:
                if not hasattr(mod, "check"):
                    entry.update(status="skipped", note="no --check for this workload")
                    continue
                entry["losses"] = mod.check(framework, check_steps)
                continue
            steps = mod.build(framework, quick)
            for case_id, step in steps.items():
                entry["cases"][case_id] = harness.time_step(step, timing)
            if framework != "torch":
                entry["tracemalloc_mib"] = max(
                    harness.tracemalloc_peak_mib(step, calls=1 if quick else 3) for step in steps.values()
                )
        except harness.Pending as e:
            entry.update(status="pending", note=str(e))
        except Exception as e:  # reported in the table, never hidden
            entry.update(status="error", note=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        finally:
            entry["seconds"] = time.perf_counter() - t0
            entry["peak_rss_mib"] = harness.peak_rss_mib()
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.child")
    p.add_argument("--framework", required=True, choices=("ngrad", "torch", "numpy"))
    p.add_argument("--workloads", required=True, help="comma-separated workload names")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--check", type=int, default=0, metavar="STEPS")
    p.add_argument("--result", required=True, help="where to write the JSON result")
    a = p.parse_args(argv)
    res = run(a.framework, a.workloads.split(","), a.quick, a.threads, a.check)
    with open(a.result, "w") as f:
        json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
