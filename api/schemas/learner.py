"""The learner model over HTTP (``/api/learner``): the dashboard, the placement quiz,
practice, answers and reviews."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from tutor.learning.skill_map import SkillMap
from tutor.learning.types import (
    Achievement,
    AnswerResult,
    DueReview,
    LessonRecommendation,
    LevelProgress,
    PlacementView,
    PracticeItem,
    SkillMastery,
)

# --- the learner model ---------------------------------------------------------------------
# Quiz items go to the browser without ``answer_index`` and ``explanation``: those come back
# only in the answer to an answer (``AnswerPublic``, ``PlacementPublic.feedback``).


class SkillRefPublic(BaseModel):
    id: str
    name: str


class QuizItemPublic(BaseModel):
    id: str
    question: str
    options: list[str]
    lang: str
    lesson_id: str | None
    skills: list[SkillRefPublic]

    @classmethod
    def from_item(cls, item: Any, *, skill_map: SkillMap, lang: str) -> QuizItemPublic:
        return cls(
            id=item.id,
            question=item.question,
            options=list(item.options),
            lang=getattr(item, "lang", "en"),
            lesson_id=getattr(item, "lesson_id", None),
            skills=_skill_refs(skill_map.item_skills(item), skill_map, lang),
        )


def _skill_refs(skills: Iterable[str], skill_map: SkillMap, lang: str) -> list[SkillRefPublic]:
    return [SkillRefPublic(id=s, name=skill_map.name(s, lang)) for s in skills]


class LevelProgressPublic(BaseModel):
    level: int = Field(description="the learner model's level (mastery or placement)")
    mastery_level: int = Field(description="the highest level reached by mastery (0: none)")
    placed_level: int | None
    next_level: int | None
    next_skills: list[SkillRefPublic] = Field(description="the skills the next level adds")
    next_mastered: list[str]
    share_mastered: float
    mean_mastery: float
    blocking: list[SkillRefPublic] = Field(description="lower levels' skills not mastered yet")
    threshold: float

    @classmethod
    def from_progress(
        cls, p: LevelProgress, *, skill_map: SkillMap, lang: str
    ) -> LevelProgressPublic:
        return cls(
            level=p.level,
            mastery_level=p.mastery_level,
            placed_level=p.placed_level,
            next_level=p.next_level,
            next_skills=_skill_refs(p.next_skills, skill_map, lang),
            next_mastered=list(p.next_mastered),
            share_mastered=round(p.share_mastered, 4),
            mean_mastery=round(p.mean_mastery, 4),
            blocking=_skill_refs(p.blocking, skill_map, lang),
            threshold=p.threshold,
        )


class SkillMasteryPublic(BaseModel):
    id: str
    name: str
    level: int | None
    mastery: float
    observations: int
    correct: int
    mastered: bool
    credited: bool = Field(description="counted as known thanks to the placement quiz")

    @classmethod
    def from_skill(cls, s: SkillMastery, *, lang: str) -> SkillMasteryPublic:
        return cls(
            id=s.skill,
            name=s.name_ko if lang == "ko" else s.name,
            level=s.level,
            mastery=round(s.mastery, 4),
            observations=s.observations,
            correct=s.correct,
            mastered=s.mastered,
            credited=s.credited,
        )


class AchievementPublic(BaseModel):
    level: int
    achieved_at: datetime
    summary: dict[str, Any]

    @classmethod
    def from_achievement(cls, a: Achievement) -> AchievementPublic:
        return cls(level=a.level, achieved_at=a.achieved_at, summary=dict(a.summary))


class ReviewPublic(BaseModel):
    item: QuizItemPublic
    due: datetime
    reviews: int


class ReviewsPublic(BaseModel):
    due: int = Field(description="how many reviews are due now (at most the list's limit)")
    items: list[ReviewPublic]

    @classmethod
    def from_reviews(
        cls, reviews: Iterable[DueReview], *, skill_map: SkillMap, lang: str
    ) -> ReviewsPublic:
        items = [
            ReviewPublic(
                item=QuizItemPublic.from_item(r.item, skill_map=skill_map, lang=lang),
                due=r.due,
                reviews=r.reviews,
            )
            for r in reviews
        ]
        return cls(due=len(items), items=items)


class LessonRecommendationPublic(BaseModel):
    lesson_id: str
    title: str
    skills: list[SkillRefPublic] = Field(description="the lesson's skills still to learn")
    reason: str
    ready: bool = Field(description="its prerequisites are known")
    search_url: str = Field(description="the search page, looking for this lesson")

    @classmethod
    def from_recommendation(
        cls, rec: LessonRecommendation, *, skill_map: SkillMap, course: str, lang: str
    ) -> LessonRecommendationPublic:
        title = rec.title_ko if lang == "ko" else rec.title
        query = urlencode({"q": title, "course": course, "lang": lang})
        return cls(
            lesson_id=rec.lesson_id,
            title=title,
            skills=_skill_refs(rec.skills, skill_map, lang),
            reason=rec.reason_ko if lang == "ko" else rec.reason_en,
            ready=rec.ready,
            search_url=f"/?{query}",
        )


class PracticeItemPublic(BaseModel):
    item: QuizItemPublic
    skill: SkillRefPublic = Field(description="the skill the item was chosen for")
    mastery: float = Field(description="that skill's mastery now")

    @classmethod
    def from_practice(
        cls, p: PracticeItem, *, skill_map: SkillMap, lang: str
    ) -> PracticeItemPublic:
        return cls(
            item=QuizItemPublic.from_item(p.item, skill_map=skill_map, lang=lang),
            skill=SkillRefPublic(id=p.skill, name=skill_map.name(p.skill, lang)),
            mastery=round(p.mastery, 4),
        )


class AnswerFeedbackPublic(BaseModel):
    """What a trainee sees once they have answered: the right option and why."""

    item_id: str
    correct: bool
    chosen_index: int | None
    answer_index: int | None
    right_option: str | None
    explanation: str


class PlacementPublic(BaseModel):
    session_id: str
    status: Literal["active", "finished", "abandoned"]
    finished: bool
    item: QuizItemPublic | None = Field(description="the item to answer now (no answer key)")
    answered: int
    max_items: int
    probabilities: dict[int, float] = Field(description="level -> probability")
    level: int = Field(description="the result when finished, else the current best guess")
    last_correct: bool | None = None
    feedback: AnswerFeedbackPublic | None = Field(
        default=None, description="the right answer to the item just answered"
    )

    @classmethod
    def from_view(
        cls,
        view: PlacementView,
        *,
        skill_map: SkillMap,
        lang: str,
        feedback: AnswerFeedbackPublic | None = None,
    ) -> PlacementPublic:
        return cls(
            session_id=view.session_id,
            status=view.status,
            finished=view.finished,
            item=(
                QuizItemPublic.from_item(view.item, skill_map=skill_map, lang=lang)
                if view.item is not None
                else None
            ),
            answered=view.answered,
            max_items=view.max_items,
            probabilities=dict(view.probabilities),
            level=view.level,
            last_correct=view.last_correct,
            feedback=feedback,
        )


LevelSource = Literal["default", "placement", "mastery", "answers"]


class LearnerPublic(BaseModel):
    """A trainee's dashboard (``GET /api/learner/me``)."""

    user_id: int
    course: str | None
    lang: str
    level: int = Field(description="the level the tutor adapts to (the chat's level badge)")
    source: LevelSource = Field(
        description="where the level comes from: default (no evidence yet: KDT_DEFAULT_LEVEL), "
        "placement, mastery, or answers (evidence, no placement)"
    )
    progress: LevelProgressPublic | None
    skills: list[SkillMasteryPublic]
    achievements: list[AchievementPublic]
    reviews: ReviewsPublic
    next_lesson: LessonRecommendationPublic | None
    practice: list[PracticeItemPublic]
    placement: PlacementPublic | None
    message: str | None = Field(default=None, description="why there is nothing to show")


class SkillChangePublic(BaseModel):
    id: str
    name: str
    before: float
    after: float
    mastered: bool


class AnswerCreate(BaseModel):
    item_id: StrictStr = Field(min_length=1, max_length=256)
    chosen_index: StrictInt
    submission_id: StrictStr | None = Field(
        default=None,
        max_length=64,
        description="a client id for this attempt: sending it again returns the same result",
    )
    source: Literal["quiz", "review"] = "quiz"


class AnswerPublic(AnswerFeedbackPublic):
    duplicate: bool = Field(description="this submission was recorded before: nothing changed")
    skills: list[SkillChangePublic] = Field(description="mastery of the item's skills")
    level: int = Field(description="the learner model's level after the answer")
    achievement: AchievementPublic | None = Field(description="a level reached by this answer")

    @classmethod
    def from_result(
        cls, r: AnswerResult, *, item: Any, chosen_index: int, skill_map: SkillMap, lang: str
    ) -> AnswerPublic:
        options = list(getattr(item, "options", ()) or ())
        right = r.answer_index
        return cls(
            item_id=r.item_id,
            correct=r.correct,
            chosen_index=chosen_index,
            answer_index=right,
            right_option=options[right] if right is not None and right < len(options) else None,
            explanation=r.explanation,
            duplicate=r.duplicate,
            skills=[
                SkillChangePublic(
                    id=c.skill,
                    name=skill_map.name(c.skill, lang),
                    before=round(c.before, 4),
                    after=round(c.after, 4),
                    mastered=c.mastered,
                )
                for c in r.skills
            ],
            level=r.level,
            achievement=(
                AchievementPublic.from_achievement(r.achievement) if r.achievement else None
            ),
        )


class PlacementStart(BaseModel):
    restart: StrictBool = Field(default=False, description="abandon the active quiz, start anew")
    lang: Literal["en", "ko"] | None = None


class PlacementAnswerCreate(BaseModel):
    session_id: StrictStr = Field(min_length=1, max_length=64)
    item_id: StrictStr = Field(min_length=1, max_length=256)
    chosen_index: StrictInt
