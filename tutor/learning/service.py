"""The learner model as one object for the routes, the CLI and the chat: evidence in;
mastery, level and what to do next out.

``LearnerService`` builds the parts of ``tutor.learning`` on one ``LearnerStore`` and hands
each call to the part that does it; read the part to see how:

- ``mastery.MasteryModel`` (``model``): the learner's state, folded from the evidence log
  with BKT; parameters and instructor overrides; level, skill states, chat context.
- ``evidence.EvidenceLog`` (``log``): answers and exercise results in, changes out.
- ``achievements.Achievements``: levels reached by mastery, recorded once.
- ``recommendations.Recommender``: practice items and the next lesson with its reason.
- ``spaced_review.SpacedReview`` (``spaced``): FSRS reviews of answered quiz items.
- ``placement.Placements``: the adaptive placement quiz.
- ``dashboard.Dashboard``: all of it for one page, from one state read.

``clock`` returns the current aware UTC time (tests pass a fake one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fsrs import Scheduler
from sqlalchemy import Engine

from tutor.chat.answering import LearnerContext
from tutor.learning.achievements import Achievements
from tutor.learning.bkt import SkillParams
from tutor.learning.dashboard import Dashboard
from tutor.learning.evidence import EvidenceLog
from tutor.learning.mastery import MasteryModel
from tutor.learning.placement import PLACEMENT_PRIOR, Placements
from tutor.learning.recommendations import Recommender
from tutor.learning.skill_map import SkillMap
from tutor.learning.spaced_review import SpacedReview
from tutor.learning.store import EvidenceRow, LearnerStore, OverrideRow
from tutor.learning.types import (
    Achievement,
    AnswerResult,
    DueReview,
    LearnerSummary,
    LessonRecommendation,
    LevelProgress,
    PlacementView,
    PracticeItem,
    SkillMastery,
)


class LearnerService:
    """Evidence, mastery, levels, achievements, recommendations, reviews and placement.

    ``skill_maps(course)`` and ``items(course)`` give the course's :class:`SkillMap` and quiz
    items (the composition root caches them); ``params_for(skill)`` the BKT parameters
    (default: ``tutor.learning.bkt.DEFAULT_PARAMS``). A course id that ``skill_maps`` does
    not know should raise ``NotFoundError``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        skill_maps: Callable[[str], SkillMap],
        items: Callable[[str], Sequence[Any]],
        params_for: Callable[[str], SkillParams] | None = None,
        clock: Callable[[], datetime] | None = None,
        scheduler: Scheduler | None = None,
        placement_prior: float = PLACEMENT_PRIOR,
        placement_options: dict[str, Any] | None = None,
    ) -> None:
        self.store = LearnerStore(engine)
        self.skill_maps = skill_maps
        self.items = items
        self.clock = clock or (lambda: datetime.now(UTC))
        self.model = MasteryModel(
            self.store, skill_maps=skill_maps, params_for=params_for, clock=self.clock
        )
        self.spaced = SpacedReview(
            self.store, items=items, scheduler=scheduler or Scheduler(), clock=self.clock
        )
        self.achieved = Achievements(self.store)
        self.log = EvidenceLog(
            self.store,
            model=self.model,
            items=items,
            reviews=self.spaced,
            achievements=self.achieved,
            clock=self.clock,
        )
        self.recommender = Recommender(self.store, model=self.model, items=items)
        self.placements = Placements(
            self.store,
            model=self.model,
            evidence=self.log,
            items=items,
            clock=self.clock,
            prior=placement_prior,
            options=placement_options,
        )
        self.board = Dashboard(
            model=self.model,
            achievements=self.achieved,
            reviews=self.spaced,
            recommender=self.recommender,
            placements=self.placements,
        )

    # --- parameters and state (MasteryModel) --------------------------------------------
    def effective_params(
        self, course: str, *, overrides: dict[str, OverrideRow] | None = None
    ) -> dict[str, SkillParams]:
        return self.model.effective_params(course, overrides=overrides)

    def set_param_override(
        self, course: str, skill: str, *, params: SkillParams | dict[str, float], by: str
    ) -> SkillParams:
        return self.model.set_param_override(course, skill, params=params, by=by)

    def clear_param_override(self, course: str, skill: str) -> bool:
        return self.model.clear_param_override(course, skill)

    def recompute(self, user_id: int, course: str) -> dict[str, float]:
        return self.model.recompute(user_id, course)

    def recompute_course(self, course: str) -> None:
        self.model.recompute_course(course)

    def mastery(self, user_id: int, course: str) -> dict[str, float]:
        return self.model.mastery(user_id, course)

    def skill_states(self, user_id: int, course: str) -> list[SkillMastery]:
        return self.model.skill_states(user_id, course)

    def level(self, user_id: int, course: str) -> LevelProgress:
        return self.model.level(user_id, course)

    def context_and_level(self, user_id: int, course: str) -> tuple[LearnerContext, LevelProgress]:
        return self.model.context_and_level(user_id, course)

    def context_for(self, user_id: int, course: str) -> LearnerContext:
        return self.model.context_for(user_id, course)

    # --- evidence (EvidenceLog) ---------------------------------------------------------
    def record_answer(
        self,
        user_id: int,
        course: str,
        *,
        item_id: str,
        chosen_index: int | None = None,
        correct: bool | None = None,
        source: str = "quiz",
        submission_id: str | None = None,
    ) -> AnswerResult:
        return self.log.record_answer(
            user_id,
            course,
            item_id=item_id,
            chosen_index=chosen_index,
            correct=correct,
            source=source,
            submission_id=submission_id,
        )

    def record_exercise_result(
        self,
        user_id: int,
        course: str,
        *,
        exercise_id: str,
        passed: bool,
        details: dict[str, Any] | None = None,
        submission_id: str | None = None,
    ) -> AnswerResult:
        return self.log.record_exercise_result(
            user_id,
            course,
            exercise_id=exercise_id,
            passed=passed,
            details=details,
            submission_id=submission_id,
        )

    def evidence(self, user_id: int, course: str) -> list[EvidenceRow]:
        return self.log.evidence(user_id, course)

    # --- achievements, what next, reviews -----------------------------------------------
    def achievements(self, user_id: int, course: str) -> list[Achievement]:
        return self.achieved.recorded(user_id, course)

    def next_items(
        self, user_id: int, course: str, *, n: int = 5, lang: str | None = None
    ) -> list[PracticeItem]:
        return self.recommender.next_items(user_id, course, n=n, lang=lang)

    def next_lesson(
        self, user_id: int, course: str, *, lang: str = "en"
    ) -> LessonRecommendation | None:
        return self.recommender.next_lesson(user_id, course, lang=lang)

    def due_reviews(
        self, user_id: int, course: str, *, now: datetime | None = None, limit: int = 20
    ) -> list[DueReview]:
        return self.spaced.due(user_id, course, now=now, limit=limit)

    # --- placement (Placements) ---------------------------------------------------------
    def start_placement(
        self, user_id: int, course: str, *, lang: str = "en", restart: bool = False
    ) -> PlacementView:
        return self.placements.start(user_id, course, lang=lang, restart=restart)

    def placement_status(self, user_id: int, course: str) -> PlacementView | None:
        return self.placements.status(user_id, course)

    def answer_placement(
        self,
        user_id: int,
        course: str,
        *,
        session_id: str,
        item_id: str,
        chosen_index: int | None = None,
        correct: bool | None = None,
    ) -> PlacementView:
        return self.placements.answer(
            user_id,
            course,
            session_id=session_id,
            item_id=item_id,
            chosen_index=chosen_index,
            correct=correct,
        )

    # --- dashboard ----------------------------------------------------------------------
    def dashboard(
        self,
        user_id: int,
        course: str,
        *,
        now: datetime | None = None,
        lang: str = "en",
        practice: int = 5,
    ) -> LearnerSummary:
        return self.board.summary(user_id, course, now=now, lang=lang, practice=practice)
