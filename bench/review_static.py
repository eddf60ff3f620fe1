"""review-static: the static part of a code review (syntax, ruff, bandit, radon), its speed
per level and per tool, and its noise on correct code.

``.venv/bin/python bench/review_static.py [--rounds 30] [--json OUT]``
(or ``python -m bench.review_static``)

*The file* (speed): the QuixBugs programs of ``../shared/bench/code/quixbugs/*/buggy.py``
(read in place, by path; ``KDT_BENCH_SHARED`` moves ``shared/bench``), whole programs
concatenated in name order until at least 300 lines: a realistic trainee-sized file with
real bugs, star imports, docstrings and nested loops. It is reviewed ``--rounds`` times per
level (Lv1..Lv4) with ``review_static`` after one warm-up review (the first review in a
process also imports bandit and reads ruff's rule docs: measured separately, in a fresh
process). Per tool, the same stages are timed alone: ``compile``, the ruff subprocess with
the Lv4 rule set, bandit in process (vs bandit's command line), radon. Also: the ruff
invocation choice (stdin per file vs one run on a temporary folder) for 1 and 5 files, and a
5,000-line file (the programs repeated).

*Noise* (correct code, fewer is better): findings per level on every ``fixed.py`` of
QuixBugs (the corrected programs), shown and in total (shown + hidden beyond the cap).

*Baseline* (same run, same inputs): plain ``ruff check --isolated --select ALL`` (every
stable rule, no level, no folding, no cap): its finding count on the ``fixed.py`` files and
its time on the 300-line file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    OUT_DIR,
    REPO,
    SHARED,
    format_table,
    load_average,
    log,
    percentiles_ms,
    row,
    write_report,
)
from tutor.review import static_checks  # noqa: E402
from tutor.review.static_checks import review_static, rule_set  # noqa: E402
from tutor.review.types import SourceFile  # noqa: E402

NAME = "review-static"
QUIXBUGS = SHARED / "code" / "quixbugs"
LEVELS = (1, 2, 3, 4)


# --- inputs ------------------------------------------------------------------------------------
def build_file(min_lines: int = 300) -> tuple[str, list[str]]:
    """Whole QuixBugs buggy programs that compile, concatenated until ``min_lines``."""
    parts: list[str] = []
    used: list[str] = []
    lines = 0
    for path in sorted(QUIXBUGS.glob("*/buggy.py")):
        text = path.read_text(encoding="utf-8")
        try:
            compile(text, str(path), "exec")
        except SyntaxError:
            continue
        parts.append(text.rstrip("\n") + "\n\n")
        used.append(path.parent.name)
        lines += len(parts[-1].splitlines())
        if lines >= min_lines:
            break
    return "".join(parts), used


def fixed_programs() -> list[Path]:
    return sorted(QUIXBUGS.glob("*/fixed.py"))


# --- timing helpers ----------------------------------------------------------------------------
def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def ruff_bin() -> str:
    found = static_checks._ruff_binary()
    if found is None:
        raise SystemExit("ruff not found")
    return found


def ruff_all(paths: list[str]) -> list[dict]:
    """The baseline: every stable ruff rule, isolated, as a user would run it."""
    proc = subprocess.run(
        [ruff_bin(), "check", "--isolated", "--no-cache", "--exit-zero", "--select", "ALL",
         "--output-format", "json", *paths],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


def ruff_stdin(texts: list[str], level: int) -> int:
    n = 0
    for i, text in enumerate(texts):
        cmd = static_checks._ruff_command(ruff_bin(), level, [])
        cmd += ["--stdin-filename", f"f{i}.py", "-"]
        proc = subprocess.run(cmd, input=text, capture_output=True, text=True, check=True)
        n += len(json.loads(proc.stdout))
    return n


def ruff_folder(texts: list[str], level: int) -> int:
    with tempfile.TemporaryDirectory(prefix="kdt-bench-ruff-") as tmp:
        paths = []
        for i, text in enumerate(texts):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            (folder / f"f{i}.py").write_text(text, encoding="utf-8")
            paths.append(str(folder / f"f{i}.py"))
        cmd = static_checks._ruff_command(ruff_bin(), level, paths)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=tmp)
        return len(json.loads(proc.stdout))


def bandit_in_process(path: str) -> None:
    static_checks._bandit_findings({path: "f.py"}, level=4, lang="en", notes=[])


def bandit_cli(path: str) -> None:
    bandit = Path(sys.executable).with_name("bandit")
    subprocess.run([str(bandit), "-q", "-f", "json", "-s", "B101", path], capture_output=True,
                   check=False)  # fmt: skip


def cold_review_ms(text: str) -> float:
    """The first review in a fresh Python process (imports bandit, reads ruff's rule docs)."""
    code = (
        "import json, sys, time\n"
        "from tutor.review.static_checks import review_static\n"
        "from tutor.review.types import SourceFile\n"
        "text = sys.stdin.read()\n"
        "t = time.perf_counter()\n"
        "review_static([SourceFile('solution.py', text)], level=1)\n"
        "print(json.dumps((time.perf_counter() - t) * 1000))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True,
                          text=True, check=True, cwd=REPO)  # fmt: skip
    return float(proc.stdout.strip())


# --- the benchmark -----------------------------------------------------------------------------
def run(rounds: int = 30) -> dict:
    if not QUIXBUGS.is_dir():
        raise SystemExit(f"no QuixBugs cases at {QUIXBUGS} (set KDT_BENCH_SHARED)")
    text, programs = build_file()
    n_lines = len(text.splitlines())
    files = [SourceFile("solution.py", text)]
    log(f"{n_lines}-line file from {len(programs)} QuixBugs programs; {rounds} rounds per level")

    cold = [cold_review_ms(text) for _ in range(3)]
    review_static(files, level=4)  # warm-up: imports, rule docs
    per_level: dict[int, dict] = {}
    counts: dict[int, tuple[int, int]] = {}
    for level in LEVELS:
        times = timed(lambda lv=level: review_static(files, level=lv), rounds)
        per_level[level] = percentiles_ms(times)
        result = review_static(files, level=level)
        counts[level] = (len(result.findings), len(result.findings) + len(result.hidden))

    with tempfile.TemporaryDirectory(prefix="kdt-bench-review-") as tmp:
        path = str(Path(tmp) / "solution.py")
        Path(path).write_text(text, encoding="utf-8")
        log("per tool")
        tools = {
            "syntax (compile)": percentiles_ms(
                timed(lambda: static_checks._compile_problem("solution.py", text), rounds)
            ),
            "ruff Lv4 rules (subprocess)": percentiles_ms(
                timed(lambda: ruff_folder([text], 4), rounds)
            ),
            "bandit in process": percentiles_ms(timed(lambda: bandit_in_process(path), rounds)),
            "radon cc_visit": percentiles_ms(
                timed(
                    lambda: static_checks._radon_findings(
                        "solution.py", text, level=4, lang="en", cc={}, notes=[]
                    ),
                    rounds,
                )
            ),
        }
        bandit_cli_times = percentiles_ms(timed(lambda: bandit_cli(path), max(5, rounds // 3)))
        baseline_times = percentiles_ms(timed(lambda: ruff_all([path]), rounds))
        baseline_count_300 = len(ruff_all([path]))

    static_checks._ruff_catalog.cache_clear()
    t = time.perf_counter()
    static_checks._ruff_catalog()
    catalog_ms = (time.perf_counter() - t) * 1000

    log("ruff invocation: stdin per file vs one run on a temporary folder")
    invocation = {}
    for k in (1, 5):
        texts = [text] * k
        invocation[k] = {
            "stdin": percentiles_ms(timed(lambda ts=texts: ruff_stdin(ts, 4), rounds)),
            "folder": percentiles_ms(timed(lambda ts=texts: ruff_folder(ts, 4), rounds)),
        }

    log("5,000-line file")
    big_text = text * -(-5000 // n_lines)  # the programs repeated: >= 5,000 lines
    big_times = percentiles_ms(
        timed(lambda: review_static([SourceFile("big.py", big_text)], level=4), 5)
    )

    log(f"noise on {len(fixed_programs())} fixed.py programs")
    noise = noise_on_fixed()

    rows = []
    for level in LEVELS:
        p = per_level[level]
        rows.append(row(f"Lv{level} review p50", p["p50"], baseline_times["p50"], unit="ms"))
        rows.append(
            row(f"Lv{level} review p95", p["p95"], baseline_times["p95"], unit="ms",
                target="<= 800")
        )  # fmt: skip
    for name, p in tools.items():
        base = bandit_cli_times["p95"] if name == "bandit in process" else None
        rows.append(row(f"{name} p95", p["p95"], base, unit="ms"))
    rows += [
        row("first review in a fresh process (mean of 3)", round(sum(cold) / len(cold), 1),
            None, unit="ms"),
        row("ruff rule docs (`ruff rule --all`, once per process)", round(catalog_ms, 1),
            None, unit="ms"),
        row("ruff 1 file: one run on a temp folder p50", invocation[1]["folder"]["p50"],
            invocation[1]["stdin"]["p50"], unit="ms"),
        row("ruff 5 files: one run on a temp folder p50", invocation[5]["folder"]["p50"],
            invocation[5]["stdin"]["p50"], unit="ms"),
        row(f"Lv4 review of a {len(big_text.splitlines()):,}-line file p95", big_times["p95"],
            None, unit="ms"),
    ]  # fmt: skip
    speed = {
        "name": f"{NAME}-speed",
        "title": f"static review of a {n_lines}-line file (QuixBugs programs), {rounds} rounds",
        "baseline_name": "ruff ALL",
        "baseline_desc": (
            "`ruff check --isolated --select ALL` on the same file (timings); for the bandit "
            "row: bandit's command line; for the ruff invocation rows: one stdin run per file"
        ),
        "rows": rows,
        "notes": [
            "findings on this file (shown / total) per level: "
            + ", ".join(f"Lv{lv} {s}/{t}" for lv, (s, t) in counts.items())
            + f"; ruff ALL: {baseline_count_300}",
            "rule sets: " + "; ".join(f"Lv{lv} {len(rule_set(lv))} selectors" for lv in LEVELS),
            f"programs: {', '.join(programs)}",
        ],
    }
    noise_rows = []
    for level in LEVELS:
        item = noise["levels"][level]
        noise_rows.append(
            row(f"Lv{level} findings shown", item["shown"], noise["baseline"]["findings"],
                target="fewer is better")
        )  # fmt: skip
        noise_rows.append(row(f"Lv{level} findings incl. hidden", item["total"], None))
        noise_rows.append(
            row(f"Lv{level} programs with a shown finding", item["programs"],
                noise["baseline"]["programs"])
        )  # fmt: skip
    noise_table = {
        "name": f"{NAME}-noise",
        "title": f"static findings on {noise['programs']} correct QuixBugs programs (fixed.py)",
        "baseline_name": "ruff ALL",
        "baseline_desc": "`ruff check --isolated --select ALL` on the same files, every finding",
        "rows": noise_rows,
        "notes": [
            f"Lv{lv}: " + (", ".join(f"{c} x{n}" for c, n in noise["levels"][lv]["codes"]) or "-")
            for lv in LEVELS
        ]
        + ["ruff ALL top rules: " + ", ".join(f"{c} x{n}" for c, n in noise["baseline"]["top"])],
    }
    return {
        "speed": speed,
        "noise": noise_table,
        "details": {
            "lines": n_lines,
            "per_level": per_level,
            "tools": tools,
            "bandit_cli": bandit_cli_times,
            "baseline_ruff_all": baseline_times,
            "cold_ms": cold,
            "catalog_ms": catalog_ms,
            "invocation": invocation,
            "big_file": big_times,
            "noise": noise,
        },
    }


def noise_on_fixed() -> dict:
    paths = fixed_programs()
    levels: dict[int, dict] = {}
    for level in LEVELS:
        shown = total = programs = 0
        codes: dict[str, int] = {}
        for path in paths:
            result = review_static(
                [SourceFile("fixed.py", path.read_text(encoding="utf-8"))], level=level
            )
            shown += len(result.findings)
            total += len(result.findings) + len(result.hidden)
            programs += bool(result.findings)
            for f in result.findings + result.hidden:
                codes[f.code] = codes.get(f.code, 0) + 1 + f.folded
        levels[level] = {
            "shown": shown,
            "total": total,
            "programs": programs,
            "codes": sorted(codes.items(), key=lambda kv: -kv[1]),
        }
    baseline = ruff_all([str(p) for p in paths])
    top: dict[str, int] = {}
    for item in baseline:
        top[str(item.get("code"))] = top.get(str(item.get("code")), 0) + 1
    return {
        "programs": len(paths),
        "levels": levels,
        "baseline": {
            "findings": len(baseline),
            "programs": len({item["filename"] for item in baseline}),
            "top": sorted(top.items(), key=lambda kv: -kv[1])[:8],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/review_static.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=30, help="reviews per level (default 30)")
    parser.add_argument("--json", metavar="OUT", default=str(OUT_DIR / "review-static.json"))
    args = parser.parse_args(argv)
    before = load_average()
    result = run(rounds=args.rounds)
    load = {"before": before, "after": load_average()}
    for key in ("speed", "noise"):
        result[key]["load_average"] = load
        print(format_table(result[key]))
        print()
    write_report(args.json, name=NAME, result=result, argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
