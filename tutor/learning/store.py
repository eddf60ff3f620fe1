"""The learner model's tables and their queries (SQLAlchemy Core, on ``tutor.store.metadata``).

Tables (created with the other tutor tables by ``tutor.store.create_schema``):

- ``learner_evidence``: the append-only evidence log, one row per (answer, skill): which
  item, from where (``quiz`` | ``exercise`` | ``placement`` | ``review``), right or wrong,
  the answer as given (JSON) and a ``submission_key``. ``(submission_key, skill)`` is
  unique, so the same submission stored twice (a double click, a retried request, two
  workers) is one piece of evidence. Mastery is always recomputable from this table.
- ``learner_mastery``: a cache of one learner's per-skill state in one course, as JSON,
  *through* an evidence id, computed with a given parameter fingerprint and placement. A
  reader trusts it only when the fingerprint and placement match, and replays the
  evidence after ``through_id``; so a crash between writing evidence and the cache, a
  concurrent writer, a parameter change or a new placement never leaves it wrong.
- ``learner_achievements``: one row per (user, course, level) reached, with an evidence
  summary (JSON); unique, so a level is recorded once.
- ``learner_review_cards``: the FSRS card (JSON) of every answered item, with its due time.
- ``learner_param_overrides``: instructor overrides of a skill's BKT parameters.
- ``learner_placements``: placement quiz sessions (state JSON, result, priors).

Nothing from SQLAlchemy leaves this module: callers get the dataclasses below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from tutor.store import as_utc, create_schema, metadata

SOURCES = ("quiz", "exercise", "placement", "review")


def _user_fk() -> Column:
    return Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


evidence = Table(
    "learner_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _user_fk(),
    Column("course", String(128), nullable=False),
    Column("skill", String(128), nullable=False),
    Column("item_id", String(256), nullable=False),
    Column("source", String(16), nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("answer", Text, nullable=False, default="{}"),
    Column("submission_key", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("submission_key", "skill", name="uq_learner_evidence_submission"),
    Index("ix_learner_evidence_user_course", "user_id", "course", "id"),
    Index("ix_learner_evidence_course_skill", "course", "skill"),
)

mastery_cache = Table(
    "learner_mastery",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("course", String(128), primary_key=True),
    Column("through_id", Integer, nullable=False),
    Column("params_key", String(64), nullable=False),
    Column("placement_id", String(32), nullable=False, default=""),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

achievements = Table(
    "learner_achievements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _user_fk(),
    Column("course", String(128), nullable=False),
    Column("level", Integer, nullable=False),
    Column("achieved_at", DateTime(timezone=True), nullable=False),
    Column("summary", Text, nullable=False, default="{}"),
    UniqueConstraint("user_id", "course", "level", name="uq_learner_achievement"),
)

review_cards = Table(
    "learner_review_cards",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("course", String(128), primary_key=True),
    Column("item_id", String(256), primary_key=True),
    Column("card", Text, nullable=False),
    Column("due", DateTime(timezone=True), nullable=False),
    Column("reviews", Integer, nullable=False, default=0),
    Index("ix_learner_review_cards_due", "user_id", "course", "due"),
)

param_overrides = Table(
    "learner_param_overrides",
    metadata,
    Column("course", String(128), primary_key=True),
    Column("skill", String(128), primary_key=True),
    Column("params", Text, nullable=False),
    Column("set_by", String(64), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

placements = Table(
    "learner_placements",
    metadata,
    Column("id", String(32), primary_key=True),
    _user_fk(),
    Column("course", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # active | finished
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("result_state", Integer),
    Column("result_level", Integer),
    Column("priors", Text, nullable=False, default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_learner_placements_user_course", "user_id", "course", "status"),
)


# ------------------------------------------------------------------------------ rows


@dataclass(frozen=True)
class EvidenceRow:
    id: int
    user_id: int
    course: str
    skill: str
    item_id: str
    source: str
    correct: bool
    answer: dict[str, Any]
    submission_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Observation:
    """One evidence row, lean (what a whole-course replay reads)."""

    user_id: int
    skill: str
    correct: bool
    source: str
    item_id: str
    created_at: datetime


@dataclass(frozen=True)
class CachedMastery:
    through_id: int
    params_key: str
    placement_id: str
    state: dict[str, list[float]]  # skill -> [p_known, observations, correct]


@dataclass(frozen=True)
class Snapshot:
    """What computing one learner's state needs, read on one connection."""

    overrides: dict[str, OverrideRow]
    placement: tuple[str, int, dict[str, float]] | None  # latest finished: id, state, priors
    cache: CachedMastery | None
    rows: list[EvidenceRow]  # the evidence after ``cache.through_id`` (all without a cache)


@dataclass(frozen=True)
class AchievementRow:
    level: int
    achieved_at: datetime
    summary: dict[str, Any]


@dataclass(frozen=True)
class CardRow:
    item_id: str
    card: dict[str, Any]
    due: datetime
    reviews: int


@dataclass(frozen=True)
class PlacementRow:
    id: str
    user_id: int
    course: str
    status: str
    state: dict[str, Any]
    version: int
    result_state: int | None
    result_level: int | None
    priors: dict[str, float]
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class OverrideRow:
    skill: str
    params: dict[str, float]
    set_by: str
    set_at: datetime


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _evidence(row) -> EvidenceRow:
    m = row._mapping
    return EvidenceRow(
        id=m["id"],
        user_id=m["user_id"],
        course=m["course"],
        skill=m["skill"],
        item_id=m["item_id"],
        source=m["source"],
        correct=bool(m["correct"]),
        answer=json.loads(m["answer"]),
        submission_key=m["submission_key"],
        created_at=as_utc(m["created_at"]),
    )


def _placement(row) -> PlacementRow:
    m = row._mapping
    return PlacementRow(
        id=m["id"],
        user_id=m["user_id"],
        course=m["course"],
        status=m["status"],
        state=json.loads(m["state"]),
        version=m["version"],
        result_state=m["result_state"],
        result_level=m["result_level"],
        priors=json.loads(m["priors"] or "{}"),
        created_at=as_utc(m["created_at"]),
        finished_at=as_utc(m["finished_at"]) if m["finished_at"] is not None else None,
    )


# ----------------------------------------------------------------------------- store


class LearnerStore:
    """Reads and writes of the learner tables; tables are created on first use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._schema_ready = False

    def _ready(self) -> Engine:
        if not self._schema_ready:
            create_schema(self.engine)
            self._schema_ready = True
        return self.engine

    # --- evidence -----------------------------------------------------------------------
    def add_evidence(self, rows: list[dict[str, Any]]) -> list[int] | None:
        """Append rows (one submission) in one transaction; None if the key exists."""
        try:
            with self._ready().begin() as conn:
                ids = []
                for r in rows:
                    values = dict(r, answer=_dumps(r.get("answer") or {}))
                    ids.append(
                        conn.execute(insert(evidence).values(**values)).inserted_primary_key[0]
                    )
        except IntegrityError:
            return None
        return ids

    def evidence_by_key(self, submission_key: str) -> list[EvidenceRow]:
        query = (
            select(evidence)
            .where(evidence.c.submission_key == submission_key)
            .order_by(evidence.c.id)
        )
        with self._ready().connect() as conn:
            return [_evidence(r) for r in conn.execute(query)]

    def evidence(self, user_id: int, course: str, *, after_id: int = 0) -> list[EvidenceRow]:
        """One learner's evidence in one course, oldest first, with ids above ``after_id``."""
        with self._ready().connect() as conn:
            return self._evidence(conn, user_id, course, after_id=after_id)

    @staticmethod
    def _evidence(conn, user_id: int, course: str, *, after_id: int) -> list[EvidenceRow]:
        query = (
            select(evidence)
            .where(
                evidence.c.user_id == user_id,
                evidence.c.course == course,
                evidence.c.id > after_id,
            )
            .order_by(evidence.c.id)
        )
        return [_evidence(r) for r in conn.execute(query)]

    def course_evidence(self, course: str) -> list[EvidenceRow]:
        """Every learner's evidence in a course, in order (what parameter fitting reads)."""
        query = select(evidence).where(evidence.c.course == course).order_by(evidence.c.id)
        with self._ready().connect() as conn:
            return [_evidence(r) for r in conn.execute(query)]

    def answered_items(self, user_id: int, course: str) -> dict[str, int]:
        """item id -> the id of its latest evidence row, for one learner."""
        query = (
            select(evidence.c.item_id, func.max(evidence.c.id))
            .where(evidence.c.user_id == user_id, evidence.c.course == course)
            .group_by(evidence.c.item_id)
        )
        with self._ready().connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(query)}

    def source_counts(self, user_id: int, course: str) -> dict[str, dict[str, int]]:
        """source -> {"rows", "correct"} for one learner in one course."""
        query = (
            select(
                evidence.c.source,
                func.count(),
                func.sum(cast(evidence.c.correct, Integer)),
            )
            .where(evidence.c.user_id == user_id, evidence.c.course == course)
            .group_by(evidence.c.source)
        )
        with self._ready().connect() as conn:
            return {
                r[0]: {"rows": int(r[1]), "correct": int(r[2] or 0)} for r in conn.execute(query)
            }

    # --- whole-course reads (cohort analytics) ------------------------------------------
    def evidence_extent(self, course: str) -> tuple[int, int]:
        """(rows, highest id) of the course's evidence: the log is append-only, so a change
        of either says rows were added or deleted."""
        query = select(func.count(), func.max(evidence.c.id)).where(evidence.c.course == course)
        with self._ready().connect() as conn:
            count, last_id = conn.execute(query).one()
        return int(count or 0), int(last_id or 0)

    def observations(
        self, course: str, *, after_id: int = 0, upto_id: int | None = None
    ) -> list[Observation]:
        """The course's evidence with ``after_id < id <= upto_id``, in log order, lean."""
        t = evidence.c
        query = (
            select(t.user_id, t.skill, t.correct, t.source, t.item_id, t.created_at)
            .where(t.course == course, t.id > after_id)
            .order_by(t.id)
        )
        if upto_id is not None:
            query = query.where(t.id <= upto_id)
        with self._ready().connect() as conn:
            return [
                Observation(user_id, skill, bool(correct), source, item_id, as_utc(at))
                for user_id, skill, correct, source, item_id, at in conn.execute(query)
            ]

    def finished_placements(self, course: str) -> dict[int, tuple[str, int, dict[str, float]]]:
        """user id -> (id, result state, priors) of their latest finished placement."""
        t = placements.c
        query = (
            select(t.user_id, t.id, t.result_state, t.priors)
            .where(t.course == course, t.status == "finished")
            .order_by(t.finished_at, t.id)
        )
        out: dict[int, tuple[str, int, dict[str, float]]] = {}
        with self._ready().connect() as conn:
            for r in conn.execute(query):  # later rows win: the latest finished placement
                out[r.user_id] = (r.id, int(r.result_state or 0), json.loads(r.priors or "{}"))
        return out

    def course_achievements(self, course: str) -> list[tuple[int, int, datetime]]:
        """(user id, level, when) of every achievement recorded in the course."""
        t = achievements.c
        query = select(t.user_id, t.level, t.achieved_at).where(t.course == course)
        with self._ready().connect() as conn:
            return [(user_id, int(level), as_utc(at)) for user_id, level, at in conn.execute(query)]

    # --- mastery cache ------------------------------------------------------------------
    def load_cache(self, user_id: int, course: str) -> CachedMastery | None:
        with self._ready().connect() as conn:
            return self._cache(conn, user_id, course)

    @staticmethod
    def _cache(conn, user_id: int, course: str) -> CachedMastery | None:
        query = select(mastery_cache).where(
            mastery_cache.c.user_id == user_id, mastery_cache.c.course == course
        )
        row = conn.execute(query).first()
        if row is None:
            return None
        m = row._mapping
        return CachedMastery(
            through_id=m["through_id"],
            params_key=m["params_key"],
            placement_id=m["placement_id"] or "",
            state=json.loads(m["state"]),
        )

    def snapshot(self, user_id: int, course: str) -> Snapshot:
        """Overrides, latest finished placement, cache and the evidence the cache has not
        seen, in one connection (the read path of every learner query)."""
        with self._ready().connect() as conn:
            overrides = self._overrides(conn, course)
            placement = self._finished_placement_key(conn, user_id, course)
            cache = self._cache(conn, user_id, course)
            after = cache.through_id if cache is not None else 0
            rows = self._evidence(conn, user_id, course, after_id=after)
        return Snapshot(overrides, placement, cache, rows)

    def save_cache(self, user_id: int, course: str, cache: CachedMastery, *, now: datetime) -> None:
        """Write the cache unless a row already holds a later evidence id."""
        values = {
            "through_id": cache.through_id,
            "params_key": cache.params_key,
            "placement_id": cache.placement_id,
            "state": json.dumps(cache.state, separators=(",", ":")),
            "updated_at": now,
        }
        mine = and_(mastery_cache.c.user_id == user_id, mastery_cache.c.course == course)
        newer_or_other = or_(
            mastery_cache.c.through_id <= cache.through_id,
            mastery_cache.c.params_key != cache.params_key,
            mastery_cache.c.placement_id != cache.placement_id,
        )
        with self._ready().begin() as conn:
            done = conn.execute(update(mastery_cache).where(mine, newer_or_other).values(**values))
            if done.rowcount:
                return
            exists = conn.execute(select(mastery_cache.c.through_id).where(mine)).first()
            if exists is not None:
                return  # a later state is already there
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(mastery_cache).values(user_id=user_id, course=course, **values)
                    )
            except IntegrityError:
                pass  # a concurrent writer inserted first; readers validate it anyway

    def drop_cache(self, course: str, *, user_id: int | None = None) -> None:
        query = delete(mastery_cache).where(mastery_cache.c.course == course)
        if user_id is not None:
            query = query.where(mastery_cache.c.user_id == user_id)
        with self._ready().begin() as conn:
            conn.execute(query)

    # --- achievements -------------------------------------------------------------------
    def add_achievement(
        self, user_id: int, course: str, *, level: int, at: datetime, summary: dict
    ) -> bool:
        """Record a level once; False if it was already recorded."""
        try:
            with self._ready().begin() as conn:
                conn.execute(
                    insert(achievements).values(
                        user_id=user_id,
                        course=course,
                        level=level,
                        achieved_at=at,
                        summary=_dumps(summary),
                    )
                )
        except IntegrityError:
            return False
        return True

    def achievements(self, user_id: int, course: str) -> list[AchievementRow]:
        query = (
            select(achievements)
            .where(achievements.c.user_id == user_id, achievements.c.course == course)
            .order_by(achievements.c.level)
        )
        with self._ready().connect() as conn:
            return [
                AchievementRow(
                    level=r.level, achieved_at=as_utc(r.achieved_at), summary=json.loads(r.summary)
                )
                for r in conn.execute(query)
            ]

    # --- review cards -------------------------------------------------------------------
    def card(self, user_id: int, course: str, item_id: str) -> CardRow | None:
        query = select(review_cards).where(
            review_cards.c.user_id == user_id,
            review_cards.c.course == course,
            review_cards.c.item_id == item_id,
        )
        with self._ready().connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return CardRow(row.item_id, json.loads(row.card), as_utc(row.due), row.reviews)

    def save_card(
        self, user_id: int, course: str, item_id: str, *, card: dict, due: datetime
    ) -> None:
        mine = and_(
            review_cards.c.user_id == user_id,
            review_cards.c.course == course,
            review_cards.c.item_id == item_id,
        )
        values = {"card": _dumps(card), "due": due}
        with self._ready().begin() as conn:
            done = conn.execute(
                update(review_cards)
                .where(mine)
                .values(reviews=review_cards.c.reviews + 1, **values)
            )
            if done.rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(review_cards).values(
                            user_id=user_id, course=course, item_id=item_id, reviews=1, **values
                        )
                    )
            except IntegrityError:
                conn.execute(update(review_cards).where(mine).values(**values))

    def due_cards(
        self, user_id: int, course: str, *, now: datetime, limit: int = 50
    ) -> list[CardRow]:
        query = (
            select(review_cards)
            .where(
                review_cards.c.user_id == user_id,
                review_cards.c.course == course,
                review_cards.c.due <= now,
            )
            .order_by(review_cards.c.due, review_cards.c.item_id)
            .limit(limit)
        )
        with self._ready().connect() as conn:
            return [
                CardRow(r.item_id, json.loads(r.card), as_utc(r.due), r.reviews)
                for r in conn.execute(query)
            ]

    # --- parameter overrides ------------------------------------------------------------
    def set_override(
        self, course: str, skill: str, *, params: dict[str, float], by: str, at: datetime
    ) -> None:
        mine = and_(param_overrides.c.course == course, param_overrides.c.skill == skill)
        values = {"params": _dumps(params), "set_by": by, "set_at": at}
        with self._ready().begin() as conn:
            if conn.execute(update(param_overrides).where(mine).values(**values)).rowcount:
                return
            conn.execute(insert(param_overrides).values(course=course, skill=skill, **values))

    def clear_override(self, course: str, skill: str) -> bool:
        with self._ready().begin() as conn:
            done = conn.execute(
                delete(param_overrides).where(
                    param_overrides.c.course == course, param_overrides.c.skill == skill
                )
            )
        return bool(done.rowcount)

    def overrides(self, course: str) -> dict[str, OverrideRow]:
        with self._ready().connect() as conn:
            return self._overrides(conn, course)

    @staticmethod
    def _overrides(conn, course: str) -> dict[str, OverrideRow]:
        query = select(param_overrides).where(param_overrides.c.course == course)
        return {
            r.skill: OverrideRow(r.skill, json.loads(r.params), r.set_by, as_utc(r.set_at))
            for r in conn.execute(query)
        }

    # --- placement sessions -------------------------------------------------------------
    def create_placement(
        self, *, session_id: str, user_id: int, course: str, state: dict, now: datetime
    ) -> None:
        with self._ready().begin() as conn:
            conn.execute(
                insert(placements).values(
                    id=session_id,
                    user_id=user_id,
                    course=course,
                    status="active",
                    state=_dumps(state),
                    version=0,
                    priors="{}",
                    created_at=now,
                    updated_at=now,
                )
            )

    def placement(self, session_id: str) -> PlacementRow | None:
        with self._ready().connect() as conn:
            row = conn.execute(select(placements).where(placements.c.id == session_id)).first()
        return _placement(row) if row is not None else None

    def latest_placement(
        self, user_id: int, course: str, *, status: str | None = None
    ) -> PlacementRow | None:
        query = select(placements).where(
            placements.c.user_id == user_id, placements.c.course == course
        )
        if status is not None:
            query = query.where(placements.c.status == status)
        order = placements.c.finished_at if status == "finished" else placements.c.created_at
        query = query.order_by(order.desc(), placements.c.id.desc()).limit(1)
        with self._ready().connect() as conn:
            row = conn.execute(query).first()
        return _placement(row) if row is not None else None

    def finished_placement_key(self, user_id: int, course: str) -> tuple[str, int, dict] | None:
        """(id, result_state, priors) of the learner's latest finished placement."""
        with self._ready().connect() as conn:
            return self._finished_placement_key(conn, user_id, course)

    @staticmethod
    def _finished_placement_key(conn, user_id: int, course: str) -> tuple[str, int, dict] | None:
        query = (
            select(placements.c.id, placements.c.result_state, placements.c.priors)
            .where(
                placements.c.user_id == user_id,
                placements.c.course == course,
                placements.c.status == "finished",
            )
            .order_by(placements.c.finished_at.desc(), placements.c.id.desc())
            .limit(1)
        )
        row = conn.execute(query).first()
        if row is None:
            return None
        return row[0], int(row[1] or 0), json.loads(row[2] or "{}")

    def save_placement(
        self,
        session_id: str,
        *,
        version: int,
        state: dict,
        now: datetime,
        finished: bool = False,
        result_state: int | None = None,
        result_level: int | None = None,
        priors: dict[str, float] | None = None,
    ) -> bool:
        """Write the session if nobody wrote it since ``version``; False otherwise."""
        values: dict[str, Any] = {"state": _dumps(state), "version": version + 1, "updated_at": now}
        if finished:
            values.update(
                status="finished",
                finished_at=now,
                result_state=result_state,
                result_level=result_level,
                priors=_dumps(priors or {}),
            )
        with self._ready().begin() as conn:
            done = conn.execute(
                update(placements)
                .where(placements.c.id == session_id, placements.c.version == version)
                .values(**values)
            )
        return bool(done.rowcount)

    def abandon_placements(self, user_id: int, course: str, *, now: datetime) -> None:
        """Close the learner's active sessions without a result (a restart)."""
        with self._ready().begin() as conn:
            conn.execute(
                update(placements)
                .where(
                    placements.c.user_id == user_id,
                    placements.c.course == course,
                    placements.c.status == "active",
                )
                .values(status="abandoned", updated_at=now, version=placements.c.version + 1)
            )
