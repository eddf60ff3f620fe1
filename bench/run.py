"""Run the benchmarks: ``python -m bench.run [--only NAME ...] [--json OUT]``.

Each benchmark runs in a fresh Python process (so one benchmark's loaded models and
caches never help or hurt the next), prints a table comparing ours against a baseline
measured in the same run, and lands in one JSON file with the machine description.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.common import OUT_DIR, format_table, load_average, log, machine_info

# name -> module with a ``run(**options)`` function
BENCHMARKS = {
    "search-20k": "bench.search_latency",
    "reingest": "bench.reingest",
    "serve-memory": "bench.serve_memory",
    "chat-latency": "bench.chat_latency",
    "learner-api": "bench.learner_api",
    "gaps-grouping": "bench.gaps_grouping",
    "review-api": "bench.review_api",
    "analytics": "bench.analytics",
    "gaps-page": "bench.gaps_page",
    "upload-pdf": "bench.upload_pdf",
    "load": "bench.load",
}


def call(module: str, options: dict) -> dict:
    """Import a benchmark module and run it (the target of the child process)."""
    import importlib

    return importlib.import_module(module).run(**options)


def run_isolated(module: str, options: dict) -> dict:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(call, module, options).result()


def options_for(name: str, args: argparse.Namespace) -> dict:
    if name == "search-20k":
        return {"chunks": args.chunks, "queries": args.queries}
    return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", metavar="OUT", default=str(OUT_DIR / "results.json"),
                        help="where to write the results (default: bench/out/results.json)")
    parser.add_argument("--chunks", type=int, default=20_000,
                        help="search-20k: chunks in the knowledge base (default 20000)")
    parser.add_argument("--queries", type=int, default=300,
                        help="search-20k: timed queries (default 300)")
    args = parser.parse_args(argv)

    machine = machine_info()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM, "
          f"Python {machine['python']}; load average {load_average()}\n", flush=True)
    results: dict[str, dict] = {}
    failed = False
    for name in args.only or list(BENCHMARKS):
        log(f"running {name}")
        before, t0 = load_average(), time.perf_counter()
        try:
            result = run_isolated(BENCHMARKS[name], options_for(name, args))
        except Exception as exc:  # report the failure, go on with the next benchmark
            failed = True
            result = {"name": name, "error": f"{type(exc).__name__}: {exc}"}
        result["load_average"] = {"before": before, "after": load_average()}
        result["wall_s"] = round(time.perf_counter() - t0, 1)
        results[name] = result
        if "error" in result:
            print(f"== {name}: FAILED: {result['error']}\n", flush=True)
        else:
            print(format_table(result) + "\n", flush=True)

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv[1:] if argv is None else argv,
        "benchmarks": results,
    }
    out.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"results written to {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
