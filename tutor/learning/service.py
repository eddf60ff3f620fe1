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

from tutor.learning.achievements import Achievements
from tutor.learning.bkt import SkillParams
from tutor.learning.dashboard import Dashboard
from tutor.learning.evidence import EvidenceLog
from tutor.learning.mastery import MasteryModel
from tutor.learning.placement import PLACEMENT_PRIOR, Placements
from tutor.learning.recommendations import Recommender
from tutor.learning.skill_map import SkillMap
from tutor.learning.spaced_review import SpacedReview
from tutor.learning.store import LearnerStore


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

        # Each call is the part's own method, with its signature and docstring.
        # parameters and state (MasteryModel)
        self.effective_params = self.model.effective_params
        self.set_param_override = self.model.set_param_override
        self.clear_param_override = self.model.clear_param_override
        self.recompute = self.model.recompute
        self.recompute_course = self.model.recompute_course
        self.mastery = self.model.mastery
        self.skill_states = self.model.skill_states
        self.level = self.model.level
        self.context_and_level = self.model.context_and_level
        self.context_for = self.model.context_for
        # evidence (EvidenceLog)
        self.record_answer = self.log.record_answer
        self.record_exercise_result = self.log.record_exercise_result
        self.evidence = self.log.evidence
        # achievements, what next, reviews
        self.achievements = self.achieved.recorded
        self.next_items = self.recommender.next_items
        self.next_lesson = self.recommender.next_lesson
        self.due_reviews = self.spaced.due
        # placement (Placements)
        self.start_placement = self.placements.start
        self.placement_status = self.placements.status
        self.answer_placement = self.placements.answer
        # all of it for one page
        self.dashboard = self.board.summary
