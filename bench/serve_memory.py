"""serve-memory: resident memory of ``kdt-tutor serve`` with the sample course loaded.

The sample course is ingested into a temporary data dir, then ``kdt-tutor serve`` runs
as a subprocess. Once /api/health answers 200 and the server has idled 5 s, the RSS of
the process and its children is read; then 50 searches go through GET /api/search and
the RSS is read again. The baseline is a bare uvicorn serving a hello-world FastAPI app,
measured the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import psutil

from bench.common import SAMPLE_COURSE, format_table, free_port, log, row
from eval.datasets import read_quiz

NAME = "serve-memory"
N_SEARCHES = 50
HEALTH_TIMEOUT_S = 120.0
IDLE_S = 5.0

HELLO_APP = '''\
from fastapi import FastAPI

app = FastAPI()


@app.get("/api/health")
def health():
    return {"status": "ok"}


@app.get("/api/search")
def search(q: str):
    return {"query": q, "results": []}
'''


def _env(data_dir: Path) -> dict[str, str]:
    """This environment without any KDT_* setting, plus the temporary data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KDT_")}
    env.update(
        KDT_DATA_DIR=str(data_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    return env


def _kdt_tutor() -> str:
    script = Path(sys.executable).parent / "kdt-tutor"
    return str(script) if script.exists() else (shutil.which("kdt-tutor") or "kdt-tutor")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its children, in MB."""
    proc = psutil.Process(pid)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return round(total / 1024 / 1024, 1)


def _get(url: str, timeout: float = 30.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        return response.status


def wait_healthy(proc: subprocess.Popen, url: str, log_path: Path) -> float:
    """Poll ``url`` until it answers 200; seconds it took. Fails early if the server exits."""
    started = time.perf_counter()
    while time.perf_counter() - started < HEALTH_TIMEOUT_S:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"server exited with {proc.returncode} before healthy:\n{tail}")
        try:
            if _get(url, timeout=2.0) == 200:
                return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} not healthy after {HEALTH_TIMEOUT_S:g} s")


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server and its children; kill whatever is still alive after 10 s."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for p in [proc, *children]:
        try:
            p.terminate()
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=5)
    for p in alive:
        p.kill()


def measure_server(
    cmd: list[str], *, env: dict[str, str], cwd: Path, port: int, queries: list[str]
) -> dict:
    """Start ``cmd``, wait until healthy, idle, read RSS, search, read RSS; always stop it."""
    base = f"http://127.0.0.1:{port}"
    log_path = cwd / f"server-{port}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            startup_s = wait_healthy(proc, f"{base}/api/health", log_path)
            time.sleep(IDLE_S)
            idle = rss_mb(proc.pid)
            t0 = time.perf_counter()
            for q in queries:
                status = _get(f"{base}/api/search?{urlencode({'q': q})}")
                if status != 200:
                    raise RuntimeError(f"search answered {status}")
            search_s = time.perf_counter() - t0
            after = rss_mb(proc.pid)
        finally:
            stop(proc)
    return {
        "startup_s": round(startup_s, 2),
        "rss_idle_mb": idle,
        "rss_after_searches_mb": after,
        "search_mean_ms": round(search_s / len(queries) * 1000, 1),
    }


def run(searches: int = N_SEARCHES) -> dict:
    items, _ = read_quiz(SAMPLE_COURSE / "quiz.jsonl")
    queries = [items[i % len(items)].question for i in range(searches)]
    with tempfile.TemporaryDirectory(prefix="kdt-bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        env = _env(tmp / "data")
        log("ingesting the sample course (subprocess)")
        subprocess.run(
            [_kdt_tutor(), "ingest", str(SAMPLE_COURSE)],
            env=env, cwd=tmp, check=True, timeout=3600, stdout=subprocess.DEVNULL,
        )
        log("measuring kdt-tutor serve")
        port = free_port()
        ours = measure_server(
            [_kdt_tutor(), "serve", "--port", str(port)],
            env=env, cwd=tmp, port=port, queries=queries,
        )
        log("measuring the hello-world baseline")
        (tmp / "hello_app.py").write_text(HELLO_APP, encoding="utf-8")
        port = free_port()
        base = measure_server(
            [sys.executable, "-m", "uvicorn", "hello_app:app", "--app-dir", str(tmp),
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, cwd=tmp, port=port, queries=queries,
        )

    rows = [
        row("RSS idle (health 200 + 5 s)", ours["rss_idle_mb"], base["rss_idle_mb"], unit="MB"),
        row(f"RSS after {searches} searches", ours["rss_after_searches_mb"],
            base["rss_after_searches_mb"], unit="MB"),
        row("start until healthy", ours["startup_s"], base["startup_s"], unit="s"),
    ]
    notes = [
        "RSS = resident set of the server process plus its children (psutil)",
        f"mean HTTP search latency: ours {ours['search_mean_ms']} ms "
        f"(hello-world {base['search_mean_ms']} ms, a static answer)",
    ]
    return {
        "name": NAME,
        "title": "memory of `kdt-tutor serve` with the sample course",
        "baseline_name": "hello-world",
        "baseline_desc": "bare uvicorn serving a hello-world FastAPI app, measured the same way",
        "rows": rows,
        "notes": notes,
        "details": {"ours": ours, "baseline": base, "searches": searches},
    }


if __name__ == "__main__":
    print(format_table(run()))
