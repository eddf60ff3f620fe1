"""The learner model's domain types: what its services return (frozen dataclasses) and
its one error of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tutor.errors import InvalidInputError


class UnknownSkillError(InvalidInputError):
    """Evidence names a skill the course's skill map does not have."""

    code = "unknown_skill"


@dataclass(frozen=True)
class SkillChange:
    skill: str
    before: float
    after: float
    mastered: bool


@dataclass(frozen=True)
class Achievement:
    level: int
    achieved_at: datetime
    summary: dict[str, Any]


@dataclass(frozen=True)
class AnswerResult:
    item_id: str
    source: str
    correct: bool
    duplicate: bool  # the same submission was already recorded: nothing changed
    answer_index: int | None  # the right option (quiz items)
    explanation: str
    skills: tuple[SkillChange, ...]
    level: int
    achievements: tuple[Achievement, ...] = ()  # recorded by this submission
    evidence_ids: tuple[int, ...] = ()

    @property
    def achievement(self) -> Achievement | None:
        return self.achievements[-1] if self.achievements else None


@dataclass(frozen=True)
class SkillMastery:
    skill: str
    name: str
    name_ko: str
    level: int | None
    mastery: float
    observations: int
    correct: int
    mastered: bool
    credited: bool  # counted as known thanks to the placement


@dataclass(frozen=True)
class LevelProgress:
    level: int  # what the trainee sees: max(mastery level, placed level, 1)
    mastery_level: int  # the highest level reached by mastery (0: none yet)
    placed_level: int | None
    next_level: int | None
    next_skills: tuple[str, ...]  # the skills the next level adds
    next_mastered: tuple[str, ...]
    share_mastered: float  # of next_skills
    mean_mastery: float  # over next_skills
    blocking: tuple[str, ...]  # lower levels' skills not yet mastered (the next level needs them)
    threshold: float


@dataclass(frozen=True)
class PracticeItem:
    item: Any  # QuizItem-like
    skill: str  # the skill it was chosen for
    mastery: float


@dataclass(frozen=True)
class LessonRecommendation:
    lesson_id: str
    title: str
    title_ko: str
    skills: tuple[str, ...]  # the lesson's skills not yet mastered
    reason: str  # in the requested language
    reason_en: str
    reason_ko: str
    ready: bool  # its prerequisites are known


@dataclass(frozen=True)
class DueReview:
    item: Any  # QuizItem-like
    due: datetime
    reviews: int


@dataclass(frozen=True)
class PlacementView:
    session_id: str
    status: str  # active | finished | abandoned
    item: Any | None  # the item to answer now (None when finished)
    answered: int
    max_items: int
    probabilities: dict[int, float]  # level -> posterior
    level: int  # the result when finished, else the current best guess
    last_correct: bool | None = None

    @property
    def finished(self) -> bool:
        return self.status == "finished"


@dataclass(frozen=True)
class LearnerSummary:
    """Everything a trainee's dashboard shows, from one read of the learner state."""

    course: str
    level: LevelProgress
    skills: tuple[SkillMastery, ...]  # in topological order
    achievements: tuple[Achievement, ...]
    due_reviews: tuple[DueReview, ...]
    next_lesson: LessonRecommendation | None
    practice: tuple[PracticeItem, ...]
    placement: PlacementView | None
