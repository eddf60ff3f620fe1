"""Code reviews and their history (SQLAlchemy Core, on ``tutor.store.metadata``).

One table, ``code_reviews``: one row per submission, with the submitted files, the static
review, the sandboxed test run, the suspicious lines and the narrative, each as JSON. A
review is written in two steps, because tests run after the static review has already been
returned: it is created ``running`` (static part done), and becomes ``complete`` only when
the test run, localization and narrative are all stored, in one update guarded by the
status (compare-and-set), or ``failed`` with the reason. So a crash, a restart or a failed
test run never leaves a partial review that reads as complete.

``attempt`` numbers a trainee's submissions per (course, exercise) from 1 (free code without
an exercise is numbered on its own); the previous attempt is what the diff compares with.

Nothing from SQLAlchemy leaves this module: callers get ``ReviewRecord``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    select,
    update,
)

from tutor.review.types import SourceFile
from tutor.store import as_utc, create_schema, metadata

STATUSES = ("running", "complete", "failed")

code_reviews = Table(
    "code_reviews",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("course", String(128)),
    Column("exercise_id", String(128)),
    Column("attempt", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("verdict", String(16)),
    Column("files", Text, nullable=False),  # [{"name", "text"}]
    Column("static", Text, nullable=False),  # the static review (findings, hidden, ...)
    Column("tests", Text),  # the TestRun, when tests ran
    Column("suspicious", Text),  # [SuspiciousLine]
    Column("narrative", Text),
    Column("notices", Text),  # [str]
    Column("timings", Text),  # {"static_ms", "tests_ms", ...}
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Index("ix_code_reviews_user_exercise", "user_id", "course", "exercise_id", "attempt"),
)


@dataclass(frozen=True)
class ReviewRecord:
    id: str
    user_id: int
    course: str | None
    exercise_id: str | None
    attempt: int
    level: int
    lang: str
    status: str
    verdict: str | None
    files: tuple[SourceFile, ...]
    static: dict[str, Any]
    tests: dict[str, Any] | None
    suspicious: list[dict[str, Any]] = field(default_factory=list)
    narrative: str = ""
    notices: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """What cohort analytics read of a complete review."""

    user_id: int
    exercise_id: str | None
    verdict: str | None
    static: dict[str, Any]
    tests: dict[str, Any] | None
    created_at: datetime


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _load(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def _record(row: Any) -> ReviewRecord:
    return ReviewRecord(
        id=row.id,
        user_id=row.user_id,
        course=row.course,
        exercise_id=row.exercise_id,
        attempt=row.attempt,
        level=row.level,
        lang=row.lang,
        status=row.status,
        verdict=row.verdict,
        files=tuple(SourceFile(f["name"], f["text"]) for f in _load(row.files, [])),
        static=_load(row.static, {}),
        tests=_load(row.tests, None),
        suspicious=_load(row.suspicious, []),
        narrative=row.narrative or "",
        notices=_load(row.notices, []),
        timings=_load(row.timings, {}),
        error=row.error,
        created_at=as_utc(row.created_at) if row.created_at else None,
        completed_at=as_utc(row.completed_at) if row.completed_at else None,
    )


def _same_task(user_id: int, course: str | None, exercise_id: str | None):
    t = code_reviews.c
    return and_(
        t.user_id == user_id,
        t.course.is_(None) if course is None else t.course == course,
        t.exercise_id.is_(None) if exercise_id is None else t.exercise_id == exercise_id,
    )


class ReviewStore:
    """Reads and writes ``code_reviews``; ownership is checked by the caller's service."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_schema(engine)

    def create(
        self,
        *,
        user_id: int,
        course: str | None,
        exercise_id: str | None,
        files: tuple[SourceFile, ...],
        level: int,
        lang: str,
        static: dict[str, Any],
        timings: dict[str, float],
    ) -> ReviewRecord:
        """A new ``running`` review with its static part; the attempt number is the next one
        for this trainee and task (computed in the same transaction as the insert)."""
        review_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            last = conn.execute(
                select(func.max(code_reviews.c.attempt)).where(
                    _same_task(user_id, course, exercise_id)
                )
            ).scalar()
            conn.execute(
                insert(code_reviews).values(
                    id=review_id,
                    user_id=user_id,
                    course=course,
                    exercise_id=exercise_id,
                    attempt=(last or 0) + 1,
                    level=level,
                    lang=lang,
                    status="running",
                    files=_dump([{"name": f.name, "text": f.text} for f in files]),
                    static=_dump(static),
                    timings=_dump(timings),
                    created_at=now,
                )
            )
        record = self.get(review_id)
        assert record is not None
        return record

    def complete(
        self,
        review_id: str,
        *,
        verdict: str,
        tests: dict[str, Any] | None,
        suspicious: list[dict[str, Any]],
        narrative: str,
        notices: list[str],
        timings: dict[str, float],
    ) -> bool:
        """Store the finished review; False when it was no longer ``running`` (e.g. marked
        interrupted meanwhile), in which case nothing is written."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(code_reviews)
                .where(code_reviews.c.id == review_id, code_reviews.c.status == "running")
                .values(
                    status="complete",
                    verdict=verdict,
                    tests=_dump(tests) if tests is not None else None,
                    suspicious=_dump(suspicious),
                    narrative=narrative,
                    notices=_dump(notices),
                    timings=_dump(timings),
                    completed_at=datetime.now(UTC),
                )
            )
        return result.rowcount == 1

    def fail(self, review_id: str, error: str) -> bool:
        """Mark a running review failed with a reason shown to the trainee."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(code_reviews)
                .where(code_reviews.c.id == review_id, code_reviews.c.status == "running")
                .values(status="failed", error=error[:2000], completed_at=datetime.now(UTC))
            )
        return result.rowcount == 1

    def interrupt_stale(self, *, older_than: timedelta) -> int:
        """Reviews left ``running`` by a server that stopped: marked failed. Returns how many."""
        cutoff = datetime.now(UTC) - older_than
        with self.engine.begin() as conn:
            result = conn.execute(
                update(code_reviews)
                .where(code_reviews.c.status == "running", code_reviews.c.created_at < cutoff)
                .values(
                    status="failed",
                    error="the review was interrupted (the server restarted); submit again",
                    completed_at=datetime.now(UTC),
                )
            )
        return result.rowcount

    def get(self, review_id: str) -> ReviewRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(code_reviews).where(code_reviews.c.id == review_id)).first()
        return _record(row) if row else None

    def history(
        self,
        user_id: int,
        *,
        course: str | None = None,
        exercise_id: str | None = None,
        limit: int = 50,
    ) -> list[ReviewRecord]:
        """A trainee's reviews, newest first, optionally for one exercise."""
        t = code_reviews.c
        query = select(code_reviews).where(t.user_id == user_id)
        if course is not None:
            query = query.where(t.course == course)
        if exercise_id is not None:
            query = query.where(t.exercise_id == exercise_id)
        query = query.order_by(t.created_at.desc(), t.attempt.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def previous(self, record: ReviewRecord) -> ReviewRecord | None:
        """The same trainee's attempt before this one at the same task."""
        t = code_reviews.c
        query = (
            select(code_reviews)
            .where(
                _same_task(record.user_id, record.course, record.exercise_id),
                t.attempt < record.attempt,
            )
            .order_by(t.attempt.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _record(row) if row else None

    # --- whole-course reads (cohort analytics) ------------------------------------------
    def complete_extent(self, course: str) -> tuple[int, datetime | None]:
        """(complete reviews, latest completion) in the course: a new or deleted review
        changes it."""
        t = code_reviews.c
        query = select(func.count(), func.max(t.completed_at)).where(
            t.course == course, t.status == "complete"
        )
        with self.engine.connect() as conn:
            count, latest = conn.execute(query).one()
        return int(count or 0), latest

    def outcomes(self, course: str) -> list[ReviewOutcome]:
        """The course's complete reviews, in time order."""
        t = code_reviews.c
        query = (
            select(t.user_id, t.exercise_id, t.verdict, t.static, t.tests, t.created_at)
            .where(t.course == course, t.status == "complete")
            .order_by(t.created_at, t.attempt)
        )
        with self.engine.connect() as conn:
            return [
                ReviewOutcome(
                    user_id=r.user_id,
                    exercise_id=r.exercise_id,
                    verdict=r.verdict,
                    static=_load(r.static, {}),
                    tests=_load(r.tests, None),
                    created_at=as_utc(r.created_at),
                )
                for r in conn.execute(query)
            ]

    def exercise_verdicts(
        self, course: str, *, verdicts: tuple[str, ...], user_id: int | None = None
    ) -> list[tuple[int, str, str, datetime]]:
        """(user id, exercise id, verdict, created_at) of the course's complete exercise
        reviews with one of ``verdicts``, in time order (``user_id``: that trainee's only)."""
        t = code_reviews.c
        query = (
            select(t.user_id, t.exercise_id, t.verdict, t.created_at)
            .where(
                t.course == course,
                t.status == "complete",
                t.exercise_id.is_not(None),
                t.verdict.in_(verdicts),
            )
            .order_by(t.created_at, t.attempt)
        )
        if user_id is not None:
            query = query.where(t.user_id == user_id)
        with self.engine.connect() as conn:
            return [(u, eid, verdict, as_utc(at)) for u, eid, verdict, at in conn.execute(query)]
