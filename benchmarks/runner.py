"""``python -m benchmarks``: run every workload in ngrad, PyTorch and the NumPy reference.

Method
------
- Each framework runs in its own subprocess (peak memory is per framework,
  thread pools never share a process), with ``OPENBLAS_NUM_THREADS``,
  ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``NUMBA_NUM_THREADS`` set to ``--threads`` and
  ``torch.set_num_threads(--threads)``.
- Rounds alternate the order: ngrad, PyTorch, NumPy; then PyTorch, NumPy,
  ngrad; ... Each process warms every case up, then times blocks of repeated
  calls (>= 0.25 s each, 7 blocks; ``--quick``: 1 call, 2 blocks).
- Per case and framework: the median of the per-round medians, and the
  min / max over the blocks. Ratios ngrad/PyTorch and ngrad/NumPy are
  paired: taken inside each round (same moment, same machine state), then the
  median and range over the rounds.
- With one thread, each block's CPU time is compared with its wall time:
  blocks that got less than 90 % of a core (the process waited while other
  work ran) are left out, and the report says how many were kept.
- Memory: the peak RSS of each process (``VmHWM``, includes the import)
  and, for the NumPy-based processes, the tracemalloc peak of a few steps
  taken after timing.
- The load average is recorded before, during and after the run, and each
  process's CPU time over wall time: a 1-thread process that got much less
  than one core was waiting for the CPU and its figures are suspect.

Results go to ``benchmarks/results/latest.md`` and ``latest.json`` (or
``--out``). ``--check`` instead compares the loss trajectories of the
training workloads over a few steps, the same initial weights in each side.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import machine
from benchmarks.report import render_check, render_markdown
from benchmarks.workloads import NAMES, load

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMEWORKS = ("ngrad", "torch", "numpy")
DEFAULT_OUT = os.path.join(REPO, "benchmarks", "results")
CHECK_RTOL = 1e-3
IDLE_THRESHOLD = 0.5  # cores busy with other work that --wait-idle waits out


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_timed_process(cmd, env, capture_stdout=False) -> dict:
    """Run ``cmd`` to completion; wall time, and its own CPU time from ``os.wait4``.

    (``ru_maxrss`` from ``wait4`` is not used for memory: on Linux it includes
    this process's size at the fork; the children report their own ``VmHWM``.)
    """
    out_f = tempfile.TemporaryFile() if capture_stdout else subprocess.DEVNULL
    err_f = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out_f, stderr=err_f)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)

    def read(f):
        f.seek(0)
        text = f.read().decode(errors="replace")
        f.close()
        return text

    return {
        "rc": p.returncode,
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "stdout": read(out_f) if capture_stdout else "",
        "stderr": read(err_f),
    }


def run_child(framework, names, args, check_steps=0) -> dict:
    """One framework process over ``names``; returns its parsed result (errors recorded, not raised)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "result.json")
        cmd = [sys.executable, "-m", "benchmarks.child", "--framework", framework,
               "--workloads", ",".join(names), "--threads", str(args.threads), "--result", path]
        if args.quick:
            cmd.append("--quick")
        if check_steps:
            cmd += ["--check", str(check_steps)]
        proc = run_timed_process(cmd, child_env(args.threads))
        if proc["rc"] == 0 and os.path.exists(path):
            with open(path) as f:
                res = json.load(f)
        else:
            note = f"process failed (exit {proc['rc']}): {proc['stderr'].strip()[-600:]}"
            res = {"framework": framework, "versions": {},
                   "workloads": {n: {"status": "error", "note": note, "cases": {}} for n in names}}
    res["process"] = {k: proc[k] for k in ("wall_s", "cpu_s")}
    res["process"]["cpu_share"] = proc["cpu_s"] / max(proc["wall_s"], 1e-9) / args.threads
    res["process"]["load1"] = (machine.loadavg() or [None])[0]
    return res


# --------------------------------------------------------------------------- statistics
def _median(xs):
    return statistics.median(xs) if xs else None


CLEAN_SHARE = 0.9  # a 1-thread block whose CPU time is below this share of its wall time waited for a core


def _kept_blocks(r, threads):
    """The blocks of one process's case that ran on a core of their own (all of them at 2+ threads)."""
    walls = r["block_s_per_call"]
    cpus = r.get("block_cpu_s_per_call")
    if threads != 1 or not cpus:
        return list(walls)
    return [w for w, c in zip(walls, cpus) if c >= CLEAN_SHARE * w]


def summarize_case(case, per_round, threads=1):
    """Statistics of one case.

    ``per_round[fw]`` is a list (one per round) of the child's timing dicts or None.
    With one thread, only blocks whose CPU time is at least ``CLEAN_SHARE`` of
    their wall time count (the others were slowed by other work on the
    machine); a round left with no such block drops out of that framework's
    figures and of the ratios it would pair with. When no block of any round
    qualifies, every block counts and the figure says so (``filtered: false``).
    """
    out = {"frameworks": {}, "ratios": {}}
    round_medians = {}
    for fw, rounds in per_round.items():
        timed = [r for r in rounds if r]
        if not timed:
            continue
        kept = [(_kept_blocks(r, threads) if r else []) for r in rounds]
        filtered = any(kept)
        if not filtered:
            kept = [(list(r["block_s_per_call"]) if r else []) for r in rounds]
        rm = [_median(k) if k else None for k in kept]
        round_medians[fw] = rm
        flat = [x for k in kept for x in k]
        every = [x for r in timed for x in r["block_s_per_call"]]
        cpu = [x for r in timed for x in r.get("block_cpu_s_per_call", ())]
        rec = out["frameworks"][fw] = {
            "median_s": _median([x for x in rm if x is not None]),
            "min_s": min(flat),
            "max_s": max(flat),
            "round_medians_s": rm,
            "blocks": len(every),
            "blocks_kept": len(flat) if filtered else 0,
            "filtered": filtered,
            "median_all_blocks_s": _median([_median(r["block_s_per_call"]) for r in timed]),
        }
        if cpu:
            # CPU time over wall time per thread: well below 1 means the process waited for a core
            rec["cpu_share"] = sum(cpu) / sum(every) / threads
            rec["median_cpu_s"] = _median(cpu)
    for other in ("torch", "numpy"):
        if "ngrad" in round_medians and other in round_medians:
            pairs = [a / b for a, b in zip(round_medians["ngrad"], round_medians[other]) if a and b]
            if pairs:
                out["ratios"][f"ngrad/{other}"] = {"median": _median(pairs), "min": min(pairs), "max": max(pairs),
                                                   "per_round": pairs}
    if case.get("unit") == "us/op" and "ngrad" in round_medians and "numpy" in round_medians:
        ops = case["ops"]
        d = [(a - b) / ops * 1e6 for a, b in zip(round_medians["ngrad"], round_medians["numpy"]) if a and b]
        if d:
            out["ngrad_minus_numpy_us_per_op"] = {"median": _median(d), "min": min(d), "max": max(d), "per_round": d}
    return out


def collect(workload_results, mod, quick, frameworks, threads=1):
    """Turn the per-round child entries of one workload into its JSON record."""
    rec = {"title": mod.TITLE, "description": " ".join(mod.DESCRIPTION.split()), "frameworks": {}, "cases": []}
    for fw in FRAMEWORKS:
        entries = workload_results.get(fw, [])
        st = {"status": "not run"}
        if fw not in frameworks:
            st = {"status": "skipped", "note": frameworks_note(fw)}
        elif entries:
            statuses = [e["status"] for e in entries if e]
            bad = [e for e in entries if e and e["status"] != "ok"]
            st = {"status": "ok" if not bad else bad[0]["status"]}
            if bad:
                st["note"] = bad[0].get("note", "")
            rss = [e["peak_rss_mib"] for e in entries if e and e.get("status") == "ok" and "peak_rss_mib" in e]
            tm = [e["tracemalloc_mib"] for e in entries if e and "tracemalloc_mib" in e]
            if rss:
                st["peak_rss_mib"] = max(rss)
            if tm:
                st["tracemalloc_mib"] = max(tm)
            st["rounds"] = len(statuses)
        rec["frameworks"][fw] = st
    for case in mod.cases(quick):
        per_round = {}
        for fw in FRAMEWORKS:
            entries = workload_results.get(fw, [])
            per_round[fw] = [(e["cases"].get(case["id"]) if e and e["status"] == "ok" else None) for e in entries]
        rec["cases"].append({**case, **summarize_case(case, per_round, threads)})
    return rec


_SKIP_NOTES = {}


def frameworks_note(fw):
    return _SKIP_NOTES.get(fw, "not selected")


# --------------------------------------------------------------------------- startup
# (label, code, bytecode cache): with the cache, ``.pyc`` files go to a temporary
# PYTHONPYCACHEPREFIX filled by the warm-ups (what an installed package or a used
# checkout has); without it, ngrad's sources are compiled at every start
# (PYTHONDONTWRITEBYTECODE=1 and no prefix: NumPy and PyTorch keep their installed .pyc).
STARTUP = (("python -c pass", "pass", True), ("import numpy", "import numpy", True),
           ("import ngrad", "import ngrad", True), ("import torch", "import torch", True),
           ("import ngrad (no bytecode cache)", "import ngrad", False))
# appended to each startup command: print the process's peak RSS (KiB) without importing anything
_HWM = "\nprint(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"


def _startup_code(code):
    return code + _HWM if os.path.exists("/proc/self/status") else code


def measure_startup(args, have_torch) -> dict:
    cmds = [c for c in STARTUP if c[0] != "import torch" or (have_torch and not args.quick)]
    warm, runs = (1, 1) if args.quick else (2, 10)
    with tempfile.TemporaryDirectory() as pyc:
        cached = child_env(args.threads)
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        cached["PYTHONPYCACHEPREFIX"] = pyc
        uncached = child_env(args.threads)
        uncached.pop("PYTHONPYCACHEPREFIX", None)
        uncached["PYTHONDONTWRITEBYTECODE"] = "1"

        def once(code, cache):
            cmd = [sys.executable, "-c", _startup_code(code)]
            return run_timed_process(cmd, cached if cache else uncached, capture_stdout=True)

        samples = {label: [] for label, _, _ in cmds}
        for _ in range(warm):
            for _, code, cache in cmds:
                once(code, cache)
        for r in range(runs):
            k = r % len(cmds)
            for label, code, cache in cmds[k:] + cmds[:k]:
                samples[label].append(once(code, cache))
    out = {"runs": runs, "warmups": warm, "commands": {}}
    base = samples.get("import numpy")
    for label, procs in samples.items():
        ok = [p for p in procs if p["rc"] == 0]
        if not ok:
            out["commands"][label] = {"status": "error", "note": procs[0]["stderr"][-300:] if procs else ""}
            continue
        walls = [p["wall_s"] for p in ok]
        rss = [int(p["stdout"].split()[-1]) / 1024 for p in ok if p["stdout"].strip()]
        rec = out["commands"][label] = {"status": "ok", "median_s": _median(walls), "min_s": min(walls),
                                        "max_s": max(walls), "peak_rss_mib": max(rss) if rss else None}
        if label != "import numpy" and base and len(base) == len(procs):
            pairs = [p["wall_s"] / b["wall_s"] for p, b in zip(procs, base)]
            rec["vs_numpy"] = {"median": _median(pairs), "min": min(pairs), "max": max(pairs)}
    if "import torch" not in samples:
        out["commands"]["import torch"] = {"status": "skipped",
                                           "note": "not measured in --quick" if have_torch else "torch not installed"}
    return out


# --------------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny repeats and shapes, one round: checks the harness")
    p.add_argument("--threads", type=int, choices=(1, 2), default=1,
                   help="BLAS/OpenMP/torch threads in every process (default 1: the stable ratios)")
    p.add_argument("--rounds", type=int, default=None, help="rounds of alternating order (default 3; --quick 1)")
    p.add_argument("--only", default=None,
                   help=f"comma-separated workloads (of {', '.join(NAMES)}, startup); default all")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="comma-separated subset of ngrad,torch,numpy")
    p.add_argument("--out", default=DEFAULT_OUT, help="folder for latest.md / latest.json (default benchmarks/results)")
    p.add_argument("--check", action="store_true",
                   help="compare loss trajectories of ngrad, PyTorch and the NumPy reference instead of timing")
    p.add_argument("--check-steps", type=int, default=5)
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                   help="before each process, wait up to SECONDS for other processes to use less than "
                        f"{IDLE_THRESHOLD} of a core (a shared machine); default 0: do not wait")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p.parse_args(argv)


def _log(args, msg):
    if not args.quiet:
        print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    selected = NAMES if not args.only else tuple(n.strip() for n in args.only.split(",") if n.strip())
    do_startup = not args.only or "startup" in selected
    selected = tuple(n for n in selected if n != "startup")
    for n in selected:
        load(n)  # unknown names fail here
    have_torch = torch_available()
    frameworks = [f for f in args.frameworks.split(",") if f]
    for f in frameworks:
        if f not in FRAMEWORKS:
            raise SystemExit(f"unknown framework {f!r}")
    if "torch" in frameworks and not have_torch:
        frameworks.remove("torch")
        _SKIP_NOTES["torch"] = "torch not installed (pip install torch==2.13.0)"
    os.makedirs(args.out, exist_ok=True)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "rounds": rounds,
        "machine": machine.describe(args.threads),
        "load_before": machine.loadavg(),
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    if args.check:
        return run_check(args, selected, frameworks, meta)

    # quick: one process per framework and round for all workloads; full: one per workload.
    groups = [list(selected)] if args.quick else [[n] for n in selected]
    raw = {n: {fw: [] for fw in frameworks} for n in selected}
    procs = []
    for gi, group in enumerate(groups):
        for r in range(rounds):
            k = r % len(frameworks) if frameworks else 0
            order = frameworks[k:] + frameworks[:k]
            for fw in order:
                todo = [n for n in group if not any(e and e["status"] == "pending" for e in raw[n][fw])]
                if not todo:
                    for n in group:
                        raw[n][fw].append(None)
                    continue
                _log(args, f"[round {r + 1}/{rounds}] {fw:6s} {','.join(todo)}")
                busy, waited = (None, 0.0)
                if args.wait_idle:
                    busy, waited = machine.wait_until_idle(args.wait_idle, IDLE_THRESHOLD, lambda m: _log(args, m))
                res = run_child(fw, todo, args)
                procs.append({"framework": fw, "workloads": todo, "round": r, **res["process"],
                              "busy_cores_before": busy, "waited_s": waited})
                meta.setdefault("versions", {})[fw] = res.get("versions", {})
                for n in group:
                    e = res["workloads"].get(n)
                    raw[n][fw].append(e)
                    if e and e["status"] == "error":
                        _log(args, f"  error in {fw}/{n}: {e.get('note', '')[:300]}")
    results = {"meta": meta, "workloads": {}}
    for n in selected:
        results["workloads"][n] = collect(raw[n], load(n), args.quick, frameworks, args.threads)
    if do_startup:
        _log(args, "startup: import times")
        results["startup"] = measure_startup(args, have_torch)
    meta["load_after"] = machine.loadavg()
    loads = [p["load1"] for p in procs if p.get("load1") is not None]
    meta["load1_max_during"] = max(loads) if loads else None
    meta["processes"] = procs
    write_results(results, args.out, "latest")
    print(render_markdown(results))
    return 1 if any_error(results) else 0


def any_error(results) -> bool:
    return any(st.get("status") == "error" for w in results["workloads"].values() for st in w["frameworks"].values())


def write_results(results, out, stem):
    with open(os.path.join(out, f"{stem}.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
        f.write("\n")
    md = render_markdown(results) if stem == "latest" else render_check(results)
    with open(os.path.join(out, f"{stem}.md"), "w") as f:
        f.write(md)


def run_check(args, selected, frameworks, meta) -> int:
    """Loss trajectories over ``--check-steps`` steps per framework; agreement with PyTorch (or NumPy)."""
    names = [n for n in selected if hasattr(load(n), "check")]
    res = {"meta": {**meta, "steps": args.check_steps, "rtol": CHECK_RTOL}, "workloads": {}}
    for n in names:
        rec = res["workloads"][n] = {"title": load(n).TITLE, "frameworks": {}}
        for fw in frameworks:
            _log(args, f"check {fw:6s} {n}")
            e = run_child(fw, [n], args, check_steps=args.check_steps)["workloads"][n]
            rec["frameworks"][fw] = {k: e[k] for k in ("status", "note", "losses") if k in e}
        ref_fw = "torch" if rec["frameworks"].get("torch", {}).get("losses") else "numpy"
        ref = rec["frameworks"].get(ref_fw, {}).get("losses")
        rec["reference"] = ref_fw
        for fw, st in rec["frameworks"].items():
            if fw == ref_fw or not st.get("losses") or not ref:
                continue
            rel = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(st["losses"], ref))
            st["max_rel_diff"] = rel
            st["agrees"] = rel <= CHECK_RTOL
    write_results(res, args.out, "check")
    print(render_check(res))
    bad = [(n, fw) for n, w in res["workloads"].items() for fw, st in w["frameworks"].items()
           if st.get("agrees") is False or st.get("status") == "error"]
    return 1 if bad else 0
