"""Cohort analytics for instructors: what a course's trainees know, ask, get wrong and where
they are stuck. Read-only; everything is computed from the tables the other services write.

- **Mastery heatmap** (trainees × skills) and **levels**: one replay of the course's
  evidence log (``learner_evidence``) through the same BKT step, parameters (instructor
  overrides, fitted, default) and placement priors as ``LearnerService`` uses, for every
  trainee at once (a test holds the two equal). The replay is kept per course in memory,
  keyed on what it depends on: the evidence (row count and highest id: the log is
  append-only, deletions lower the count), the trainees, their latest finished placements,
  the parameters in use and the skill map. Each request re-reads that key (a few small
  queries), so new evidence, a new placement or an override is seen by the next request,
  in every worker; nothing is shared between workers. When only evidence was added, just
  the new rows are read and folded in (BKT runs forward, so the result is the same as a
  full replay); any other change, or a deleted row, replays the whole log again. Mastery
  before the stuck check's cut-off, review statistics and the parsed citations of answers
  are kept the same way, keyed on the data they come from.
- **Levels over time**: ``learner_achievements`` per ISO week (Monday, UTC).
- **Most-asked topics**: the lessons and sections cited by the tutor's answers in trainees'
  conversations (one count per answer and section), plus the course's content gaps.
- **Code reviews** per exercise: attempts, pass rate, the most common static findings
  (shown and hidden: all that were detected) and the most failing tests.
- **Stuck trainees** over the last N days: no answers (``inactive``); answers but no
  skill's mastery rose by ``min_gain`` (``no_progress``: mastery N days ago comes from the
  same replay stopped at the cut-off); ``failed_reviews`` (that many reviews of one
  exercise in a row whose tests did not pass, the latest within the N days); or
  ``wrong_answers`` (that many wrong quiz answers in a row on one skill, the latest within
  the N days). Trainees whose account is younger than N days are not called inactive.
- **Drill-down** of one trainee: the learner model's own view (``LearnerService``), recent
  conversations and reviews, and their stuck reasons.

The cohort is a course's trainees whose account is not disabled. A trainee outside the
course is reported as not found. Tables for CSV export (``*_table``, ``csv_text``) live
here too, so the CLI can write the same files as the API.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, func, select

from tutor.conversations import Conversation, ConversationStore, Message
from tutor.errors import InvalidInputError, NotFoundError
from tutor.learning.bkt import SkillParams, update
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import SkillMap
from tutor.learning.store import achievements as achievements_table
from tutor.learning.store import evidence as evidence_table
from tutor.learning.store import placements as placements_table
from tutor.learning.types import Achievement, LevelProgress, SkillMastery
from tutor.review.review_store import code_reviews
from tutor.store import as_utc, content_gaps, conversations, create_schema, messages, users

# Verdicts that say the trainee's code did not pass its tests (test_error, refused and
# no_tests say nothing about the trainee, so they neither extend nor break a streak).
FAILED_VERDICTS = ("failed", "error", "timeout", "crashed")
TESTED_VERDICTS = ("passed", *FAILED_VERDICTS)
# Quiz answers (not placement answers: those are diagnostic, wrong ones are expected).
QUIZ_SOURCES = ("quiz", "review")
_CACHED_COURSES = 32
# What "stuck" means unless the caller says otherwise (see ``AnalyticsService.stuck``).
STUCK_DEFAULTS: dict[str, Any] = {
    "days": 7,
    "min_gain": 0.05,
    "failed_reviews": 3,
    "wrong_answers": 4,
}

StuckKind = Literal["inactive", "no_progress", "failed_reviews", "wrong_answers"]


# ------------------------------------------------------------------------------ domain types
@dataclass(frozen=True)
class TraineeRow:
    """A trainee as the cohort views list them, with their level and activity."""

    user_id: int
    username: str
    display_name: str
    level: int  # shown level: max(mastery level, placed level, lowest level)
    mastery_level: int  # 0: no level reached by mastery yet
    placed_level: int | None
    observations: int
    correct: int
    last_activity: datetime | None  # latest evidence
    created_at: datetime


@dataclass(frozen=True)
class SkillColumn:
    id: str
    name: str
    name_ko: str
    level: int | None

    def display(self, lang: str = "en") -> str:
        return self.name_ko if lang == "ko" else self.name


@dataclass(frozen=True)
class Heatmap:
    course: str
    threshold: float
    trainees: tuple[TraineeRow, ...]
    skills: tuple[SkillColumn, ...]  # by level, then the skill map's topological order
    mastery: tuple[tuple[float, ...], ...]  # [trainee][skill]
    observations: tuple[tuple[int, ...], ...]  # [trainee][skill]


@dataclass(frozen=True)
class WeekLevels:
    week_start: date  # Monday (UTC)
    reached: dict[int, int]  # level -> achievements recorded that week
    cumulative: dict[int, int]  # level -> trainees who had reached it by the week's end


@dataclass(frozen=True)
class LevelReport:
    course: str
    levels: tuple[int, ...]
    distribution: dict[int, int]  # shown level -> trainees
    weeks: tuple[WeekLevels, ...]
    trainees: tuple[TraineeRow, ...]
    reached_at: dict[int, dict[int, datetime]]  # user id -> level -> when


@dataclass(frozen=True)
class SectionCount:
    heading: str  # "" for the lesson's text before its first section
    answers: int


@dataclass(frozen=True)
class LessonTopic:
    doc_id: str
    title: str
    answers: int  # answers citing the lesson
    trainees: int  # distinct trainees who got them
    sections: tuple[SectionCount, ...]  # most cited first


@dataclass(frozen=True)
class GapExample:
    question: str
    lang: str | None
    created_at: datetime


@dataclass(frozen=True)
class TopicReport:
    course: str
    since: datetime
    questions: int  # trainees' questions in the window
    answers: int  # the tutor's answers to them
    cited_answers: int  # answers that cite course material
    lessons: tuple[LessonTopic, ...]
    gaps: int  # content gaps recorded in the window
    gap_examples: tuple[GapExample, ...]  # the latest few


@dataclass(frozen=True)
class FindingCount:
    code: str
    title: str
    count: int  # reviews with the finding
    trainees: int


@dataclass(frozen=True)
class TestCount:
    __test__ = False  # not a pytest class

    name: str
    count: int  # reviews where the test did not pass
    trainees: int


@dataclass(frozen=True)
class ExerciseStats:
    exercise_id: str | None  # None: free code, without an exercise
    title: str
    title_ko: str
    attempts: int  # complete reviews
    trainees: int
    tested: int  # reviews whose tests ran to a verdict about the code
    passed: int
    pass_rate: float | None  # passed / tested
    trainees_passed: int
    findings: tuple[FindingCount, ...]
    failing_tests: tuple[TestCount, ...]


@dataclass(frozen=True)
class StuckReason:
    kind: StuckKind
    text_en: str
    text_ko: str
    count: int  # answers, failures or days, depending on the kind
    subject: str | None = None  # the skill or exercise id
    since: datetime | None = None  # the last activity / the streak's latest attempt

    def text(self, lang: str = "en") -> str:
        return self.text_ko if lang == "ko" else self.text_en


@dataclass(frozen=True)
class StuckTrainee:
    trainee: TraineeRow
    reasons: tuple[StuckReason, ...]


@dataclass(frozen=True)
class ReviewSummary:
    id: str
    exercise_id: str | None
    attempt: int
    status: str
    verdict: str | None
    findings: int
    tests_passed: int | None
    tests_total: int | None
    created_at: datetime
    finding_titles: tuple[str, ...] = ()  # "code title (line N)", shown then hidden
    failing_tests: tuple[str, ...] = ()  # names of the tests that did not pass


@dataclass(frozen=True)
class TraineeDetail:
    course: str
    trainee: TraineeRow
    progress: LevelProgress
    skills: tuple[SkillMastery, ...]
    achievements: tuple[Achievement, ...]
    activity: dict[str, dict[str, int]]  # evidence source -> {"rows", "correct"}
    conversations: tuple[Conversation, ...]
    reviews: tuple[ReviewSummary, ...]
    stuck: tuple[StuckReason, ...]


@dataclass(frozen=True)
class CohortOverview:
    heatmap: Heatmap
    levels: LevelReport
    topics: TopicReport
    reviews: tuple[ExerciseStats, ...]
    stuck: tuple[StuckTrainee, ...]


@dataclass(frozen=True)
class Table:
    """A table for CSV export: a header row and data rows."""

    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


# ------------------------------------------------------------------------------- the replay
@dataclass(frozen=True)
class _Trainee:
    id: int
    username: str
    display_name: str
    created_at: datetime


# (skill, correct, source, item id, created_at) of one evidence row
_Obs = tuple[str, bool, str, str, datetime]


@dataclass
class _Cohort:
    """One course's trainees and their replayed mastery, valid for ``key``."""

    key: tuple
    skill_map: SkillMap
    params: dict[str, SkillParams]
    trainees: tuple[_Trainee, ...]
    placements: dict[int, tuple[str, int, dict[str, float]]]
    obs: dict[int, list[_Obs]]
    p: dict[int, dict[str, float]] = field(default_factory=dict)
    n: dict[int, dict[str, int]] = field(default_factory=dict)
    right: dict[int, dict[str, int]] = field(default_factory=dict)
    # (user id, m) -> mastery from the user's first m rows (see ``mastery_before``)
    before: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)
    rows: dict[int, TraineeRow] = field(default_factory=dict)  # ``row`` results, this state

    def priors(self, user_id: int) -> dict[str, float]:
        placement = self.placements.get(user_id)
        return placement[2] if placement else {}

    def replay(
        self, user_id: int, *, until: datetime | None = None
    ) -> tuple[dict[str, float], dict[str, int], dict[str, int]]:
        """Mastery from the trainee's evidence (before ``until`` when given), exactly as
        ``LearnerService`` folds it: priors from the latest finished placement, then one
        BKT update per row in log order; rows on skills no longer in the map are skipped."""
        params = self.params
        priors = self.priors(user_id)
        p = {s: float(priors.get(s, params[s].prior)) for s in self.skill_map.skills}
        n = dict.fromkeys(p, 0)
        right = dict.fromkeys(p, 0)
        for skill, correct, _source, _item, at in self.obs.get(user_id, ()):
            if skill not in p or (until is not None and at >= until):
                continue
            p[skill] = update(p[skill], correct, params[skill])
            n[skill] += 1
            right[skill] += int(correct)
        return p, n, right

    def mastery_before(self, user_id: int, cutoff: datetime) -> dict[str, float]:
        """Mastery from the rows before ``cutoff`` (``replay(until=cutoff)``). When those rows
        are the first m of the trainee's log (the usual case: the log is in time order), the
        result is kept per m, so later requests and later answers do not replay it again."""
        obs = self.obs.get(user_id, ())
        m = sum(1 for o in obs if o[4] < cutoff)
        if any(o[4] >= cutoff for o in obs[:m]):  # not a prefix: replay, keep nothing
            return self.replay(user_id, until=cutoff)[0]
        found = self.before.get((user_id, m))
        if found is None:
            found = self.replay(user_id, until=cutoff)[0]
            if len(self.before) >= 8 * max(len(self.trainees), 1):
                self.before.clear()
            self.before[(user_id, m)] = found
        return found

    def extended(self, key: tuple, rows: Sequence[tuple[int, _Obs]]) -> _Cohort:
        """A copy valid for ``key``: the same state with ``rows`` (user id, row), the log's
        rows after this state's last one, folded in. Trainees without new rows share their
        state with this copy (it is never changed in place)."""
        out = _Cohort(
            key=key,
            skill_map=self.skill_map,
            params=self.params,
            trainees=self.trainees,
            placements=self.placements,
            obs=dict(self.obs),
            p=dict(self.p),
            n=dict(self.n),
            right=dict(self.right),
            before=dict(self.before),  # rows before a cut-off never change: still valid
        )
        members = {t.id for t in self.trainees}
        copied: set[int] = set()
        for user_id, o in rows:
            if user_id not in members:
                continue
            if user_id not in copied:
                copied.add(user_id)
                out.obs[user_id] = list(out.obs.get(user_id, ()))
                out.p[user_id] = dict(out.p[user_id])
                out.n[user_id] = dict(out.n[user_id])
                out.right[user_id] = dict(out.right[user_id])
            out.obs[user_id].append(o)
            skill, correct = o[0], o[1]
            if skill in out.p[user_id]:
                out.p[user_id][skill] = update(out.p[user_id][skill], correct, self.params[skill])
                out.n[user_id][skill] += 1
                out.right[user_id][skill] += int(correct)
        return out

    def levels(self, user_id: int) -> tuple[int, int, int | None]:
        """(shown level, mastery level, placed level), as ``LearnerService.level`` has them."""
        smap = self.skill_map
        p = self.p[user_id]
        threshold = smap.mastery_threshold
        reached = 0
        for lv in smap.level_numbers():
            if all(p.get(s, 0.0) >= threshold for s in smap.levels[lv]):
                reached = lv
            else:
                break
        lowest = min(smap.levels, default=1)
        placement = self.placements.get(user_id)
        placed = max(placement[1], lowest) if placement is not None else None
        return max(reached, placed or 0, lowest, 1), reached, placed

    def row(self, t: _Trainee) -> TraineeRow:
        found = self.rows.get(t.id)
        if found is None or found.username != t.username:
            found = self.rows[t.id] = self._row(t)
        return found

    def _row(self, t: _Trainee) -> TraineeRow:
        level, mastery_level, placed = self.levels(t.id)
        obs = self.obs.get(t.id, ())
        return TraineeRow(
            user_id=t.id,
            username=t.username,
            display_name=t.display_name,
            level=level,
            mastery_level=mastery_level,
            placed_level=placed,
            observations=sum(self.n[t.id].values()),
            correct=sum(self.right[t.id].values()),
            last_activity=obs[-1][4] if obs else None,
            created_at=t.created_at,
        )


def _params_digest(params: dict[str, SkillParams]) -> str:
    text = repr(
        [(s, p.prior, p.learn, p.guess, p.slip, p.forget) for s, p in sorted(params.items())]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def week_start(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week holding ``moment``."""
    day = as_utc(moment).date()
    return day - timedelta(days=day.weekday())


# ------------------------------------------------------------------------------- the service
class AnalyticsService:
    """Cohort figures for one course at a time (see the module docstring).

    ``learner`` gives the course's skill map and parameters and the per-trainee drill-down;
    ``clock`` the current aware UTC time (tests pass a fake one).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        learner: LearnerService,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.learner = learner
        self.clock = clock or (lambda: datetime.now(UTC))
        self.conversations = ConversationStore(engine)
        create_schema(engine)
        self._lock = threading.Lock()
        self._cohorts: dict[str, _Cohort] = {}
        self._memo: dict[tuple[str, str], tuple[tuple, Any]] = {}  # (what, course) -> (key, value)

    def _now(self) -> datetime:
        return as_utc(self.clock())

    def _memo_get(self, name: tuple[str, str], key: tuple) -> Any:
        with self._lock:
            found = self._memo.get(name)
        return found[1] if found is not None and found[0] == key else None

    def _memo_put(self, name: tuple[str, str], key: tuple, value: Any) -> None:
        with self._lock:
            if len(self._memo) >= 2 * _CACHED_COURSES and name not in self._memo:
                self._memo.pop(next(iter(self._memo)))
            self._memo[name] = (key, value)

    # --- trainees ----------------------------------------------------------------------------
    def _trainees(self, conn, course: str) -> tuple[_Trainee, ...]:
        query = (
            select(users.c.id, users.c.username, users.c.display_name, users.c.created_at)
            .where(users.c.role == "trainee", users.c.course == course, ~users.c.disabled)
            .order_by(users.c.username)
        )
        return tuple(
            _Trainee(r.id, r.username, r.display_name, as_utc(r.created_at))
            for r in conn.execute(query)
        )

    def find_trainee(self, user_id: int, *, course: str | None) -> tuple[int, str]:
        """(id, course) of a trainee of ``course`` (any course when None, for admins);
        ``NotFoundError`` otherwise, as for an id that does not exist. Disabled trainees
        can still be looked at."""
        query = select(users.c.id, users.c.course).where(
            users.c.id == user_id, users.c.role == "trainee"
        )
        if course is not None:
            query = query.where(users.c.course == course)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or not row.course:
            where = f" in course {course!r}" if course else ""
            raise NotFoundError(f"no trainee with id {user_id}{where}")
        return row.id, row.course

    # --- the cohort state --------------------------------------------------------------------
    def _cohort(self, course: str) -> _Cohort:
        skill_map = self.learner.skill_maps(course)
        params = self.learner.effective_params(course)
        with self.engine.connect() as conn:
            trainees = self._trainees(conn, course)
            ids = [t.id for t in trainees]
            count, last_id = conn.execute(
                select(func.count(), func.max(evidence_table.c.id)).where(
                    evidence_table.c.course == course
                )
            ).one()
            placements = self._placements(conn, course)
            base = (
                id(skill_map),
                _params_digest(params),
                trainees,
                tuple(sorted((u, pl[0]) for u, pl in placements.items())),
            )
            count, last_id = int(count or 0), int(last_id or 0)
            key = (base, count, last_id)
            with self._lock:
                cached = self._cohorts.get(course)
            if cached is not None and cached.key == key:
                return cached
            cohort = None
            if cached is not None and cached.key[0] == base and last_id > cached.key[2]:
                # The log is append-only: when every row added since is after the cached
                # state's last one and none was deleted, fold in just those rows.
                rows = self._evidence_rows(conn, course, after=cached.key[2], upto=last_id)
                if len(rows) == count - cached.key[1]:
                    cohort = cached.extended(key, rows)
            if cohort is None:
                cohort = _Cohort(
                    key=key,
                    skill_map=skill_map,
                    params=params,
                    trainees=trainees,
                    placements={u: pl for u, pl in placements.items() if u in set(ids)},
                    obs=self._evidence(conn, course, set(ids)),
                )
                for t in trainees:
                    cohort.p[t.id], cohort.n[t.id], cohort.right[t.id] = cohort.replay(t.id)
        with self._lock:
            if len(self._cohorts) >= _CACHED_COURSES and course not in self._cohorts:
                self._cohorts.pop(next(iter(self._cohorts)))
            self._cohorts[course] = cohort
        return cohort

    @staticmethod
    def _placements(conn, course: str) -> dict[int, tuple[str, int, dict[str, float]]]:
        """user id -> (id, result state, priors) of their latest finished placement."""
        t = placements_table.c
        query = (
            select(t.user_id, t.id, t.result_state, t.priors)
            .where(t.course == course, t.status == "finished")
            .order_by(t.finished_at, t.id)
        )
        out: dict[int, tuple[str, int, dict[str, float]]] = {}
        for r in conn.execute(query):  # later rows win: the latest finished placement
            out[r.user_id] = (r.id, int(r.result_state or 0), json.loads(r.priors or "{}"))
        return out

    @staticmethod
    def _evidence(conn, course: str, trainees: set[int]) -> dict[int, list[_Obs]]:
        t = evidence_table.c
        query = (
            select(t.user_id, t.skill, t.correct, t.source, t.item_id, t.created_at)
            .where(t.course == course)
            .order_by(t.id)
        )
        out: dict[int, list[_Obs]] = defaultdict(list)
        for user_id, skill, correct, source, item_id, at in conn.execute(query):
            if user_id in trainees:
                out[user_id].append((skill, bool(correct), source, item_id, as_utc(at)))
        return dict(out)

    @staticmethod
    def _evidence_rows(conn, course: str, *, after: int, upto: int) -> list[tuple[int, _Obs]]:
        """The course's rows with ``after < id <= upto``, in log order, as (user id, row)."""
        t = evidence_table.c
        query = (
            select(t.user_id, t.skill, t.correct, t.source, t.item_id, t.created_at)
            .where(t.course == course, t.id > after, t.id <= upto)
            .order_by(t.id)
        )
        return [
            (user_id, (skill, bool(correct), source, item_id, as_utc(at)))
            for user_id, skill, correct, source, item_id, at in conn.execute(query)
        ]

    # --- heatmap -------------------------------------------------------------------------------
    def heatmap(self, course: str) -> Heatmap:
        """Mastery of every trainee (by username) on every skill (by level)."""
        return self._heatmap(course, self._cohort(course))

    @staticmethod
    def _heatmap(course: str, cohort: _Cohort) -> Heatmap:
        smap = cohort.skill_map
        level_of = {s: lv for lv, skills in smap.levels.items() for s in skills}
        topo = {s: i for i, s in enumerate(smap.topological_order())}
        order = sorted(
            smap.skills,
            key=lambda s: (level_of.get(s, smap.skills[s].level) or 99, topo.get(s, 0)),
        )
        columns = tuple(
            SkillColumn(
                s,
                smap.skills[s].name,
                smap.skills[s].name_ko,
                level_of.get(s, smap.skills[s].level),
            )
            for s in order
        )
        return Heatmap(
            course=course,
            threshold=smap.mastery_threshold,
            trainees=tuple(cohort.row(t) for t in cohort.trainees),
            skills=columns,
            mastery=tuple(
                tuple(round(cohort.p[t.id][s], 4) for s in order) for t in cohort.trainees
            ),
            observations=tuple(tuple(cohort.n[t.id][s] for s in order) for t in cohort.trainees),
        )

    # --- levels --------------------------------------------------------------------------------
    def levels(self, course: str, *, weeks: int = 12) -> LevelReport:
        """The level distribution now, and levels reached per week over the last ``weeks``."""
        if not 1 <= weeks <= 104:
            raise InvalidInputError("weeks must lie in 1..104")
        return self._levels(course, self._cohort(course), weeks=weeks)

    def _levels(self, course: str, cohort: _Cohort, *, weeks: int) -> LevelReport:
        rows = tuple(cohort.row(t) for t in cohort.trainees)
        numbers = tuple(cohort.skill_map.level_numbers()) or (1,)
        distribution = dict.fromkeys(numbers, 0)
        for r in rows:
            distribution[r.level] = distribution.get(r.level, 0) + 1
        ids = {t.id for t in cohort.trainees}
        t = achievements_table.c
        query = select(t.user_id, t.level, t.achieved_at).where(t.course == course)
        reached_at: dict[int, dict[int, datetime]] = defaultdict(dict)
        with self.engine.connect() as conn:
            for user_id, level, at in conn.execute(query):
                if user_id in ids:
                    reached_at[user_id][int(level)] = as_utc(at)
        last = week_start(self._now())
        starts = [last - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
        all_levels = sorted({*numbers, *(lv for d in reached_at.values() for lv in d)})
        series = []
        for start in starts:
            end = start + timedelta(weeks=1)
            new = dict.fromkeys(all_levels, 0)
            total = dict.fromkeys(all_levels, 0)
            for done in reached_at.values():
                for lv, at in done.items():
                    day = at.date()
                    if start <= day < end:
                        new[lv] += 1
                    if day < end:
                        total[lv] += 1
            series.append(WeekLevels(start, new, total))
        return LevelReport(
            course=course,
            levels=numbers,
            distribution=distribution,
            weeks=tuple(series),
            trainees=rows,
            reached_at=dict(reached_at),
        )

    # --- topics --------------------------------------------------------------------------------
    def topics(
        self, course: str, *, weeks: int = 4, limit: int = 20, sections: int = 5
    ) -> TopicReport:
        """The lessons (and their sections) most cited in answers to trainees' questions
        over the last ``weeks``, and the content gaps recorded meanwhile."""
        if not 1 <= weeks <= 104:
            raise InvalidInputError("weeks must lie in 1..104")
        since = self._now() - timedelta(weeks=weeks)
        m, c = messages.c, conversations.c
        with self.engine.connect() as conn:
            ids = {t.id for t in self._trainees(conn, course)}
            # The messages' parsed citations are kept, keyed on what they depend on (the
            # trainees, the course's message count and latest message); a later request of
            # the same window size reads the kept rows from its own, later, start on.
            count, latest = conn.execute(
                select(func.count(), func.max(m.created_at))
                .select_from(messages.join(conversations, c.id == m.conversation_id))
                .where(c.course == course)
            ).one()
            key = (weeks, tuple(sorted(ids)), int(count or 0), latest)
            kept = self._memo_get(("topics", course), key)
            if kept is None or kept[0] > since:
                query = (
                    select(c.user_id, m.role, m.citations, m.created_at)
                    .join(conversations, c.id == m.conversation_id)
                    .where(c.course == course, m.created_at >= since)
                )
                kept = (
                    since,
                    [_parsed_message(r) for r in conn.execute(query) if r.user_id in ids],
                )
                self._memo_put(("topics", course), key, kept)
            rows = [r for r in kept[1] if r[2] >= since]
            g = content_gaps.c
            gap_count = conn.execute(
                select(func.count()).where(g.course == course, g.created_at >= since)
            ).scalar_one()
            gap_rows = conn.execute(
                select(g.question, g.lang, g.created_at)
                .where(g.course == course, g.created_at >= since)
                .order_by(g.created_at.desc(), g.id.desc())
                .limit(5)
            ).all()
        questions = answers = cited = 0
        per_lesson: Counter[str] = Counter()
        titles: dict[str, str] = {}
        readers: dict[str, set[int]] = defaultdict(set)
        per_section: dict[str, Counter[str]] = defaultdict(Counter)
        for user_id, role, _at, docs, heads in rows:
            if role == "user":
                questions += 1
                continue
            if role != "assistant":
                continue
            answers += 1
            if docs:
                cited += 1
            for doc, title in docs:
                titles.setdefault(doc, title)
            for doc, _title in docs:
                per_lesson[doc] += 1
                readers[doc].add(user_id)
            for doc, heading in heads:
                per_section[doc][heading] += 1
        lessons = tuple(
            LessonTopic(
                doc_id=doc,
                title=titles[doc],
                answers=count,
                trainees=len(readers[doc]),
                sections=tuple(
                    SectionCount(h, k)
                    for h, k in sorted(per_section[doc].items(), key=lambda x: (-x[1], x[0]))[
                        :sections
                    ]
                ),
            )
            for doc, count in sorted(per_lesson.items(), key=lambda x: (-x[1], titles[x[0]]))[
                :limit
            ]
        )
        return TopicReport(
            course=course,
            since=since,
            questions=questions,
            answers=answers,
            cited_answers=cited,
            lessons=lessons,
            gaps=int(gap_count),
            gap_examples=tuple(GapExample(q, lang, as_utc(at)) for q, lang, at in gap_rows),
        )

    # --- code reviews --------------------------------------------------------------------------
    def reviews(self, course: str, *, top: int = 5) -> list[ExerciseStats]:
        """Per exercise (course order, then by id; free code last): attempts, pass rate, the
        ``top`` most common static findings and failing tests."""
        t = code_reviews.c
        try:
            skill_map: SkillMap | None = self.learner.skill_maps(course)
        except NotFoundError:
            skill_map = None
        with self.engine.connect() as conn:
            ids = {tr.id for tr in self._trainees(conn, course)}
            # Kept per course, keyed on the trainees, the course material and the complete
            # reviews (their count and latest completion: a new or deleted review shows).
            count, latest = conn.execute(
                select(func.count(), func.max(t.completed_at)).where(
                    t.course == course, t.status == "complete"
                )
            ).one()
            key = (top, tuple(sorted(ids)), id(skill_map), skill_map, int(count or 0), latest)
            kept = self._memo_get(("reviews", course), key)
            if kept is not None:
                return list(kept)
            query = (
                select(t.user_id, t.exercise_id, t.verdict, t.static, t.tests)
                .where(t.course == course, t.status == "complete")
                .order_by(t.created_at, t.attempt)
            )
            rows = [r for r in conn.execute(query) if r.user_id in ids]
        exercises = {m.id: m for m in skill_map.exercises} if skill_map is not None else {}
        groups: dict[str | None, list[Any]] = defaultdict(list)
        for r in rows:
            groups[r.exercise_id].append(r)
        order = {eid: i for i, eid in enumerate(exercises)}
        out = []
        for eid in sorted(groups, key=lambda e: (e is None, order.get(e, len(order)), e or "")):
            out.append(self._exercise_stats(eid, groups[eid], exercises.get(eid or ""), top=top))
        self._memo_put(("reviews", course), key, tuple(out))
        return out

    @staticmethod
    def _exercise_stats(eid: str | None, rows: list[Any], material, *, top: int) -> ExerciseStats:
        trainees = {r.user_id for r in rows}
        tested = [r for r in rows if r.verdict in TESTED_VERDICTS]
        passed = [r for r in tested if r.verdict == "passed"]
        findings: Counter[tuple[str, str]] = Counter()
        finding_users: dict[tuple[str, str], set[int]] = defaultdict(set)
        tests: Counter[str] = Counter()
        test_users: dict[str, set[int]] = defaultdict(set)
        for r in rows:
            static = json.loads(r.static or "{}")
            seen = {
                (str(f.get("code", "")), str(f.get("title", "")))
                for f in (*static.get("findings", []), *static.get("hidden", []))
            }
            for key in seen:
                findings[key] += 1
                finding_users[key].add(r.user_id)
            run = json.loads(r.tests) if r.tests else None
            if run and r.verdict in TESTED_VERDICTS:
                for name in {
                    str(case.get("name", ""))
                    for case in run.get("cases", [])
                    if case.get("status") != "passed"
                }:
                    tests[name] += 1
                    test_users[name].add(r.user_id)
        return ExerciseStats(
            exercise_id=eid,
            title=material.title if material else (eid or ""),
            title_ko=material.title_ko if material else (eid or ""),
            attempts=len(rows),
            trainees=len(trainees),
            tested=len(tested),
            passed=len(passed),
            pass_rate=round(len(passed) / len(tested), 4) if tested else None,
            trainees_passed=len({r.user_id for r in passed}),
            findings=tuple(
                FindingCount(code, title, n, len(finding_users[(code, title)]))
                for (code, title), n in sorted(findings.items(), key=lambda x: (-x[1], x[0]))[:top]
            ),
            failing_tests=tuple(
                TestCount(name, n, len(test_users[name]))
                for name, n in sorted(tests.items(), key=lambda x: (-x[1], x[0]))[:top]
            ),
        )

    # --- stuck ---------------------------------------------------------------------------------
    def stuck(
        self,
        course: str,
        *,
        days: int = STUCK_DEFAULTS["days"],
        min_gain: float = STUCK_DEFAULTS["min_gain"],
        failed_reviews: int = STUCK_DEFAULTS["failed_reviews"],
        wrong_answers: int = STUCK_DEFAULTS["wrong_answers"],
    ) -> list[StuckTrainee]:
        """Trainees who made no progress over the last ``days`` or keep failing, each with
        the reasons; the most reasons first, then the longest inactive."""
        if not 1 <= days <= 365:
            raise InvalidInputError("days must lie in 1..365")
        if failed_reviews < 2 or wrong_answers < 2:
            raise InvalidInputError("a streak needs at least 2 failures")
        return self._stuck(
            course,
            self._cohort(course),
            days=days,
            min_gain=min_gain,
            failed_reviews=failed_reviews,
            wrong_answers=wrong_answers,
        )

    def _stuck(
        self,
        course: str,
        cohort: _Cohort,
        *,
        days: int,
        min_gain: float,
        failed_reviews: int,
        wrong_answers: int,
        only: int | None = None,
    ) -> list[StuckTrainee]:
        """``stuck`` on a given cohort state; ``only``: that trainee alone."""
        now = self._now()
        cutoff = now - timedelta(days=days)
        members = [t for t in cohort.trainees if only is None or t.id == only]
        streaks = self._review_streaks(course, {t.id for t in members})
        out = []
        for t in members:
            reasons = self._reasons(
                cohort,
                t,
                now=now,
                cutoff=cutoff,
                days=days,
                min_gain=min_gain,
                wrong_answers=wrong_answers,
            )
            for eid, (count, at) in sorted(streaks.get(t.id, {}).items()):
                if count >= failed_reviews and at >= cutoff:
                    reasons.append(_failed_reviews(cohort.skill_map, eid, count, at))
            if reasons:
                out.append(StuckTrainee(cohort.row(t), tuple(reasons)))
        epoch = datetime.min.replace(tzinfo=UTC)
        out.sort(
            key=lambda s: (
                -len(s.reasons),
                s.trainee.last_activity or epoch,
                s.trainee.username,
            )
        )
        return out

    @staticmethod
    def _reasons(
        cohort: _Cohort,
        t: _Trainee,
        *,
        now: datetime,
        cutoff: datetime,
        days: int,
        min_gain: float,
        wrong_answers: int,
    ) -> list[StuckReason]:
        obs = cohort.obs.get(t.id, [])
        recent = [o for o in obs if o[4] >= cutoff]
        reasons: list[StuckReason] = []
        if not recent:
            if obs or t.created_at < cutoff:  # a new account is not idle yet
                reasons.append(_inactive(obs[-1][4] if obs else None, days=days, now=now))
        else:
            before = cohort.mastery_before(t.id, cutoff)
            p = cohort.p[t.id]
            gain = max((p[s] - before[s] for s in p), default=0.0)
            if gain < min_gain:
                right = sum(1 for o in recent if o[1])
                reasons.append(_no_progress(len(recent), right, days=days, min_gain=min_gain))
        # Trailing wrong quiz answers per skill (placement answers do not count).
        streak: dict[str, tuple[int, datetime]] = {}
        for skill, correct, source, _item, at in obs:
            if source not in QUIZ_SOURCES:
                continue
            streak[skill] = (0, at) if correct else (streak.get(skill, (0, at))[0] + 1, at)
        for skill, (count, at) in sorted(streak.items()):
            if count >= wrong_answers and at >= cutoff:
                reasons.append(_wrong_answers(cohort.skill_map, skill, count, at))
        return reasons

    def _review_streaks(
        self, course: str, trainees: set[int]
    ) -> dict[int, dict[str, tuple[int, datetime]]]:
        """user -> exercise -> (failed reviews in a row up to now, the latest one's time)."""
        t = code_reviews.c
        query = (
            select(t.user_id, t.exercise_id, t.verdict, t.created_at)
            .where(
                t.course == course,
                t.status == "complete",
                t.exercise_id.is_not(None),
                t.verdict.in_(TESTED_VERDICTS),
            )
            .order_by(t.created_at, t.attempt)
        )
        if len(trainees) == 1:
            query = query.where(t.user_id.in_(trainees))
        out: dict[int, dict[str, tuple[int, datetime]]] = defaultdict(dict)
        with self.engine.connect() as conn:
            for user_id, eid, verdict, at in conn.execute(query):
                if user_id not in trainees:
                    continue
                count = out[user_id].get(eid, (0, at))[0]
                out[user_id][eid] = (0 if verdict == "passed" else count + 1, as_utc(at))
        return out

    # --- everything at once ---------------------------------------------------------------------
    def overview(
        self,
        course: str,
        *,
        weeks: int = 12,
        topic_weeks: int = 4,
        days: int = STUCK_DEFAULTS["days"],
        min_gain: float = STUCK_DEFAULTS["min_gain"],
        failed_reviews: int = STUCK_DEFAULTS["failed_reviews"],
        wrong_answers: int = STUCK_DEFAULTS["wrong_answers"],
    ) -> CohortOverview:
        """The heatmap, levels, topics, reviews and stuck trainees of one course from one
        cohort state (what a page shows), with the same checks as each method alone."""
        if not 1 <= weeks <= 104 or not 1 <= topic_weeks <= 104:
            raise InvalidInputError("weeks must lie in 1..104")
        if not 1 <= days <= 365:
            raise InvalidInputError("days must lie in 1..365")
        if failed_reviews < 2 or wrong_answers < 2:
            raise InvalidInputError("a streak needs at least 2 failures")
        cohort = self._cohort(course)
        return CohortOverview(
            heatmap=self._heatmap(course, cohort),
            levels=self._levels(course, cohort, weeks=weeks),
            topics=self.topics(course, weeks=topic_weeks),
            reviews=tuple(self.reviews(course)),
            stuck=tuple(
                self._stuck(
                    course,
                    cohort,
                    days=days,
                    min_gain=min_gain,
                    failed_reviews=failed_reviews,
                    wrong_answers=wrong_answers,
                )
            ),
        )

    # --- one trainee ---------------------------------------------------------------------------
    def trainee(
        self, course: str, user_id: int, *, conversations: int = 10, reviews: int = 10
    ) -> TraineeDetail:
        """A trainee's learner state (from ``LearnerService``), recent conversations and
        reviews, and why they are stuck if they are. ``NotFoundError`` outside the course."""
        self.find_trainee(user_id, course=course)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    users.c.id, users.c.username, users.c.display_name, users.c.created_at
                ).where(users.c.id == user_id)
            ).one()
        person = _Trainee(row.id, row.username, row.display_name, as_utc(row.created_at))
        progress = self.learner.level(user_id, course)
        states = tuple(self.learner.skill_states(user_id, course))
        cohort = self._cohort(course)
        if user_id in {t.id for t in cohort.trainees}:
            summary = cohort.row(person)
            found = self._stuck(course, cohort, only=user_id, **STUCK_DEFAULTS)
            stuck = found[0].reasons if found else ()
        else:  # a disabled trainee: outside the cohort figures, still readable
            summary = TraineeRow(
                user_id=person.id,
                username=person.username,
                display_name=person.display_name,
                level=progress.level,
                mastery_level=progress.mastery_level,
                placed_level=progress.placed_level,
                observations=sum(s.observations for s in states),
                correct=sum(s.correct for s in states),
                last_activity=None,
                created_at=person.created_at,
            )
            stuck = ()
        chats = tuple(
            conv
            for conv in self.conversations.list(user_id=user_id, limit=conversations * 2)
            if conv.course in (course, None)
        )[:conversations]
        return TraineeDetail(
            course=course,
            trainee=summary,
            progress=progress,
            skills=states,
            achievements=tuple(self.learner.achievements(user_id, course)),
            activity=self.learner.store.source_counts(user_id, course),
            conversations=chats,
            reviews=tuple(self._recent_reviews(course, user_id, limit=reviews)),
            stuck=tuple(stuck),
        )

    def _recent_reviews(self, course: str, user_id: int, *, limit: int) -> list[ReviewSummary]:
        t = code_reviews.c
        query = (
            select(
                t.id, t.exercise_id, t.attempt, t.status, t.verdict, t.static, t.tests,
                t.created_at,
            )
            .where(t.user_id == user_id, t.course == course)
            .order_by(t.created_at.desc(), t.attempt.desc())
            .limit(limit)
        )  # fmt: skip
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                static = json.loads(r.static or "{}")
                found = [*static.get("findings", []), *static.get("hidden", [])]
                run = json.loads(r.tests) if r.tests else None
                cases = run.get("cases", []) if run else []
                out.append(
                    ReviewSummary(
                        id=r.id,
                        exercise_id=r.exercise_id,
                        attempt=r.attempt,
                        status=r.status,
                        verdict=r.verdict,
                        findings=len(found),
                        tests_passed=(
                            sum(1 for c in cases if c.get("status") == "passed") if run else None
                        ),
                        tests_total=len(cases) if run else None,
                        created_at=as_utc(r.created_at),
                        finding_titles=tuple(_finding_text(f) for f in found),
                        failing_tests=tuple(
                            str(c.get("name", "")) for c in cases if c.get("status") != "passed"
                        ),
                    )
                )
        return out

    def conversation(
        self, course: str, user_id: int, conversation_id: str
    ) -> tuple[Conversation, list[Message]]:
        """One of the trainee's conversations with its messages (NotFoundError when the
        trainee is outside the course or the conversation is not theirs)."""
        self.find_trainee(user_id, course=course)
        conv = self.conversations.get(conversation_id, user_id=user_id)
        if conv.course not in (course, None):  # held apart like in ``trainee``
            raise NotFoundError(f"no conversation {conversation_id!r} in course {course!r}")
        return conv, self.conversations.messages(conversation_id, user_id=user_id)


def _parsed_message(row: Any) -> tuple:
    """(user id, role, created_at, ((doc id, title), ...), ((doc id, section), ...)) of a
    message: the lessons and the sections (second level of the heading path) it cites."""
    docs: dict[str, str] = {}
    heads: set[tuple[str, str]] = set()
    for cite in json.loads(row.citations or "[]") if row.role == "assistant" else ():
        doc = str(cite.get("doc_id", ""))
        path = cite.get("heading_path") or []
        docs.setdefault(doc, str(cite.get("title") or doc))
        heads.add((doc, str(path[1]) if len(path) > 1 else ""))
    return (row.user_id, row.role, as_utc(row.created_at), tuple(docs.items()), tuple(heads))


def _finding_text(finding: dict) -> str:
    code, title = str(finding.get("code", "")), str(finding.get("title", ""))
    line = finding.get("line")
    where = f" (line {line})" if isinstance(line, int) else ""
    return f"{code} {title}".strip() + where


# ------------------------------------------------------------------------------ reason texts
def _day(moment: datetime) -> str:
    return as_utc(moment).date().isoformat()


def _inactive(last: datetime | None, *, days: int, now: datetime) -> StuckReason:
    if last is None:
        return StuckReason(
            "inactive", "No answers yet.", "아직 푼 문제가 없습니다.", count=0, since=None
        )
    idle = (now - last).days
    return StuckReason(
        "inactive",
        f"No answers in the last {days} days (the last {idle} days ago, {_day(last)}).",
        f"최근 {days}일 동안 푼 문제가 없습니다 (마지막: {idle}일 전, {_day(last)}).",
        count=idle,
        since=last,
    )


def _no_progress(answers: int, right: int, *, days: int, min_gain: float) -> StuckReason:
    return StuckReason(
        "no_progress",
        f"{answers} answers in the last {days} days ({right} right), but no skill's mastery "
        f"rose by {min_gain:.2f} or more.",
        f"최근 {days}일 동안 {answers}문제를 풀었지만(정답 {right}개) 숙달도가 "
        f"{min_gain:.2f} 이상 오른 기술이 없습니다.",
        count=answers,
    )


def _wrong_answers(smap: SkillMap, skill: str, count: int, at: datetime) -> StuckReason:
    return StuckReason(
        "wrong_answers",
        f"{count} wrong answers in a row on {smap.name(skill)}.",
        f"{smap.name(skill, 'ko')} 문제를 {count}번 연속 틀렸습니다.",
        count=count,
        subject=skill,
        since=at,
    )


def _failed_reviews(smap: SkillMap, exercise_id: str, count: int, at: datetime) -> StuckReason:
    material = smap.exercise(exercise_id)
    en = material.title if material else exercise_id
    ko = material.title_ko if material else exercise_id
    return StuckReason(
        "failed_reviews",
        f"{count} code reviews of {en} in a row did not pass (the latest {_day(at)}).",
        f"{ko} 코드 리뷰를 {count}번 연속 통과하지 못했습니다 (최근: {_day(at)}).",
        count=count,
        subject=exercise_id,
        since=at,
    )


# ------------------------------------------------------------------------------------ tables
def _iso(moment: datetime | None) -> str:
    return as_utc(moment).isoformat() if moment is not None else ""


def heatmap_table(heatmap: Heatmap, *, lang: str = "en") -> Table:
    header = (
        "user_id",
        "username",
        "display_name",
        "level",
        *(f"{s.id} ({s.display(lang)})" for s in heatmap.skills),
    )
    rows = tuple(
        (t.user_id, t.username, t.display_name, t.level, *values)
        for t, values in zip(heatmap.trainees, heatmap.mastery, strict=True)
    )
    return Table(header, rows)


def levels_table(report: LevelReport) -> Table:
    header = (
        "user_id",
        "username",
        "display_name",
        "level",
        "mastery_level",
        "placed_level",
        "observations",
        "correct",
        "last_activity",
        *(f"level_{lv}_reached_at" for lv in report.levels),
    )
    rows = tuple(
        (
            t.user_id,
            t.username,
            t.display_name,
            t.level,
            t.mastery_level,
            "" if t.placed_level is None else t.placed_level,
            t.observations,
            t.correct,
            _iso(t.last_activity),
            *(_iso(report.reached_at.get(t.user_id, {}).get(lv)) for lv in report.levels),
        )
        for t in report.trainees
    )
    return Table(header, rows)


def topics_table(report: TopicReport) -> Table:
    header = ("rank", "doc_id", "title", "lesson_answers", "lesson_trainees", "section",
              "section_answers")  # fmt: skip
    rows = []
    for rank, lesson in enumerate(report.lessons, start=1):
        for section in lesson.sections or (SectionCount("", 0),):
            rows.append(
                (rank, lesson.doc_id, lesson.title, lesson.answers, lesson.trainees,
                 section.heading, section.answers)
            )  # fmt: skip
    return Table(header, tuple(rows))


def reviews_table(stats: Sequence[ExerciseStats], *, lang: str = "en") -> Table:
    header = ("exercise_id", "title", "attempts", "trainees", "tested", "passed", "pass_rate",
              "trainees_passed", "top_findings", "top_failing_tests")  # fmt: skip
    rows = tuple(
        (
            s.exercise_id or "",
            s.title_ko if lang == "ko" else s.title,
            s.attempts,
            s.trainees,
            s.tested,
            s.passed,
            "" if s.pass_rate is None else s.pass_rate,
            s.trainees_passed,
            "; ".join(f"{f.code} {f.title} ({f.count})" for f in s.findings),
            "; ".join(f"{t.name} ({t.count})" for t in s.failing_tests),
        )
        for s in stats
    )
    return Table(header, rows)


def stuck_table(stuck: Sequence[StuckTrainee], *, lang: str = "en") -> Table:
    header = ("user_id", "username", "display_name", "level", "last_activity", "kind",
              "subject", "count", "reason")  # fmt: skip
    rows = tuple(
        (
            s.trainee.user_id,
            s.trainee.username,
            s.trainee.display_name,
            s.trainee.level,
            _iso(s.trainee.last_activity),
            r.kind,
            r.subject or "",
            r.count,
            r.text(lang),
        )
        for s in stuck
        for r in s.reasons
    )
    return Table(header, rows)


def skills_table(detail: TraineeDetail, *, lang: str = "en") -> Table:
    header = ("skill", "name", "level", "mastery", "observations", "correct", "mastered",
              "credited")  # fmt: skip
    rows = tuple(
        (
            s.skill,
            s.name_ko if lang == "ko" else s.name,
            "" if s.level is None else s.level,
            round(s.mastery, 4),
            s.observations,
            s.correct,
            int(s.mastered),
            int(s.credited),
        )
        for s in detail.skills
    )
    return Table(header, rows)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A cell as written: text that a spreadsheet would run as a formula gets a leading
    apostrophe (numbers are left alone)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(table: Table) -> str:
    """The table as CSV text starting with a UTF-8 byte order mark (so Excel reads Korean),
    CRLF line ends, formulas defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in table.header])
    writer.writerows([_cell(v) for v in row] for row in table.rows)
    return "\ufeff" + buffer.getvalue()
