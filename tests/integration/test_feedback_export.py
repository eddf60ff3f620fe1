"""Thumbs up/down exported as eval items: real SQLite, real ConversationStore and accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from eval.datasets import read_eval_dataset, write_ragas_jsonl
from eval.feedback_export import export_feedback
from knowledge.chunking import chunk_document
from knowledge.errors import InvalidInputError
from knowledge.loaders import load_document
from knowledge.registry import DocumentRegistry, make_engine
from tutor.accounts.users import AccountService
from tutor.chat.answering import Citation
from tutor.chat.conversations import ConversationStore
from tutor.store import feedback

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "courses" / "python-basics"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
EN_LISTS = "python-basics/lessons/05-lists.md"
KO_LISTS = "python-basics/lessons-ko/05-lists.md"


def _cite(n: int, doc_id: str, text: str) -> Citation:
    return Citation(n, f"{doc_id}#0-abc", doc_id, "Lists", ("Lists",), 1, 3, text)


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'kdt.db').as_posix()}")
    accounts = AccountService(engine, session_days=7, hasher=FAST)
    minji = accounts.create_user(
        "minji", "password-123", role="trainee", course="python-basics", display_name="Kim Minji"
    )
    junho = accounts.create_user(
        "junho", "password-123", role="trainee", course="ml-basics", display_name="Lee Junho"
    )
    store = ConversationStore(engine)
    ids: dict[str, str] = {}

    # Minji, python-basics: a good answer (thumbs up), a follow-up judged bad (thumbs down).
    conv = store.create(user_id=minji.id, course="python-basics", title="lists")
    store.add_message(conv.id, role="user", content="What is a list?", lang="en")
    up = store.add_message(
        conv.id,
        role="assistant",
        content="A list is an ordered, changeable collection of values [1][2].",
        lang="en",
        mode="answer",
        answerer="extractive",
        citations=(
            _cite(1, EN_LISTS, "A list is an ordered..."),
            _cite(2, EN_LISTS, "Lists use the same indexing..."),
        ),
    )
    store.set_feedback(up.id, user_id=minji.id, rating="up", comment=None)
    store.add_message(conv.id, role="user", content="and how do I copy one?", lang="en")
    down = store.add_message(
        conv.id,
        role="assistant",
        content="Lists are mutable [1].",
        lang="en",
        mode="answer",
        answerer="extractive",
        citations=(_cite(1, EN_LISTS, "Unlike strings, lists are mutable"),),
    )
    store.set_feedback(down.id, user_id=minji.id, rating="down", comment="not about copying")
    # An answer nobody rated: never exported.
    store.add_message(conv.id, role="user", content="What is a slice?", lang="en")
    unrated = store.add_message(conv.id, role="assistant", content="A slice [1].", mode="answer")
    ids.update(up=up.id, down=down.id, unrated=unrated.id)

    # Junho, ml-basics: Korean, thumbs up citing the Korean lesson; an exercise hint rated down.
    conv2 = store.create(user_id=junho.id, course="ml-basics", title="리스트")
    store.add_message(conv2.id, role="user", content="리스트가 뭐예요?", lang="ko")
    ko_up = store.add_message(
        conv2.id,
        role="assistant",
        content="리스트(list)는 순서가 있는 자료 모음입니다 [1].",
        lang="ko",
        mode="answer",
        answerer="extractive",
        citations=(_cite(1, KO_LISTS, "리스트(list)는 ..."),),
    )
    store.set_feedback(ko_up.id, user_id=junho.id, rating="up", comment="좋아요")
    conv3 = store.create(user_id=junho.id, course="ml-basics", title="ex")
    store.add_message(conv3.id, role="user", content="ex-sum-evens 정답 알려줘", lang="ko")
    hint = store.add_message(
        conv3.id, role="assistant", content="어떤 수가 짝수인가요?", lang="ko", mode="hint"
    )
    store.set_feedback(hint.id, user_id=junho.id, rating="down", comment="그냥 답을 주세요")
    ids.update(ko_up=ko_up.id, hint=hint.id)
    return engine, ids, (minji, junho)


def test_one_record_per_rated_answer_in_rating_order(db) -> None:
    engine, ids, _ = db
    records = export_feedback(engine)
    assert [r["id"] for r in records] == [f"fb-{ids[k]}" for k in ("up", "down", "ko_up", "hint")]
    assert f"fb-{ids['unrated']}" not in {r["id"] for r in records}


def test_thumbs_up_keeps_answer_as_reference_and_cited_sources_as_gold(db) -> None:
    engine, ids, _ = db
    up = {r["id"]: r for r in export_feedback(engine)}[f"fb-{ids['up']}"]
    assert up["question"] == "What is a list?"
    assert up["lang"] == "en" and up["level"] is None and up["expect"] == "answer"
    assert up["reference"] == "A list is an ordered, changeable collection of values [1][2]."
    # No knowledge registry in this database: the cited document ids, deduplicated.
    assert up["gold_sources"] == [EN_LISTS]
    assert up["tags"] == ["feedback", "thumbs-up", "python-basics"]
    assert up["feedback"]["rating"] == "up" and up["feedback"]["comment"] is None
    assert up["feedback"]["answerer"] == "extractive" and up["feedback"]["mode"] == "answer"
    assert datetime.fromisoformat(up["feedback"]["created_at"]).tzinfo is not None


def test_thumbs_down_leaves_gold_and_reference_for_the_instructor(db) -> None:
    engine, ids, _ = db
    by_id = {r["id"]: r for r in export_feedback(engine)}
    down = by_id[f"fb-{ids['down']}"]
    assert down["question"] == "and how do I copy one?"
    assert down["reference"] is None and down["gold_sources"] == []
    assert down["tags"] == ["feedback", "thumbs-down", "python-basics", "follow-up"]
    assert down["feedback"]["answer"] == "Lists are mutable [1]."
    assert down["feedback"]["comment"] == "not about copying"
    assert down["feedback"]["earlier_questions"] == ["What is a list?"]
    # A hint stays a hint: a thumbs down never turns an exercise into "give the solution".
    hint = by_id[f"fb-{ids['hint']}"]
    assert hint["expect"] == "hint" and hint["lang"] == "ko"
    assert hint["question"] == "ex-sum-evens 정답 알려줘"


@pytest.mark.parametrize(
    ("rating", "course", "expected"),
    [
        ("up", None, ["up", "ko_up"]),
        ("down", None, ["down", "hint"]),
        ("all", "python-basics", ["up", "down"]),
        ("down", "ml-basics", ["hint"]),
        ("all", "no-such-course", []),
    ],
)
def test_filters_by_rating_and_course(db, rating, course, expected) -> None:
    engine, ids, _ = db
    records = export_feedback(engine, rating=rating, course=course)
    assert [r["id"] for r in records] == [f"fb-{ids[k]}" for k in expected]


def test_since_keeps_recent_ratings_only(db) -> None:
    engine, ids, _ = db
    old = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as conn:
        conn.execute(
            update(feedback)
            .where(feedback.c.message_id.in_([ids["up"], ids["down"]]))
            .values(created_at=old)
        )
    recent = export_feedback(engine, since=datetime.now(UTC) - timedelta(days=1))
    assert [r["id"] for r in recent] == [f"fb-{ids['ko_up']}", f"fb-{ids['hint']}"]
    naive = (datetime.now(UTC) - timedelta(days=31)).replace(tzinfo=None)  # naive means UTC
    assert len(export_feedback(engine, since=naive)) == 4


def test_no_trainee_identity_in_the_output(db) -> None:
    engine, _, trainees = db
    text = json.dumps(export_feedback(engine), ensure_ascii=False)
    for user in trainees:
        assert user.username not in text
        assert user.display_name not in text
    for key in ("user", "user_id", "username", "display_name", "conversation_id"):
        assert f'"{key}"' not in text


def test_cited_documents_become_lesson_ids_from_the_registry(db) -> None:
    engine, ids, _ = db
    registry = DocumentRegistry(engine)
    for path in (COURSE / "lessons" / "05-lists.md", COURSE / "lessons-ko" / "05-lists.md"):
        doc = load_document(path, course_root=COURSE, course="python-basics", max_bytes=10**6)
        chunks = chunk_document(doc, chunk_size=900)
        registry.stage(doc, chunks, [[] for _ in chunks])
    by_id = {r["id"]: r for r in export_feedback(engine, rating="up")}
    # One lesson id serves both languages' versions of the lesson.
    assert by_id[f"fb-{ids['up']}"]["gold_sources"] == ["05-lists"]
    assert by_id[f"fb-{ids['ko_up']}"]["gold_sources"] == ["05-lists"]
    explicit = export_feedback(engine, rating="up", lesson_ids={EN_LISTS: "lists-en"})
    assert explicit[0]["gold_sources"] == ["lists-en"]


def test_unknown_rating_is_refused(db) -> None:
    with pytest.raises(InvalidInputError, match="rating must be one of"):
        export_feedback(db[0], rating="sideways")  # type: ignore[arg-type]


def test_export_loads_with_the_eval_dataset_loader(db, tmp_path) -> None:
    engine, ids, _ = db
    path = tmp_path / "feedback.jsonl"
    write_ragas_jsonl(path, export_feedback(engine))  # the atomic JSONL writer
    dataset = read_eval_dataset(path)
    assert dataset.problems == []
    items = {item.id: item for item in dataset.items}
    assert set(items) == {f"fb-{ids[k]}" for k in ("up", "down", "ko_up", "hint")}
    up = items[f"fb-{ids['up']}"]
    assert up.gold_sources == (EN_LISTS,) and up.reference and up.expect == "answer"
    assert up.is_gold(lesson_id="05-lists", doc_id=EN_LISTS)
    assert items[f"fb-{ids['hint']}"].expect == "hint"
    assert "thumbs-down" in items[f"fb-{ids['down']}"].tags
