"""chat-latency: offline answers over SSE from a real ``kdt-tutor serve``, 1 and 20 users.

The sample course is ingested into a temporary data dir, a trainee and an API token are
created with the CLI, and ``kdt-tutor serve`` runs as a subprocess. Each request is a
``POST /api/chat`` read as a stream: time to first byte (the first SSE frame), time to the
first ``token`` event, and time to the ``done`` event (end to end). First one user asks
questions one after another, then 20 users ask at once (threads, each its own questions).
The baseline is ``GET /api/search`` (retrieval only, the same questions and concurrency),
so the ratio shows what answering adds on top of retrieval.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.common import SAMPLE_COURSE, format_table, free_port, log, percentiles_ms, row
from bench.serve_memory import _env, _kdt_tutor, stop, wait_healthy
from eval.datasets import read_quiz

NAME = "chat-latency"


def _ask(client: httpx.Client, base: str, token: str, question: str) -> dict:
    """One streamed chat request: ttfb, first token and done times in seconds; errors."""
    started = time.perf_counter()
    ttfb = first_token = None
    ok = False
    with client.stream(
        "POST",
        f"{base}/api/chat",
        json={"message": question},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    ) as response:
        if response.status_code != 200:
            return {"error": f"HTTP {response.status_code}"}
        for line in response.iter_lines():
            now = time.perf_counter() - started
            if ttfb is None:
                ttfb = now
            if line == "event: token" and first_token is None:
                first_token = now
            if line == "event: error":
                return {"error": "error event"}
            if line == "event: done":
                ok = True
    total = time.perf_counter() - started
    if not ok:
        return {"error": "stream ended without done"}
    return {"ttfb": ttfb, "first_token": first_token or total, "total": total}


def _search(client: httpx.Client, base: str, question: str) -> dict:
    started = time.perf_counter()
    response = client.get(f"{base}/api/search", params={"q": question, "k": 5}, timeout=120)
    if response.status_code != 200:
        return {"error": f"HTTP {response.status_code}"}
    return {"total": time.perf_counter() - started}


def _load(users: int, per_user: int, questions: list[str], call) -> list[dict]:
    """``users`` threads, each making ``per_user`` calls with its own slice of questions."""
    results: list[dict] = []
    lock = threading.Lock()

    def worker(u: int) -> None:
        with httpx.Client() as client:
            for i in range(per_user):
                q = questions[(u * per_user + i) % len(questions)]
                try:
                    r = call(client, q)
                except httpx.HTTPError as exc:
                    r = {"error": type(exc).__name__}
                with lock:
                    results.append(r)

    threads = [threading.Thread(target=worker, args=(u,)) for u in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _summary(results: list[dict], key: str) -> dict:
    values = [r[key] for r in results if key in r]
    return percentiles_ms(values) if values else {"n": 0, "p50": None, "p95": None}


def run(single: int = 40, users: int = 20, per_user: int = 3) -> dict:
    items, _ = read_quiz(SAMPLE_COURSE / "quiz.jsonl")
    questions = [q.question for q in items]
    with tempfile.TemporaryDirectory(prefix="kdt-bench-chat-") as tmp_name:
        tmp = Path(tmp_name)
        env = _env(tmp / "data")
        env["KDT_CHAT_PER_MINUTE"] = "0"  # one token asks for every simulated user: no limit
        cli = _kdt_tutor()
        log("ingesting the sample course and creating a trainee")
        subprocess.run([cli, "ingest", str(SAMPLE_COURSE)], env=env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, timeout=3600)
        subprocess.run([cli, "user", "add", "bench", "--role", "trainee", "--course",
                        "python-basics", "--password", "bench-password-1"],
                       env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        token = subprocess.run([cli, "user", "token", "bench"], env=env, cwd=tmp, check=True,
                               capture_output=True, text=True).stdout.split()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen([cli, "serve", "--port", str(port)], env=env, cwd=tmp,
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_healthy(proc, f"{base}/api/health", log_path)
                with httpx.Client() as warm:
                    _ask(warm, base, token, "warm up: what is a list?")

                def chat(client, q):
                    return _ask(client, base, token, q)

                def search(client, q):
                    return _search(client, base, q)

                log(f"1 user x {single} chat questions")
                one = _load(1, single, questions, chat)
                one_base = _load(1, single, questions, search)
                log(f"{users} users x {per_user} chat questions at once")
                many = _load(users, per_user, questions, chat)
                many_base = _load(users, per_user, questions, search)
            finally:
                stop(proc)

    def errors(rs: list[dict]) -> int:
        return sum(1 for r in rs if "error" in r)

    s1, b1 = _summary(one, "total"), _summary(one_base, "total")
    s20, b20 = _summary(many, "total"), _summary(many_base, "total")
    rows = [
        row("1 user: answer p50 (end to end)", s1["p50"], b1["p50"], unit="ms"),
        row("1 user: answer p95", s1["p95"], b1["p95"], unit="ms", target="<= 300"),
        row("1 user: time to first byte p95", _summary(one, "ttfb")["p95"], None, unit="ms"),
        row("1 user: first token p95", _summary(one, "first_token")["p95"], None, unit="ms"),
        row(f"{users} users: answer p50", s20["p50"], b20["p50"], unit="ms"),
        row(f"{users} users: answer p95", s20["p95"], b20["p95"], unit="ms", target="<= 1500"),
        row(f"{users} users: time to first byte p95", _summary(many, "ttfb")["p95"], None,
            unit="ms"),
        row("errors (1 user + 20 users)", errors(one) + errors(many),
            errors(one_base) + errors(many_base), target="0"),
    ]
    return {
        "name": NAME,
        "title": "offline chat answers over SSE from a real server (sample course)",
        "baseline_name": "search only",
        "baseline_desc": "GET /api/search, same questions and concurrency (retrieval only)",
        "rows": rows,
        "notes": [f"{len(one)} + {len(many)} chat requests; answerer: extractive (offline)"],
        "details": {"single": s1, "many": s20, "single_search": b1, "many_search": b20},
    }


if __name__ == "__main__":
    print(format_table(run()))
