"""Time one sandboxed run of the course exercises that have tests.json and pytest files
(the pytest files go through the runner process since issue 14). Prints a table.

    .venv/bin/python bench/review_pytest_runner.py [--runs 8]

Compare with the pre-change tree by putting it first on ``PYTHONPATH`` (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tutor.review.exercise_tests import load_exercise_tests
from tutor.review.sandbox import SandboxLimits, build_sandbox
from tutor.review.types import SourceFile

EXERCISES = Path(__file__).resolve().parents[1] / "courses" / "python-basics" / "exercises"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    sandbox = build_sandbox("bubblewrap", allow_unsafe=False)
    print("| exercise | tests | median ms | min ms |")
    print("|---|---|---|---|")
    for folder in sorted(p for p in EXERCISES.iterdir() if list(p.glob("test_*.py"))):
        tests = load_exercise_tests(folder)
        files = [SourceFile("solution.py", (folder / "solution.py").read_text())]
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            run = sandbox.run(files=files, tests=tests, limits=SandboxLimits())
            times.append((time.perf_counter() - started) * 1000)
            if run.verdict != "passed":
                raise SystemExit(f"{folder.name}: {run.verdict}: {run.message}")
        print(
            f"| {folder.name} | {len(run.cases)} | {statistics.median(times):.0f} "
            f"| {min(times):.0f} |"
        )


if __name__ == "__main__":
    main()
