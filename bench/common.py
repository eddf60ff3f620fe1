"""Helpers shared by the benchmarks: paths, machine description, statistics, tables."""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "bench" / "out"
SAMPLE_COURSE = REPO / "courses" / "python-basics"
# The shared benchmark data (see shared/bench/SOURCES.md) sits next to the repository.
SHARED = Path(os.environ.get("KDT_BENCH_SHARED", REPO.parent / "shared" / "bench"))
ML_COURSE = SHARED / "courses" / "ML-For-Beginners"


def machine_info() -> dict:
    """CPU model, cores, RAM and Python version of this machine."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other jobs on the machine skew timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of a list of durations in seconds, in milliseconds."""
    ms = np.asarray(seconds, dtype=float) * 1000.0
    return {
        "n": int(ms.size),
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
        "p99": round(float(np.percentile(ms, 99)), 2),
        "mean": round(float(ms.mean()), 2),
    }


def ratio(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or not baseline:
        return None
    return round(ours / baseline, 3)


def row(metric: str, ours, baseline=None, *, unit: str = "", target: str = "") -> dict:
    """One table row; the ratio is ours / baseline."""
    both = isinstance(ours, int | float) and isinstance(baseline, int | float)
    return {
        "metric": metric,
        "ours": ours,
        "baseline": baseline,
        "ratio": ratio(ours, baseline) if both else None,
        "unit": unit,
        "target": target,
    }


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def format_table(result: dict) -> str:
    """A plain-text table: metric | ours | baseline | ratio | target."""
    header = ["metric", "ours", result.get("baseline_name", "baseline"), "ratio", "target"]
    lines = [[r["metric"] + (f" [{r['unit']}]" if r["unit"] else ""), _cell(r["ours"]),
              _cell(r["baseline"]), _cell(r["ratio"]), r["target"] or ""]
             for r in result["rows"]]
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(header)]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:4], widths[1:4], strict=True)]
        return "  ".join([first, *rest, cells[4].ljust(widths[4])]).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    out = [f"== {result['name']}: {result['title']}", f"   baseline: {result['baseline_desc']}"]
    load = result.get("load_average")
    if load:
        out.append(f"   load average (1/5/15 min) before {load['before']}, after {load['after']}")
    out += [rule, fmt(header), rule, *(fmt(x) for x in lines), rule]
    out += [f"   {note}" for note in result.get("notes", [])]
    return "\n".join(out)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the tables."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def write_report(path: str | Path, *, name: str, result: dict, argv: list[str] | None) -> None:
    """Write ``result`` as JSON to ``path`` with the machine and the arguments (``argv``; None:
    the command line's), under ``benchmarks.<name>``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine_info(),
        "argv": sys.argv[1:] if argv is None else argv,
        "benchmarks": {name: result},
    }
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"results written to {out}")


def bench_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The command line of ``python -m bench.<name>``: the module's docstring as its help."""
    return argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run_and_report(
    run: Callable[[], dict], *, name: str, out: str | Path, argv: list[str] | None
) -> int:
    """Run one benchmark between two load averages, print its table and write its JSON report
    to ``out`` (see ``write_report``); the exit code."""
    before = load_average()
    result = run()
    result["load_average"] = {"before": before, "after": load_average()}
    print(format_table(result))
    write_report(out, name=name, result=result, argv=argv)
    return 0
