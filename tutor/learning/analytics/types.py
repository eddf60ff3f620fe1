"""Cohort analytics' domain types: what the reports hold (frozen dataclasses), and the
settings they share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from tutor.chat.conversations import Conversation
from tutor.learning.types import Achievement, LevelProgress, SkillMastery

# Verdicts that say the trainee's code did not pass its tests (test_error, refused and
# no_tests say nothing about the trainee, so they neither extend nor break a streak).
FAILED_VERDICTS = ("failed", "error", "timeout", "crashed")
TESTED_VERDICTS = ("passed", *FAILED_VERDICTS)
# Quiz answers (not placement answers: those are diagnostic, wrong ones are expected).
QUIZ_SOURCES = ("quiz", "review")
# What "stuck" means unless the caller says otherwise (see ``AnalyticsService.stuck``).
STUCK_DEFAULTS: dict[str, Any] = {
    "days": 7,
    "min_gain": 0.05,
    "failed_reviews": 3,
    "wrong_answers": 4,
}

StuckKind = Literal["inactive", "no_progress", "failed_reviews", "wrong_answers"]


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
