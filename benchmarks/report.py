"""Markdown rendering of a benchmark result (``latest.md``) and of a ``--check`` result."""
from __future__ import annotations

from benchmarks import machine

NAMES = {"ngrad": "ngrad", "torch": "PyTorch", "numpy": "NumPy ref"}


def _fmt(x, digits=3):
    if x is None:
        return "-"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}" if a >= 1e-3 else f"{x:.2e}"


def _value(case, s):
    """Seconds per call -> the case's display unit."""
    unit = case["unit"]
    if unit == "us/op":
        return s / case["ops"] * 1e6
    if unit == "gflops":
        return case["flops"] / s / 1e9
    if unit == "ms/step":
        return s * 1e3
    if unit == "us/call":
        return s * 1e6
    raise ValueError(unit)


UNIT_LABEL = {"us/op": "µs/op", "gflops": "GFLOP/s", "ms/step": "ms/step", "us/call": "µs/call"}


def _cell(case, fw_rec, status):
    if fw_rec is None:
        return status
    med, lo, hi = (_value(case, fw_rec[k]) for k in ("median_s", "min_s", "max_s"))
    lo, hi = min(lo, hi), max(lo, hi)
    return f"{_fmt(med)} [{_fmt(lo)}–{_fmt(hi)}]"


def _ratio(r, rounds=None):
    if not r:
        return "-"
    text = f"{r['median']:.2f} [{r['min']:.2f}–{r['max']:.2f}]"
    n = len(r.get("per_round", ()))
    if rounds and n and n < rounds:
        text += f" ({n} of {rounds} rounds)"
    return text


def _status_text(st):
    s = st.get("status", "not run")
    if s == "ok":
        return "-"
    return s


def _notes(rec):
    out = []
    for fw, st in rec["frameworks"].items():
        if st.get("status") not in ("ok", None) and st.get("note"):
            out.append(f"{NAMES[fw]} {st['status']}: {st['note']}")
    return out


SUSPECT_SHARE = 0.9


def _cpu_share_note(rec):
    """Blocks kept per framework (1 thread) and the CPU share over all timed blocks; suspect figures flagged."""
    kept, total, share, unfiltered = {}, {}, {}, {}
    for case in rec["cases"]:
        for fw, f in case["frameworks"].items():
            kept[fw] = kept.get(fw, 0) + f.get("blocks_kept", 0)
            total[fw] = total.get(fw, 0) + f.get("blocks", 0)
            if "cpu_share" in f:
                share[fw] = min(share.get(fw, 9.0), f["cpu_share"])
            if not f.get("filtered", True):
                unfiltered[fw] = unfiltered.get(fw, 0) + 1
    if not total:
        return ""
    threads_one = any(case["frameworks"][fw].get("blocks_kept") for case in rec["cases"] for fw in case["frameworks"])
    parts = []
    for fw in total:
        text = f"{NAMES[fw]} {kept[fw]}/{total[fw]}" if threads_one else NAMES[fw]
        if fw in share:
            text += f" (lowest CPU share {share[fw]:.2f})"
        parts.append(text)
    why = []
    for fw in total:
        if fw in unfiltered:
            why.append(f"{NAMES[fw]}: {unfiltered[fw]} case(s) had no block with a core to itself, all blocks counted")
        elif threads_one and kept[fw] < total[fw] / 3:
            why.append(f"{NAMES[fw]}: only {kept[fw]} of {total[fw]} blocks had a core to themselves")
    head = "Blocks kept (CPU share >= 0.9 of a core)" if threads_one else "CPU share of the timed blocks"
    note = f"{head}: " + ", ".join(parts) + "."
    if why:
        note = "**Suspect**, the machine was busy (" + "; ".join(why) + "). " + note
    return note


def render_markdown(res) -> str:
    m = res["meta"]
    lines = ["# ngrad benchmarks", ""]
    load_line = f"load average before {m.get('load_before')}, after {m.get('load_after')}"
    if m.get("load1_max_during") is not None:
        load_line += f", highest 1-min load seen during the run {m['load1_max_during']}"
    lines += [
        f"- Date: {m['date']}; mode `{m['mode']}`; {m['rounds']} round(s) in alternating order; "
        f"command `{m['command'].strip()}`",
        f"- Machine: {machine.summary_line(m['machine'])}",
        f"- Load: {load_line}",
    ]
    procs = m.get("processes") or []
    if procs:
        worst = min(procs, key=lambda p: p["cpu_share"])
        lines.append(
            f"- CPU share of whole benchmark processes (CPU time / wall / threads): lowest "
            f"{worst['cpu_share']:.2f} ({worst['framework']}, {','.join(worst['workloads'])}); "
            f"well below 1 means the process waited for a core (figures suspect)"
        )
    lines += [
        "- Cells: median of the per-round medians [min–max over the timed blocks]; with 1 thread only blocks that "
        "had at least 90 % of a core count (CPU time / wall time). Ratios are ngrad's time over the other's, paired "
        "inside each round: median [range over rounds]; below 1 means ngrad is faster.",
        "",
    ]
    for name, rec in res["workloads"].items():
        lines += [f"## {rec['title']}", ""]
        cases = rec["cases"]
        unit = UNIT_LABEL[cases[0]["unit"]] if cases else ""
        st = rec["frameworks"]
        if name == "perop":
            lines += [
                f"| case | ngrad {unit} | PyTorch {unit} | NumPy {unit} | ngrad − NumPy µs/op | ngrad/PyTorch | ngrad/NumPy |",
                "|---|---|---|---|---|---|---|",
            ]
        elif name == "gemm":
            lines += [
                "| size | ngrad GFLOP/s | PyTorch GFLOP/s | NumPy BLAS GFLOP/s | ngrad/PyTorch (time) | ngrad/NumPy (time) |",
                "|---|---|---|---|---|---|",
            ]
        else:
            lines += [
                "| case | ngrad | PyTorch | NumPy ref | ngrad/PyTorch | ngrad/NumPy | throughput ngrad / PyTorch / NumPy ref |",
                "|---|---|---|---|---|---|---|",
            ]
        for case in cases:
            cells = [_cell(case, case["frameworks"].get(fw), _status_text(st.get(fw, {}))) for fw in NAMES]
            r_t = _ratio(case["ratios"].get("ngrad/torch"), res["meta"]["rounds"])
            r_n = _ratio(case["ratios"].get("ngrad/numpy"), res["meta"]["rounds"])
            if name == "perop":
                row = [case["label"], *cells, _ratio(case.get("ngrad_minus_numpy_us_per_op"), res["meta"]["rounds"]),
                       r_t, r_n]
            elif name == "gemm":
                row = [case["label"], *cells, r_t, r_n]
            else:
                label = f"{case['label']} ({UNIT_LABEL[case['unit']]})"
                thr = []
                for fw in NAMES:
                    f = case["frameworks"].get(fw)
                    thr.append(_fmt(case["items"] / f["median_s"]) if f else "-")
                row = [label, *cells, r_t, r_n, " / ".join(thr) + f" {case['item']}/s"]
            lines.append("| " + " | ".join(row) + " |")
        notes = _notes(rec)
        share = _cpu_share_note(rec)
        if share:
            notes.append(share)
        lines += [""] + [f"- {n}" for n in notes] + ([""] if notes else [])
    lines += _memory_table(res)
    lines += _startup_table(res.get("startup"))
    return "\n".join(lines).rstrip() + "\n"


def _memory_table(res):
    lines = [
        "## Peak memory (MiB)",
        "",
        "Peak RSS of each process (VmHWM; includes the framework's import; the largest over rounds); in brackets the "
        "tracemalloc peak of a few steps after timing (the NumPy arrays alive at once; PyTorch's allocations are "
        "not traced)."
        + (" In `--quick` one process per framework ran every workload, so the RSS column is cumulative."
           if res["meta"]["mode"] == "quick" else ""),
        "",
        "| workload | ngrad | PyTorch | NumPy ref |",
        "|---|---|---|---|",
    ]
    for name, rec in res["workloads"].items():
        cells = []
        for fw in NAMES:
            st = rec["frameworks"].get(fw, {})
            if st.get("status") != "ok":
                cells.append(st.get("status", "-"))
                continue
            c = _fmt(st.get("peak_rss_mib"))
            if st.get("tracemalloc_mib") is not None:
                c += f" ({_fmt(st['tracemalloc_mib'])})"
            cells.append(c)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def _startup_table(su):
    if not su:
        return []
    lines = [
        "## Startup",
        "",
        f"Whole process `python -c '<command>'`, wall time: median of {su['runs']} run(s) after {su['warmups']} "
        "warm-up(s) [min–max]; ratio to `import numpy` paired run by run. Bytecode cache on (a temporary "
        "`PYTHONPYCACHEPREFIX` filled by the warm-ups), except the row that says otherwise: there ngrad's "
        "sources are compiled at every start, as under `PYTHONDONTWRITEBYTECODE=1`.",
        "",
        "| command | wall s | peak RSS MiB | vs import numpy |",
        "|---|---|---|---|",
    ]
    for label, c in su["commands"].items():
        if c.get("status") != "ok":
            lines.append(f"| `{label}` | {c.get('status')}: {c.get('note', '')} | | |")
            continue
        lines.append(
            f"| `{label}` | {c['median_s']:.3f} [{c['min_s']:.3f}–{c['max_s']:.3f}] | {_fmt(c.get('peak_rss_mib'))} | "
            f"{_ratio(c.get('vs_numpy'))} |"
        )
    return lines + [""]


def render_check(res) -> str:
    m = res["meta"]
    lines = [
        "# ngrad benchmarks: loss-trajectory check",
        "",
        f"- {m['steps']} training steps from the same initial weights and data; agreement = max relative "
        f"difference of the per-step losses against the reference (PyTorch when installed) <= {m['rtol']}.",
        f"- Machine: {machine.summary_line(m['machine'])}",
        "",
        "| workload | framework | losses | max rel. diff | agrees |",
        "|---|---|---|---|---|",
    ]
    for name, rec in res["workloads"].items():
        for fw, st in rec["frameworks"].items():
            if st.get("losses"):
                losses = ", ".join(f"{x:.6f}" for x in st["losses"])
            else:
                losses = f"{st.get('status')}: {st.get('note', '')}"
            ref = fw == rec.get("reference")
            rel = "reference" if ref else (f"{st['max_rel_diff']:.1e}" if "max_rel_diff" in st else "-")
            agrees = "" if ref else {True: "yes", False: "**NO**"}.get(st.get("agrees"), "-")
            lines.append(f"| {name} | {NAMES[fw]} | {losses} | {rel} | {agrees} |")
    return "\n".join(lines) + "\n"
