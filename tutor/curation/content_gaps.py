"""Content gaps: what trainees asked that the course did not answer well, grouped by
meaning, and how instructors close them.

The questions come from two places: the questions the tutor said it could not answer from
the course (``content_gaps``, recorded by the chat) and the questions whose answers got a
thumbs-down. Open questions are grouped by meaning (a ``Grouper``:
``tutor.curation.question_groups`` in production), with counts, the weeks they were asked
in, examples and what the tutor retrieved for them.

From a group an instructor either

- writes an answer that becomes a ``kind: faq`` document of the course (a Markdown file under
  ``KDT_DATA_DIR/faq/<course>/``, with the trainees' questions listed so paraphrases find it,
  ingested at once and cited from then on), or
- marks it out of scope.

Either way a resolution row records which questions it covers, so the group shows as
resolved and later questions form new groups only if the tutor still cannot answer them.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, Text, insert, select

from tutor.chat.conversations import ConversationStore
from tutor.errors import ConflictError, InvalidInputError, NotFoundError
from tutor.store import as_utc, create_schema, metadata

MAX_ANSWER_CHARS = 20_000
MAX_TITLE_CHARS = 200
EXAMPLES = 5

gap_resolutions = Table(
    "gap_resolutions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("course", String(128), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # "answered" | "out_of_scope"
    Column("title", String(200), nullable=False),
    Column("faq_doc_id", String(512)),
    Column("question_keys", Text, nullable=False),  # JSON list of GapQuestion keys
    Column("note", Text),
    Column("created_by", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class Grouper(Protocol):
    def __call__(self, items: Sequence[tuple[str, str]], *, course: str | None) -> dict[str, str]:
        """``{"<id>": "<group label>"}`` for ``(id, question)`` pairs."""
        ...


@dataclass(frozen=True)
class GapQuestion:
    key: str  # "gap:<id>" | "down:<message id>"
    question: str
    lang: str
    source: str  # "not_covered" | "low_confidence" | "thumbs_down"
    created_at: datetime
    retrieved: tuple[str, ...] = ()  # titles of what the tutor retrieved


@dataclass(frozen=True)
class GapGroup:
    key: str  # stable while its questions do not change: the oldest question's key
    label: str
    questions: tuple[GapQuestion, ...]
    weeks: dict[str, int]  # ISO week "2026-W47" -> questions asked
    retrieved: tuple[tuple[str, int], ...]  # (title, times) the tutor fell back on
    status: str = "open"  # "open" | "answered" | "out_of_scope"
    resolution: dict[str, Any] | None = None

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def examples(self) -> tuple[GapQuestion, ...]:
        return self.questions[:EXAMPLES]


@dataclass(frozen=True)
class GapOverview:
    open: list[GapGroup]
    resolved: list[GapGroup]
    pending: list[GapQuestion]  # open questions not grouped yet (grouping still runs)


@dataclass
class _Cache:
    signature: tuple = ()
    groups: list[GapGroup] = field(default_factory=list)


@dataclass(frozen=True)
class _State:
    questions: list[GapQuestion]
    resolutions: list[dict[str, Any]]
    signature: tuple


def _week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def slug(text: str) -> str:
    """A file-name-safe slug (ASCII letters/digits, Hangul kept), at most 50 characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^0-9a-z가-힣]+", "-", text).strip("-")
    return text[:50].strip("-") or "faq"


def faq_markdown(*, title: str, course: str, lang: str, answer: str, questions: list[str]) -> str:
    safe_title = title.replace("\n", " ").replace('"', "'")
    asked = "\n".join(f"- {q.strip()}" for q in questions if q.strip())
    heading = "이 답이 다루는 질문" if lang == "ko" else "Questions this answers"
    return (
        f'---\ntitle: "{safe_title}"\nkind: faq\ncourse: {course}\nlang: {lang}\n---\n\n'
        f"# {safe_title}\n\n{answer.strip()}\n\n## {heading}\n\n{asked}\n"
    )


class ContentGaps:
    def __init__(
        self,
        *,
        engine: Engine,
        conversations: ConversationStore,
        grouper: Grouper,
        faq_dir: Path,
        ingest_file: Callable[[Path, str], Any],
    ) -> None:
        """``ingest_file(path, course)`` indexes one file into the course (and returns the
        ingest report: ``.failed`` is a list of (path, reason))."""
        self.engine = engine
        self.conversations = conversations
        self.grouper = grouper
        self.faq_dir = faq_dir
        self.ingest_file = ingest_file
        self._lock = threading.Lock()
        self._cache: dict[str, _Cache] = {}
        # one grouping at a time, off the request threads (a cold one searches every question)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gap-groups")
        self._jobs: dict[str, tuple[tuple, Future]] = {}
        create_schema(engine)

    # -- reading ------------------------------------------------------------------------------
    def questions(self, course: str) -> list[GapQuestion]:
        """Every gap question of the course, oldest first."""
        found: list[GapQuestion] = []
        for g in self.conversations.gaps(course=course):
            found.append(
                GapQuestion(
                    key=f"gap:{g['id']}",
                    question=g["question"],
                    lang=g.get("lang") or "en",
                    source=g.get("reason") or "not_covered",
                    created_at=datetime.fromisoformat(g["created_at"]),
                    retrieved=tuple(r.get("title", "") for r in g.get("retrieved", [])[:3]),
                )
            )
        for rated in self.conversations.rated_answers(course=course, rating="down"):
            if rated.question is None or not rated.question.content.strip():
                continue
            found.append(
                GapQuestion(
                    key=f"down:{rated.answer.id}",
                    question=rated.question.content,
                    lang=rated.question.lang or "en",
                    source="thumbs_down",
                    created_at=as_utc(rated.rated_at),
                    retrieved=tuple(c.title for c in rated.answer.citations[:3]),
                )
            )
        return sorted(found, key=lambda q: (q.created_at, q.key))

    def resolutions(self, course: str) -> list[dict[str, Any]]:
        query = (
            select(gap_resolutions)
            .where(gap_resolutions.c.course == course)
            .order_by(gap_resolutions.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [
            {
                "id": r.id,
                "status": r.status,
                "title": r.title,
                "faq_doc_id": r.faq_doc_id,
                "question_keys": json.loads(r.question_keys),
                "note": r.note,
                "created_by": r.created_by,
                "created_at": as_utc(r.created_at).isoformat(),
            }
            for r in rows
        ]

    def groups(self, course: str) -> tuple[list[GapGroup], list[GapGroup]]:
        """``(open groups, resolved groups)``, up to date: open ones biggest first. Waits
        for the grouping when the course's questions or resolutions changed since the last
        one (the API and the resolving actions need current groups)."""
        view = self.overview(course, wait_s=None)
        return view.open, view.resolved

    def overview(self, course: str, *, wait_s: float | None) -> GapOverview:
        """The course's groups, waiting at most ``wait_s`` seconds (``None``: as long as it
        takes) for a grouping that is not done yet. Grouping runs in the background: when it
        takes longer, the previous groups come back, less what was resolved since, and the
        open questions they do not hold yet are ``pending`` (the page says so and reloads).
        """
        state = self._state(course)
        job = self._refresh(course, state)
        try:
            groups = job.result(timeout=wait_s)
        except FutureTimeout:
            return self._stale(course, state)
        return GapOverview(*self._split(groups), pending=[])

    def refresh(self, course: str) -> None:
        """Start grouping the course's open questions in the background if they changed
        (e.g. at server start, so the first page does not wait for it)."""
        self._refresh(course, self._state(course))

    def _state(self, course: str) -> _State:
        questions = self.questions(course)
        resolutions = self.resolutions(course)
        signature = (tuple(q.key for q in questions), tuple(r["id"] for r in resolutions))
        return _State(questions, resolutions, signature)

    def _refresh(self, course: str, state: _State) -> Future:
        with self._lock:
            cached = self._cache.get(course)
            if cached is not None and cached.signature == state.signature:
                done: Future = Future()
                done.set_result(cached.groups)
                return done
            running = self._jobs.get(course)
            if running is not None and running[0] == state.signature:
                return running[1]
            job = self._executor.submit(self._build, course, state)
            self._jobs[course] = (state.signature, job)
            return job

    def _build(self, course: str, state: _State) -> list[GapGroup]:
        resolved_keys = {k for r in state.resolutions for k in r["question_keys"]}
        open_questions = [q for q in state.questions if q.key not in resolved_keys]
        labels = (
            self.grouper([(q.key, q.question) for q in open_questions], course=course)
            if open_questions
            else {}
        )
        members: dict[str, list[GapQuestion]] = {}
        for q in open_questions:
            members.setdefault(labels.get(q.key) or q.question[:80], []).append(q)
        groups = [_group(label, qs) for label, qs in members.items()]
        groups += _resolved_groups(state)
        with self._lock:
            self._cache[course] = _Cache(state.signature, groups)
        return groups

    def _stale(self, course: str, state: _State) -> GapOverview:
        resolved_keys = {k for r in state.resolutions for k in r["question_keys"]}
        with self._lock:
            cached = self._cache.get(course)
        stale = [g for g in cached.groups if g.status == "open"] if cached else []
        current = {q.key: q for q in state.questions if q.key not in resolved_keys}
        open_groups, grouped = [], set()
        for g in stale:
            kept = [current[q.key] for q in g.questions if q.key in current]
            if kept:
                open_groups.append(_group(g.label, kept))
                grouped.update(q.key for q in kept)
        pending = [q for q in current.values() if q.key not in grouped]
        open_, resolved = self._split(open_groups + _resolved_groups(state))
        return GapOverview(open_, resolved, pending=pending)

    @staticmethod
    def _split(groups: list[GapGroup]) -> tuple[list[GapGroup], list[GapGroup]]:
        open_ = sorted((g for g in groups if g.status == "open"), key=lambda g: (-g.count, g.label))
        done = sorted(
            (g for g in groups if g.status != "open"),
            key=lambda g: g.resolution["created_at"] if g.resolution else "",
            reverse=True,
        )
        return open_, done

    def group(self, course: str, key: str) -> GapGroup:
        open_, done = self.groups(course)
        for g in (*open_, *done):
            if g.key == key:
                return g
        raise NotFoundError(f"no open content-gap group {key!r} in course {course!r}")

    # -- resolving ----------------------------------------------------------------------------
    def answer_with_faq(
        self,
        course: str,
        *,
        group_key: str,
        title: str,
        answer: str,
        lang: str,
        user: str,
    ) -> dict[str, Any]:
        """Write the instructor's answer as a FAQ document of the course, index it now, and
        mark the group's questions answered. Returns the resolution."""
        group = self._open_group(course, group_key)
        title = " ".join(title.split())[:MAX_TITLE_CHARS] or group.label[:MAX_TITLE_CHARS]
        answer = answer.strip()
        if not answer:
            raise InvalidInputError("write the answer the FAQ should give")
        if len(answer) > MAX_ANSWER_CHARS:
            raise InvalidInputError(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
        if lang not in ("en", "ko"):
            raise InvalidInputError("lang must be 'en' or 'ko'")
        folder = self.faq_dir / course
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"faq-{slug(title)}-{group.questions[0].key.split(':')[1][:8]}.md"
        text = faq_markdown(
            title=title,
            course=course,
            lang=lang,
            answer=answer,
            questions=[q.question for q in group.questions[:20]],
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        report = self.ingest_file(path, course)
        if report.failed:
            path.unlink(missing_ok=True)
            reason = "; ".join(r for _p, r in report.failed)
            raise InvalidInputError(f"the FAQ could not be indexed: {reason}")
        doc_id = (list(report.added) + list(report.updated) + list(report.unchanged))[0]
        return self._resolve(
            course, group, status="answered", title=title, doc_id=doc_id, note=None, user=user
        )

    def mark_out_of_scope(
        self, course: str, *, group_key: str, note: str | None, user: str
    ) -> dict[str, Any]:
        group = self._open_group(course, group_key)
        return self._resolve(
            course,
            group,
            status="out_of_scope",
            title=group.label[:MAX_TITLE_CHARS],
            doc_id=None,
            note=(note or "").strip()[:2000] or None,
            user=user,
        )

    def _open_group(self, course: str, key: str) -> GapGroup:
        group = self.group(course, key)
        if group.status != "open":
            raise ConflictError(f"this group is already resolved ({group.status})")
        return group

    def _resolve(
        self,
        course: str,
        group: GapGroup,
        *,
        status: str,
        title: str,
        doc_id: str | None,
        note: str | None,
        user: str,
    ) -> dict[str, Any]:
        with self.engine.begin() as conn:
            new_id = conn.execute(
                insert(gap_resolutions).values(
                    course=course,
                    status=status,
                    title=title,
                    faq_doc_id=doc_id,
                    question_keys=json.dumps([q.key for q in group.questions]),
                    note=note,
                    created_by=user,
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
        return next(r for r in self.resolutions(course) if r["id"] == new_id)


def _resolved_groups(state: _State) -> list[GapGroup]:
    by_key = {q.key: q for q in state.questions}
    groups = []
    for r in state.resolutions:
        qs = [by_key[k] for k in r["question_keys"] if k in by_key]
        if qs:
            groups.append(_group(r["title"], qs, status=r["status"], resolution=r))
    return groups


def _group(
    label: str,
    questions: list[GapQuestion],
    *,
    status: str = "open",
    resolution: dict[str, Any] | None = None,
) -> GapGroup:
    questions = sorted(questions, key=lambda q: (q.created_at, q.key))
    weeks = Counter(_week(q.created_at) for q in questions)
    retrieved = Counter(t for q in questions for t in q.retrieved if t)
    return GapGroup(
        key=questions[0].key,
        label=label,
        questions=tuple(questions),
        weeks=dict(sorted(weeks.items())),
        retrieved=tuple(retrieved.most_common(3)),
        status=status,
        resolution=resolution,
    )
