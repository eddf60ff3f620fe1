"""Content gaps end to end (issue 7, item 3): trainees' unanswered questions are grouped for
their instructor, an FAQ written from a group is indexed at once, and the same question is
then answered from it with a citation. Real knowledge base, real grouping, real chat."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from knowledge.ingest import ingest_path
from knowledge.registry import make_engine
from knowledge.types import SearchFilter
from tests.web_app import app_with, bearer_headers, fast_accounts, ingested_kb, sse_events
from tutor.chat.conversations import ConversationStore
from tutor.curation.content_gaps import ContentGaps
from tutor.curation.question_groups import build_question_grouper
from tutor.schema import head, upgrade
from tutor.settings import Settings

pytestmark = pytest.mark.integration

LOOPS = """---
title: Loops
kind: lesson
level: 1
skills: [loops]
lang: en
---
# Loops

## The for loop

A `for` loop repeats a block once for every item of a sequence, such as a list or a range.
`for n in range(3): print(n)` prints 0, 1 and 2.
"""

LISTS = """---
title: Lists
kind: lesson
level: 1
skills: [lists]
lang: en
---
# Lists

## Adding items

To add one item to the end of a list, call its `append` method: `scores.append(90)`.
"""

PRESENTATION = "When is the final project presentation?"
PRESENTATION_AGAIN = "When do we present the final project?"
DOCKER = "How do I install Docker Desktop on Windows?"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("gaps")
    for course in ("py", "ml"):
        (root / course / "lessons").mkdir(parents=True)
        (root / course / "lessons" / "loops.md").write_text(LOOPS, encoding="utf-8")
        (root / course / "lessons" / "lists.md").write_text(LISTS, encoding="utf-8")
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3")
    kb = ingested_kb(settings, root / "py", root / "ml")
    accounts = fast_accounts(settings)
    users = {
        "teacher": accounts.create_user("teach", "teacher-pass", role="instructor", course="py"),
        "other": accounts.create_user("mlteach", "teacher-pass", role="instructor", course="ml"),
        "admin": accounts.create_user("boss", "admin-pass-1", role="admin"),
        "kim": accounts.create_user("kim", "trainee-pass", role="trainee", course="py"),
        "lee": accounts.create_user("lee", "trainee-pass", role="trainee", course="py"),
    }
    app = app_with(settings, accounts=accounts, kb=kb)
    headers = bearer_headers(accounts, users)
    return {"client": TestClient(app), "headers": headers, "settings": settings, "kb": kb}


def ask(env, who: str, message: str) -> dict:
    """Ask through POST /api/chat; the ``done`` event's data."""
    response = env["client"].post(
        "/api/chat", json={"message": message}, headers=env["headers"][who]
    )
    events = sse_events(response)
    assert "done" in events, response.text[:300]
    return events["done"][0]


def gaps(env, who: str = "teacher", course: str | None = None):
    query = f"?course={course}" if course else ""
    return env["client"].get(f"/api/gaps{query}", headers=env["headers"][who])


def group_of(body: dict, question: str) -> dict:
    for group in body["open"] + body["resolved"]:
        if any(q["question"] == question for q in group["examples"]):
            return group
    raise AssertionError(f"{question!r} is in no group: {body}")


def test_unanswered_questions_are_grouped_then_an_faq_answers_them(env) -> None:
    first = ask(env, "kim", PRESENTATION)
    ask(env, "lee", PRESENTATION_AGAIN)
    ask(env, "lee", DOCKER)
    assert first["mode"] == "not_covered"

    listed = gaps(env)
    assert listed.status_code == 200
    body = listed.json()
    presentation = group_of(body, PRESENTATION)
    assert presentation["status"] == "open"
    assert {q["question"] for q in presentation["examples"]} == {PRESENTATION, PRESENTATION_AGAIN}
    assert presentation["count"] == 2 and sum(presentation["weeks"].values()) == 2
    assert all(q["source"] == "not_covered" for q in presentation["examples"])
    assert group_of(body, DOCKER)["key"] != presentation["key"]

    faq = env["client"].post(
        f"/api/gaps/{presentation['key']}/faq",
        json={
            "title": "Final project presentation",
            "answer": "The final project presentation is on Friday of week 12: every team "
            "presents its project for ten minutes, then answers questions.",
            "lang": "en",
        },
        headers=env["headers"]["teacher"],
    )
    assert faq.status_code == 201, faq.text
    resolution = faq.json()
    assert resolution["status"] == "answered" and resolution["created_by"] == "teach"
    doc_id = resolution["faq_doc_id"]
    # indexed at once, as a faq document of the instructor's course only
    stored = env["kb"].registry.get(doc_id)
    assert stored.course == "py" and stored.kind == "faq"
    hits = env["kb"].search(PRESENTATION, k=1, where=SearchFilter(course="py"))
    assert hits[0].chunk.doc_id == doc_id
    in_ml = env["kb"].search(PRESENTATION, k=5, where=SearchFilter(course="ml"))
    assert all(h.chunk.doc_id != doc_id for h in in_ml)

    after = gaps(env).json()
    resolved = group_of(after, PRESENTATION)
    assert resolved["status"] == "answered" and resolved["resolution"]["faq_doc_id"] == doc_id
    assert group_of(after, DOCKER)["status"] == "open"

    # The trainee's repeated question is now answered from the FAQ, with its citation.
    again = ask(env, "kim", PRESENTATION)
    assert again["mode"] == "answer"
    assert "week 12" in again["text"]
    assert doc_id in {c["doc_id"] for c in again["citations"]}
    # ... and it is no new gap
    assert len(gaps(env).json()["open"]) == len(after["open"])


def test_out_of_scope_resolves_a_group_and_a_group_resolves_once(env) -> None:
    ask(env, "kim", "Which laptop should I buy for the bootcamp?")
    group = group_of(gaps(env).json(), "Which laptop should I buy for the bootcamp?")
    client, teacher = env["client"], env["headers"]["teacher"]

    marked = client.post(
        f"/api/gaps/{group['key']}/out-of-scope", json={"note": "ask the staff"}, headers=teacher
    )
    twice = client.post(f"/api/gaps/{group['key']}/out-of-scope", json={}, headers=teacher)

    assert marked.status_code == 201 and marked.json()["status"] == "out_of_scope"
    assert marked.json()["note"] == "ask the staff"
    assert twice.status_code == 409
    after = group_of(gaps(env).json(), "Which laptop should I buy for the bootcamp?")
    assert after["status"] == "out_of_scope"


def test_a_thumbs_down_answer_is_a_gap_question(env) -> None:
    answered = ask(env, "lee", "How do I add an item to the end of a list?")
    assert answered["mode"] == "answer"
    rated = env["client"].post(
        f"/api/messages/{answered['message_id']}/feedback",
        json={"rating": "down", "comment": "I wanted insert at a position"},
        headers=env["headers"]["lee"],
    )
    assert rated.status_code in (200, 201, 204), rated.text

    group = group_of(gaps(env).json(), "How do I add an item to the end of a list?")
    example = next(
        q
        for q in group["examples"]
        if q["question"] == "How do I add an item to the end of a list?"
    )
    assert example["source"] == "thumbs_down"
    assert any("Lists" in title for title, _n in group["retrieved"])


def test_bad_requests_and_roles(env) -> None:
    client, h = env["client"], env["headers"]
    ask(env, "kim", DOCKER)
    key = group_of(gaps(env).json(), DOCKER)["key"]

    assert gaps(env, "kim").status_code == 403
    assert gaps(env, "teacher", course="ml").status_code == 403
    assert gaps(env, "other").json()["open"] == []  # the ml course has no gaps
    assert gaps(env, "admin", course="py").json()["course"] == "py"
    empty = client.post(f"/api/gaps/{key}/faq", json={"answer": "   "}, headers=h["teacher"])
    assert empty.status_code == 422
    wrong_type = client.post(f"/api/gaps/{key}/faq", json={"answer": 42}, headers=h["teacher"])
    assert wrong_type.status_code == 422
    huge = client.post(f"/api/gaps/{key}/faq", json={"answer": "x" * 20_001}, headers=h["teacher"])
    assert huge.status_code == 422
    unknown = client.post("/api/gaps/gap:999999/faq", json={"answer": "a"}, headers=h["teacher"])
    assert unknown.status_code == 404
    trainee = client.post(f"/api/gaps/{key}/faq", json={"answer": "a"}, headers=h["kim"])
    assert trainee.status_code == 403
    other = client.post(f"/api/gaps/{key}/out-of-scope?course=py", json={}, headers=h["other"])
    assert other.status_code == 403
    # nothing was resolved by the refused requests
    assert group_of(gaps(env).json(), DOCKER)["status"] == "open"


def test_the_console_page_lists_the_groups(env) -> None:
    ask(env, "kim", DOCKER)
    client, h = env["client"], env["headers"]
    assert gaps(env).status_code == 200  # the API waits for the grouping; the page may not

    page = client.get("/console/gaps?lang=en", headers=h["teacher"])

    assert page.status_code == 200
    assert 'data-testid="gap-group"' in page.text and DOCKER in page.text
    assert "Publish as FAQ" in page.text
    assert client.get("/console/gaps", headers=h["kim"]).status_code == 403
    korean = client.get("/console/gaps?lang=ko", headers=h["teacher"]).text
    assert "FAQ로 게시" in korean


def test_gap_reason_column_is_added_to_an_older_database_by_the_migrations(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE content_gaps (id INTEGER PRIMARY KEY, course VARCHAR(128), "
            "user_id INTEGER, question TEXT NOT NULL, lang VARCHAR(8), confidence FLOAT NOT "
            "NULL, retrieved TEXT NOT NULL, created_at DATETIME NOT NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO content_gaps (course, question, lang, confidence, retrieved, "
            "created_at) VALUES ('py', 'old question', 'en', 0.1, '[]', '2026-11-01 10:00:00')"
        )

    assert upgrade(engine) == (None, head())  # the migrations add the column
    assert upgrade(engine) == (head(), head())  # and then leave the database alone

    store = ConversationStore(engine)
    store.record_gap(
        course="py",
        user_id=None,
        question="new question",
        lang="en",
        confidence=0.3,
        retrieved=[],
        reason="low_confidence",
    )
    reasons = {g["question"]: g["reason"] for g in store.gaps(course="py")}
    assert reasons == {"old question": "not_covered", "new question": "low_confidence"}


class GatedGrouper:
    """The real grouper, held until the test opens the gate (to see a grouping that is
    still running)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.gate = threading.Event()

    def __call__(self, items, *, course):
        assert self.gate.wait(30), "the test never opened the gate"
        return self.inner(items, course=course)


def test_the_page_does_not_wait_for_a_grouping_that_is_still_running(env, tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gaps.db'}")
    store = ConversationStore(engine)
    grouper = GatedGrouper(build_question_grouper(env["kb"]))
    service = ContentGaps(
        engine=engine,
        conversations=store,
        grouper=grouper,
        faq_dir=tmp_path / "faq",
        ingest_file=lambda path, course: ingest_path(env["kb"], path, course=course),
    )

    def record(question: str) -> None:
        store.record_gap(
            course="py", user_id=None, question=question, lang="en", confidence=0.1, retrieved=[]
        )

    record(PRESENTATION)
    record(PRESENTATION_AGAIN)

    first = service.overview("py", wait_s=0.05)
    assert first.open == [] and {q.question for q in first.pending} == {
        PRESENTATION,
        PRESENTATION_AGAIN,
    }

    grouper.gate.set()
    grouped = service.overview("py", wait_s=None)
    assert grouped.pending == [] and [g.count for g in grouped.open] == [2]

    grouper.gate.clear()
    record(DOCKER)
    stale = service.overview("py", wait_s=0.05)
    assert [g.count for g in stale.open] == [2]  # the previous groups, at once
    assert [q.question for q in stale.pending] == [DOCKER]

    grouper.gate.set()
    fresh = service.overview("py", wait_s=None)
    assert fresh.pending == [] and sorted(g.count for g in fresh.open) == [1, 2]
