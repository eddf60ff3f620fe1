"""Trainees' thumbs up/down on the tutor's answers, exported as eval items.

Each rated assistant message becomes one eval JSONL record (``docs/evaluation.md``,
"Datasets"), so instructors grow the eval set from real questions:

- ``id`` is ``fb-<message id>``; ``question`` is the user message the answer replied to;
- thumbs up: the answer was judged right, so its text is the ``reference`` and the lessons
  it cited are the ``gold_sources``; ``expect`` is what the answer did (``answer``,
  ``hint`` or ``not_covered``);
- thumbs down: ``reference`` is null and ``gold_sources`` empty, for an instructor to fill;
  ``expect`` is ``answer`` (the trainee wanted an answer), except in hint mode, which stays
  ``hint``: a graded exercise never gets its solution, whatever the rating says;
- ``tags``: ``feedback``, ``thumbs-up`` | ``thumbs-down``, the course, and ``follow-up``
  when the question came after others in its conversation (it may need them to make sense);
- ``feedback``: ``{rating, comment, answer, answerer, mode, created_at,
  earlier_questions}``, so the reviewer sees what happened. The loader ignores it.

Trainee identity is never exported: no user id, username, display name or conversation
id. The comment and the questions are the trainee's own words and are exported as typed.

The learner level is not stored with messages, so ``level`` is null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, inspect, select

from knowledge.errors import InvalidInputError
from knowledge.loaders import detect_lang
from knowledge.registry import documents
from tutor.chat.conversations import ConversationStore, RatedAnswer

RatingFilter = Literal["all", "up", "down"]
RATINGS: tuple[str, ...] = ("all", "up", "down")


def export_feedback(
    engine: Engine,
    *,
    course: str | None = None,
    rating: RatingFilter = "all",
    since: datetime | None = None,
    lesson_ids: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One eval record per rated assistant message, oldest rating first.

    ``course`` keeps one course, ``rating`` one rating, ``since`` ratings given at or after
    that time (naive means UTC). ``lesson_ids`` maps a cited document id to its lesson id;
    by default it is read from the knowledge registry in the same database (when there is
    one). A cited document it does not know stays a document id, which is a valid gold
    source too (it only misses the other language's version of the lesson).
    """
    if rating not in RATINGS:
        raise InvalidInputError(f"rating must be one of {', '.join(RATINGS)} (got {rating!r})")
    rated = ConversationStore(engine).rated_answers(
        course=course, rating=None if rating == "all" else rating, since=since
    )
    if lesson_ids is None:
        lesson_ids = _registry_lesson_ids(engine)
    return [feedback_record(r, lesson_ids=lesson_ids) for r in rated if r.question is not None]


def feedback_record(rated: RatedAnswer, *, lesson_ids: Mapping[str, str]) -> dict[str, Any]:
    """The eval record of one rated answer (see the module docstring)."""
    answer, question = rated.answer, rated.question
    if question is None or answer.feedback is None:
        raise ValueError("a rated answer with its question is needed")
    up = answer.feedback.rating == "up"
    gold: list[str] = []
    if up:
        for citation in answer.citations:
            source = lesson_ids.get(citation.doc_id) or citation.doc_id
            if source not in gold:
                gold.append(source)
    lang = question.lang if question.lang in ("en", "ko") else detect_lang(question.content)
    tags = ["feedback", "thumbs-up" if up else "thumbs-down"]
    if rated.course:
        tags.append(rated.course)
    if rated.earlier_questions:
        tags.append("follow-up")
    return {
        "id": f"fb-{answer.id}",
        "question": question.content,
        "lang": lang,
        "level": None,
        "options": [],
        "answer_index": None,
        "reference": answer.content if up else None,
        "gold_sources": gold,
        "exercise_id": None,
        "tags": tags,
        "expect": _expect(answer.mode, up=up),
        "feedback": {
            "rating": answer.feedback.rating,
            "comment": answer.feedback.comment,
            "answer": answer.content,
            "answerer": answer.answerer,
            "mode": answer.mode,
            "created_at": rated.rated_at.isoformat(),
            "earlier_questions": list(rated.earlier_questions),
        },
    }


def _expect(mode: str | None, *, up: bool) -> str:
    if mode == "hint":
        return "hint"
    if up and mode == "not_covered":
        return "not_covered"
    return "answer"


def _registry_lesson_ids(engine: Engine) -> dict[str, str]:
    """Document id -> lesson id from the knowledge registry, if this database holds it."""
    if not inspect(engine).has_table(documents.name):
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(documents.c.doc_id, documents.c.lesson_id))
        return {r.doc_id: r.lesson_id for r in rows if r.lesson_id}
