"""What the learner routes, the chat routes and the /learn page all build from the learner
model: the level the tutor adapts to (and where it comes from) and the learner's dashboard."""

from __future__ import annotations

import logging

from api.schemas.learner import (
    AchievementPublic,
    LearnerPublic,
    LessonRecommendationPublic,
    LevelProgressPublic,
    LevelSource,
    PlacementPublic,
    PracticeItemPublic,
    ReviewsPublic,
    SkillMasteryPublic,
)
from knowledge.errors import KnowledgeError
from tutor.accounts.access import no_course
from tutor.accounts.users import User
from tutor.chat.answering import LearnerContext
from tutor.learning.service import LearnerService
from tutor.learning.types import LevelProgress

log = logging.getLogger("kdt.api.learner")


# --- the level the tutor uses ---------------------------------------------------------------
def level_source(
    service: LearnerService, user_id: int, *, course: str, progress: LevelProgress
) -> LevelSource:
    """Where the learner's level comes from: mastery, placement, answers (evidence without
    a placement), or default (no evidence yet: ``KDT_DEFAULT_LEVEL`` applies)."""
    if progress.mastery_level > 0 and progress.mastery_level > (progress.placed_level or 0):
        return "mastery"  # mastery has gone past the placement (or there was none)
    if progress.placed_level is not None:
        return "placement"
    counts = service.store.source_counts(user_id, course)
    if any(c["rows"] for source, c in counts.items() if source != "placement"):
        return "answers"
    return "default"  # nothing yet, or only a placement quiz still being taken


def learner_context(
    service: LearnerService, user: User, *, course: str | None, default_level: int
) -> tuple[LearnerContext, LevelSource]:
    """What the chat answerer adapts to: the learner model's level and the skills still to
    learn, for a user asking within their own course; else (or without evidence yet, or
    when the course's skill map cannot be built) ``default_level``."""
    if not user.course or course != user.course:
        return LearnerContext(level=default_level), "default"
    try:
        if not service.skill_maps(course).skills:
            return LearnerContext(level=default_level), "default"
        context, progress = service.context_and_level(user.id, course)
        source = level_source(service, user.id, course=course, progress=progress)
    except KnowledgeError as exc:  # not ingested, or an invalid skill map: chat goes on
        log.info("no learner model for %s in %s: %s", user.username, course, exc)
        return LearnerContext(level=default_level), "default"
    if source == "default":
        return LearnerContext(level=default_level, unmastered=context.unmastered), source
    return context, source


# --- dashboard ---------------------------------------------------------------------------------
def _empty(user: User, *, lang: str, default_level: int, message: str) -> LearnerPublic:
    return LearnerPublic(
        user_id=user.id,
        course=user.course,
        lang=lang,
        level=default_level,
        source="default",
        progress=None,
        skills=[],
        achievements=[],
        reviews=ReviewsPublic(due=0, items=[]),
        next_lesson=None,
        practice=[],
        placement=None,
        message=message,
    )


def dashboard(
    service: LearnerService, user: User, *, lang: str, default_level: int, practice: int = 5
) -> LearnerPublic:
    """The dashboard of ``user`` in their course (also rendered into the /learn page)."""
    if not user.course:
        return _empty(user, lang=lang, default_level=default_level, message=str(no_course(user)))
    course = user.course
    try:
        skill_map = service.skill_maps(course)
    except KnowledgeError as exc:
        return _empty(user, lang=lang, default_level=default_level, message=str(exc))
    board = service.dashboard(user.id, course, lang=lang, practice=practice)
    source = level_source(service, user.id, course=course, progress=board.level)
    return LearnerPublic(
        user_id=user.id,
        course=course,
        lang=lang,
        level=default_level if source == "default" else board.level.level,
        source=source,
        progress=LevelProgressPublic.from_progress(board.level, skill_map=skill_map, lang=lang),
        skills=[SkillMasteryPublic.from_skill(s, lang=lang) for s in board.skills],
        achievements=[AchievementPublic.from_achievement(a) for a in board.achievements],
        reviews=ReviewsPublic.from_reviews(board.due_reviews, skill_map=skill_map, lang=lang),
        next_lesson=(
            LessonRecommendationPublic.from_recommendation(
                board.next_lesson, skill_map=skill_map, course=course, lang=lang
            )
            if board.next_lesson
            else None
        ),
        practice=[
            PracticeItemPublic.from_practice(p, skill_map=skill_map, lang=lang)
            for p in board.practice
        ],
        placement=(
            PlacementPublic.from_view(board.placement, skill_map=skill_map, lang=lang)
            if board.placement
            else None
        ),
        message=None if skill_map.skills else f"course {course!r} defines no skills yet",
    )
