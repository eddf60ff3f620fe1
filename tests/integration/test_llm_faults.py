"""LLM faults, end to end: a real uvicorn server with ``KDT_ANSWERER=openai`` against the
scripted OpenAI-compatible server (real HTTP both ways), one fault at a time: down, 500,
429, 401, garbage, hang, keep-alive trickle. Every chat must be answered by the offline
answerer, with the notice, within the answer's deadline, while ``/api/health`` keeps
answering (issue 14: a hanging endpoint held a chat 92 s, a follow-up 122 s, a trickle
300 s, and ~40 such chats stalled the app).

The per-read timeout stays at its default (30 s): the deadline, not the timeout, must be
what bounds an answer. Timing bounds are generous (the machine is shared); the figures
under load are in ``bench/llm_faults.py``.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api.app import create_app
from api.deps import get_account_service
from knowledge.embeddings import build_embeddings
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from knowledge.registry import make_engine
from tests.fakes.openai_server import ScriptClient, free_port, start_fake_openai, stop_fake_openai
from tests.integration.test_openai_api import serve, stop
from tutor.accounts.users import AccountService
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

DEADLINE_S = 2.0  # KDT_LLM_DEADLINE_S in this suite (first token)
TOTAL_S = 6.0  # KDT_LLM_TOTAL_S
SLACK_S = 2.5  # retrieval, the offline answer, storage, a busy machine
UNAVAILABLE = "The AI model is unavailable right now"
REJECTED = "rejected the request"

LESSON = """---
title: Lists
kind: lesson
level: 2
lang: en
---
# Lists

## Adding items

Use the `append` method to add one item at the end of a list.

## Sorting

The `sorted` function returns a new sorted list; `list.sort()` sorts in place.
"""

# One fault each; repeated so that condensing, every retry and a second chat all meet it.
FAULTS = {
    "500": {"status": 500},
    "429": {"status": 429},
    "401": {"status": 401},
    "garbage": {"raw_body": "<html><body>502 Bad Gateway</body></html>"},
    "hang": {"delay_s": 120},
    "trickle": {"keepalive_s": 0.3, "keepalive_for_s": 120},
}


@pytest.fixture(scope="module")
def llm():
    proc, base_url = start_fake_openai()
    yield ScriptClient(base_url), base_url
    stop_fake_openai(proc)


def _app(root, llm_base_url: str, kb=None):
    settings = Settings(
        data_dir=root / "var",
        embedding="usem3",
        answerer="openai",
        llm_base_url=llm_base_url,
        llm_model="scripted-model",
        llm_deadline_s=DEADLINE_S,
        llm_total_s=TOTAL_S,
        chat_per_minute=0,  # one user asks the bursts: the per-user chat limit is not tested here
    )
    if kb is None:
        kb = build_knowledge_base(
            settings.knowledge_config(), embeddings=build_embeddings("usem3")
        )
    return settings, kb


@pytest.fixture(scope="module")
def env(tmp_path_factory, llm):
    root = tmp_path_factory.mktemp("llm-faults")
    course = root / "faultcourse"
    (course / "lessons").mkdir(parents=True)
    (course / "lessons" / "lists.md").write_text(LESSON, encoding="utf-8")
    settings, kb = _app(root, llm[1])
    assert not ingest_path(kb, course).failed
    accounts = AccountService(make_engine(settings.resolved_database_url))
    user = accounts.create_user("erin", "password-123", role="trainee", course="faultcourse")
    headers = {"Authorization": f"Bearer {accounts.create_token(user, 'tests')}"}
    servers = {}
    # "down": the same course and accounts, an LLM URL where nothing listens.
    for name, url in (("up", llm[1]), ("down", f"http://127.0.0.1:{free_port()}/v1")):
        app_settings, _ = _app(root, url, kb=kb)
        services = build_services(app_settings, kb=kb)
        app = create_app(services=services, warm_up=False)
        app.dependency_overrides[get_account_service] = lambda: accounts
        servers[name] = (*serve(app), services)
    yield {name: s[2] for name, s in servers.items()}, headers
    for server, thread, _url, services in servers.values():
        stop(server, thread)
        services.close()


def chat(url: str, headers: dict, message: str, conversation_id: str | None = None) -> dict:
    """One chat over SSE; returns the done frame's data, the notices and the time it took."""
    started = time.monotonic()
    body = {"message": message, **({"conversation_id": conversation_id} if conversation_id else {})}
    done, notices = None, []
    with httpx.stream(
        "POST", f"{url}/api/chat", json=body, headers=headers, timeout=120
    ) as response:
        assert response.status_code == 200, response.read()
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "done":
                done = json.loads(line[6:])
            elif line.startswith("data: ") and event == "notice":
                notices.append(json.loads(line[6:])["text"])
    assert done is not None
    return {**done, "seen_notices": notices, "elapsed": time.monotonic() - started}


class HealthProbe:
    """Polls ``/api/health`` every 0.1 s in a thread while a test runs; the slowest reply."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.times: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    ok = client.get(f"{self.url}/api/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.times.append(time.monotonic() - started)
                self.failures += not ok
                self._stop.wait(0.1)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def assert_fell_back(result: dict, *, notice: str = UNAVAILABLE) -> None:
    assert result["answerer"] == "extractive", result
    assert any(notice in n for n in result["notices"]) and result["seen_notices"]
    assert "append" in result["text"] and result["citations"]  # the offline answer, quoted


@pytest.mark.parametrize("fault", [*FAULTS, "down"])
def test_every_fault_is_answered_offline_within_the_deadline(env, llm, fault) -> None:
    urls, headers = env
    script, _ = llm
    script.reset()
    if fault != "down":
        script.script(*[FAULTS[fault]] * 8)
    url = urls["down" if fault == "down" else "up"]

    with HealthProbe(url) as health:
        result = chat(url, headers, "How do I add an item to a list?")

    assert_fell_back(result, notice=REJECTED if fault == "401" else UNAVAILABLE)
    assert result["elapsed"] < DEADLINE_S + SLACK_S, result["elapsed"]
    assert health.times and health.failures == 0
    assert max(health.times) < 2.0, max(health.times)


@pytest.mark.parametrize("fault", ["hang", "trickle"])
def test_a_follow_up_shares_one_deadline_with_condensing(env, llm, fault) -> None:
    urls, headers = env
    script, _ = llm
    script.reset()
    script.script({"content": "Call `append` on the list [1]."})
    first = chat(urls["up"], headers, "How do I add an item to a list?")
    assert first["answerer"] == "llm"
    script.script(*[FAULTS[fault]] * 4)  # condensing the follow-up, then the answer

    result = chat(urls["up"], headers, "And how do I sort it?", first["conversation_id"])

    assert result["answerer"] == "extractive"
    # Before: 30 s for condensing plus 92 s for the answer; now one deadline for both.
    assert result["elapsed"] < DEADLINE_S + SLACK_S, result["elapsed"]
    assert len(script.calls()) >= 2  # the model was asked to condense, then to answer


def test_many_chats_against_a_hanging_model_keep_health_responsive(env, llm) -> None:
    urls, headers = env
    script, _ = llm

    def burst() -> list[dict]:
        with ThreadPoolExecutor(12) as pool:
            return list(
                pool.map(
                    lambda i: chat(urls["up"], headers, f"How do I add item {i} to a list?"),
                    range(12),
                )
            )

    # The same burst against an endpoint that rejects at once: what the offline answers
    # themselves cost at this concurrency on this (shared) machine.
    script.reset()
    script.script(*[FAULTS["401"]] * 40)
    baseline = max(r["elapsed"] for r in burst())
    script.reset()
    script.script(*[FAULTS["hang"]] * 40)

    with HealthProbe(urls["up"]) as health:
        results = burst()

    for result in results:
        assert_fell_back(result)
    # The hang adds the deadline at most (before: 92 s a chat).
    assert max(r["elapsed"] for r in results) < baseline + DEADLINE_S + SLACK_S
    assert health.failures == 0 and max(health.times) < 5.0, max(health.times)
