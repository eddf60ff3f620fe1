"""Cohort analytics for instructors: what a course's trainees know, ask, get wrong and where
they are stuck. Read-only; each figure is read through the store that owns its table and
drawn by the module named for it:

- **Mastery heatmap** (trainees × skills) and **levels** (now, and reached per ISO week,
  Monday UTC): ``cohort`` (the learner model's own state, replayed once per course and kept).
- **Most-asked topics**: ``topics`` (conversations' citations, content gaps).
- **Code reviews** per exercise: ``reviews``.
- **Stuck trainees** over the last N days: ``stuck``.
- **Drill-down** of one trainee: the learner model's own view (``LearnerService``), recent
  conversations and reviews, and their stuck reasons.
- Tables for CSV export: ``tables``.

Review statistics and the parsed citations of answers are kept per course, keyed on the
data they come from (a few small queries re-read the key each request). A trainee outside
the course is reported as not found.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from tutor.accounts.users import AccountService
from tutor.chat.conversations import Conversation, ConversationStore, Message
from tutor.errors import InvalidInputError, NotFoundError
from tutor.learning.analytics.cohort import (
    CACHED_COURSES,
    Cohort,
    CohortReader,
    Trainee,
    heatmap,
    level_report,
)
from tutor.learning.analytics.reviews import exercise_stats, review_streaks, review_summary
from tutor.learning.analytics.stuck import stuck_trainees
from tutor.learning.analytics.topics import parsed_message, topic_report
from tutor.learning.analytics.types import (
    STUCK_DEFAULTS,
    TESTED_VERDICTS,
    CohortOverview,
    ExerciseStats,
    Heatmap,
    LevelReport,
    StuckTrainee,
    TopicReport,
    TraineeDetail,
    TraineeRow,
)
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import SkillMap
from tutor.review.review_store import ReviewStore
from tutor.store import as_utc


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
        accounts: AccountService | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.learner = learner
        self.clock = clock or (lambda: datetime.now(UTC))
        self.accounts = accounts or AccountService(engine)
        self.conversations = ConversationStore(engine)
        self.reviews_store = ReviewStore(engine)
        self.cohorts = CohortReader(learner=learner, accounts=self.accounts)
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str], tuple[tuple, Any]] = {}  # (what, course) -> (key, value)

    def _now(self) -> datetime:
        return as_utc(self.clock())

    def _memo_get(self, name: tuple[str, str], key: tuple) -> Any:
        with self._lock:
            found = self._memo.get(name)
        return found[1] if found is not None and found[0] == key else None

    def _memo_put(self, name: tuple[str, str], key: tuple, value: Any) -> None:
        with self._lock:
            if len(self._memo) >= 2 * CACHED_COURSES and name not in self._memo:
                self._memo.pop(next(iter(self._memo)))
            self._memo[name] = (key, value)

    def find_trainee(self, user_id: int, *, course: str | None) -> tuple[int, str]:
        """(id, course) of a trainee of ``course`` (any course when None, for admins);
        ``NotFoundError`` otherwise, as for an id that does not exist. Disabled trainees
        can still be looked at."""
        try:
            user = self.accounts.user_by_id(user_id)
        except NotFoundError:
            user = None
        if (
            user is None
            or user.role != "trainee"
            or not user.course
            or (course is not None and user.course != course)
        ):
            where = f" in course {course!r}" if course else ""
            raise NotFoundError(f"no trainee with id {user_id}{where}") from None
        return user.id, user.course

    # --- heatmap and levels --------------------------------------------------------------
    def heatmap(self, course: str) -> Heatmap:
        """Mastery of every trainee (by username) on every skill (by level)."""
        return heatmap(course, self.cohorts.read(course))

    def levels(self, course: str, *, weeks: int = 12) -> LevelReport:
        """The level distribution now, and levels reached per week over the last ``weeks``."""
        if not 1 <= weeks <= 104:
            raise InvalidInputError("weeks must lie in 1..104")
        return self._levels(course, self.cohorts.read(course), weeks=weeks)

    def _levels(self, course: str, cohort: Cohort, *, weeks: int) -> LevelReport:
        return level_report(
            course,
            cohort,
            achieved=self.learner.store.course_achievements(course),
            now=self._now(),
            weeks=weeks,
        )

    # --- topics ----------------------------------------------------------------------------
    def topics(
        self, course: str, *, weeks: int = 4, limit: int = 20, sections: int = 5
    ) -> TopicReport:
        """The lessons (and their sections) most cited in answers to trainees' questions
        over the last ``weeks``, and the content gaps recorded meanwhile."""
        if not 1 <= weeks <= 104:
            raise InvalidInputError("weeks must lie in 1..104")
        since = self._now() - timedelta(weeks=weeks)
        ids = {t.id for t in self.cohorts.trainees(course)}
        # The messages' parsed citations are kept, keyed on what they depend on (the
        # trainees, the course's message count and latest message); a later request of the
        # same window size reads the kept rows from its own, later, start on.
        count, latest = self.conversations.message_extent(course)
        key = (weeks, tuple(sorted(ids)), count, latest)
        kept = self._memo_get(("topics", course), key)
        if kept is None or kept[0] > since:
            kept = (
                since,
                [
                    parsed_message(m)
                    for m in self.conversations.course_messages(course, since=since)
                    if m.user_id in ids
                ],
            )
            self._memo_put(("topics", course), key, kept)
        return topic_report(
            course,
            since=since,
            rows=[r for r in kept[1] if r[2] >= since],
            gaps=self.conversations.recent_gaps(course, since=since, limit=5),
            limit=limit,
            sections=sections,
        )

    # --- code reviews ----------------------------------------------------------------------
    def reviews(self, course: str, *, top: int = 5) -> list[ExerciseStats]:
        """Per exercise (course order, then by id; free code last): attempts, pass rate, the
        ``top`` most common static findings and failing tests."""
        try:
            skill_map: SkillMap | None = self.learner.skill_maps(course)
        except NotFoundError:
            skill_map = None
        ids = {t.id for t in self.cohorts.trainees(course)}
        # Kept per course, keyed on the trainees, the course material and the complete
        # reviews (their count and latest completion: a new or deleted review shows).
        count, latest = self.reviews_store.complete_extent(course)
        key = (top, tuple(sorted(ids)), id(skill_map), skill_map, count, latest)
        kept = self._memo_get(("reviews", course), key)
        if kept is not None:
            return list(kept)
        outcomes = [r for r in self.reviews_store.outcomes(course) if r.user_id in ids]
        out = exercise_stats(outcomes, skill_map, top=top)
        self._memo_put(("reviews", course), key, tuple(out))
        return out

    # --- stuck -----------------------------------------------------------------------------
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
            self.cohorts.read(course),
            days=days,
            min_gain=min_gain,
            failed_reviews=failed_reviews,
            wrong_answers=wrong_answers,
        )

    def _stuck(
        self,
        course: str,
        cohort: Cohort,
        *,
        days: int,
        min_gain: float,
        failed_reviews: int,
        wrong_answers: int,
        only: int | None = None,
    ) -> list[StuckTrainee]:
        """``stuck`` on a given cohort state; ``only``: that trainee alone."""
        members = {t.id for t in cohort.trainees if only is None or t.id == only}
        verdicts = self.reviews_store.exercise_verdicts(
            course,
            verdicts=TESTED_VERDICTS,
            user_id=next(iter(members)) if len(members) == 1 else None,
        )
        return stuck_trainees(
            cohort,
            streaks=review_streaks(verdicts, members),
            now=self._now(),
            days=days,
            min_gain=min_gain,
            failed_reviews=failed_reviews,
            wrong_answers=wrong_answers,
            only=only,
        )

    # --- everything at once ----------------------------------------------------------------
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
        cohort = self.cohorts.read(course)
        return CohortOverview(
            heatmap=heatmap(course, cohort),
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

    # --- one trainee -----------------------------------------------------------------------
    def trainee(
        self, course: str, user_id: int, *, conversations: int = 10, reviews: int = 10
    ) -> TraineeDetail:
        """A trainee's learner state (from ``LearnerService``), recent conversations and
        reviews, and why they are stuck if they are. ``NotFoundError`` outside the course."""
        self.find_trainee(user_id, course=course)
        user = self.accounts.user_by_id(user_id)
        person = Trainee(user.id, user.username, user.display_name, user.created_at)
        progress = self.learner.level(user_id, course)
        states = tuple(self.learner.skill_states(user_id, course))
        cohort = self.cohorts.read(course)
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
            reviews=tuple(
                review_summary(r)
                for r in self.reviews_store.history(user_id, course=course, limit=reviews)
            ),
            stuck=tuple(stuck),
        )

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
