"""The trainee's dashboard: level and progress, mastery per skill, achievements, due
reviews, the next lesson, practice items and the placement status, from one read of the
learner's state."""

from __future__ import annotations

from datetime import datetime

from tutor.learning.achievements import Achievements
from tutor.learning.mastery import MasteryModel, progress, skill_states
from tutor.learning.placement import Placements
from tutor.learning.recommendations import Recommender, lesson_for
from tutor.learning.spaced_review import SpacedReview
from tutor.learning.types import LearnerSummary


class Dashboard:
    def __init__(
        self,
        *,
        model: MasteryModel,
        achievements: Achievements,
        reviews: SpacedReview,
        recommender: Recommender,
        placements: Placements,
    ) -> None:
        self.model = model
        self.achievements = achievements
        self.reviews = reviews
        self.recommender = recommender
        self.placements = placements

    def summary(
        self,
        user_id: int,
        course: str,
        *,
        now: datetime | None = None,
        lang: str = "en",
        practice: int = 5,
    ) -> LearnerSummary:
        learner, _ = self.model.load(user_id, course)
        return LearnerSummary(
            course=course,
            level=progress(learner),
            skills=tuple(skill_states(learner)),
            achievements=tuple(self.achievements.recorded(user_id, course)),
            due_reviews=tuple(self.reviews.due(user_id, course, now=now)),
            next_lesson=lesson_for(learner, lang=lang),
            practice=tuple(
                self.recommender.practice(learner, user_id, course, n=practice, lang=lang)
            ),
            placement=self.placements.status(user_id, course),
        )
