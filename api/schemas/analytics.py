"""Cohort analytics for instructors (``/api/analytics``), from ``tutor.learning.analytics``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.learner import AchievementPublic, LevelProgressPublic, SkillMasteryPublic
from api.schemas.reviews import CodeReviewSummaryPublic
from tutor.learning.skill_map import SkillMap

# --- analytics ---
# Cohort analytics for instructors (``/api/analytics``); built from ``tutor.learning.analytics``.


class TraineeRowPublic(BaseModel):
    user_id: int
    username: str
    display_name: str
    level: int = Field(description="shown level: max(mastery level, placed level, lowest)")
    mastery_level: int = Field(description="the highest level reached by mastery (0: none)")
    placed_level: int | None
    observations: int = Field(description="answers recorded (one per skill of an item)")
    correct: int
    last_activity: datetime | None

    @classmethod
    def from_row(cls, t: Any) -> TraineeRowPublic:
        return cls(
            user_id=t.user_id,
            username=t.username,
            display_name=t.display_name,
            level=t.level,
            mastery_level=t.mastery_level,
            placed_level=t.placed_level,
            observations=t.observations,
            correct=t.correct,
            last_activity=t.last_activity,
        )


class SkillColumnPublic(BaseModel):
    id: str
    name: str = Field(description="in the requested language")
    level: int | None


class HeatmapPublic(BaseModel):
    course: str
    threshold: float = Field(description="mastery at or above this counts as mastered")
    trainees: list[TraineeRowPublic]
    skills: list[SkillColumnPublic] = Field(description="by level, prerequisites first")
    mastery: list[list[float]] = Field(description="[trainee][skill], P(known) in 0..1")
    observations: list[list[int]] = Field(description="[trainee][skill]; 0 = no evidence yet")

    @classmethod
    def from_heatmap(cls, h: Any, *, lang: str) -> HeatmapPublic:
        return cls(
            course=h.course,
            threshold=h.threshold,
            trainees=[TraineeRowPublic.from_row(t) for t in h.trainees],
            skills=[
                SkillColumnPublic(id=s.id, name=s.display(lang), level=s.level) for s in h.skills
            ],
            mastery=[list(r) for r in h.mastery],
            observations=[list(r) for r in h.observations],
        )


class LevelCountPublic(BaseModel):
    level: int
    trainees: int


class LevelSeriesPublic(BaseModel):
    level: int
    reached: list[int] = Field(description="achievements of this level recorded each week")
    cumulative: list[int] = Field(description="trainees who had reached it by each week's end")


class LevelsPublic(BaseModel):
    course: str
    levels: list[int]
    distribution: list[LevelCountPublic] = Field(description="trainees per shown level now")
    weeks: list[str] = Field(description="ISO dates of the weeks' Mondays (UTC), oldest first")
    series: list[LevelSeriesPublic]
    trainees: list[TraineeRowPublic]

    @classmethod
    def from_report(cls, r: Any) -> LevelsPublic:
        levels = sorted({lv for w in r.weeks for lv in w.cumulative} | set(r.levels))
        return cls(
            course=r.course,
            levels=list(r.levels),
            distribution=[
                LevelCountPublic(level=lv, trainees=n) for lv, n in sorted(r.distribution.items())
            ],
            weeks=[w.week_start.isoformat() for w in r.weeks],
            series=[
                LevelSeriesPublic(
                    level=lv,
                    reached=[w.reached.get(lv, 0) for w in r.weeks],
                    cumulative=[w.cumulative.get(lv, 0) for w in r.weeks],
                )
                for lv in levels
            ],
            trainees=[TraineeRowPublic.from_row(t) for t in r.trainees],
        )


class SectionCountPublic(BaseModel):
    heading: str = Field(description='"" is the lesson\'s text before its first section')
    answers: int


class LessonTopicPublic(BaseModel):
    doc_id: str
    title: str
    answers: int = Field(description="answers to trainees' questions citing the lesson")
    trainees: int
    sections: list[SectionCountPublic]


class GapExamplePublic(BaseModel):
    question: str
    lang: str | None
    created_at: datetime


class TopicsPublic(BaseModel):
    course: str
    since: datetime
    questions: int
    answers: int
    cited_answers: int
    lessons: list[LessonTopicPublic] = Field(description="most cited first")
    gaps: int = Field(description="content gaps recorded in the window")
    gap_examples: list[GapExamplePublic] = Field(description="the latest few")

    @classmethod
    def from_report(cls, r: Any) -> TopicsPublic:
        return cls(
            course=r.course,
            since=r.since,
            questions=r.questions,
            answers=r.answers,
            cited_answers=r.cited_answers,
            lessons=[
                LessonTopicPublic(
                    doc_id=x.doc_id,
                    title=x.title,
                    answers=x.answers,
                    trainees=x.trainees,
                    sections=[
                        SectionCountPublic(heading=s.heading, answers=s.answers) for s in x.sections
                    ],
                )
                for x in r.lessons
            ],
            gaps=r.gaps,
            gap_examples=[
                GapExamplePublic(question=g.question, lang=g.lang, created_at=g.created_at)
                for g in r.gap_examples
            ],
        )


class FindingCountPublic(BaseModel):
    code: str
    title: str
    count: int = Field(description="reviews with this finding")
    trainees: int


class TestCountPublic(BaseModel):
    name: str
    count: int = Field(description="reviews in which this test did not pass")
    trainees: int


class ExerciseStatsPublic(BaseModel):
    exercise_id: str | None = Field(description="None: free code, without an exercise")
    title: str
    attempts: int = Field(description="complete reviews")
    trainees: int
    tested: int = Field(description="reviews whose tests ran to a verdict on the code")
    passed: int
    pass_rate: float | None = Field(description="passed / tested")
    trainees_passed: int
    findings: list[FindingCountPublic]
    failing_tests: list[TestCountPublic]

    @classmethod
    def from_stats(cls, s: Any, *, lang: str) -> ExerciseStatsPublic:
        return cls(
            exercise_id=s.exercise_id,
            title=s.title_ko if lang == "ko" else s.title,
            attempts=s.attempts,
            trainees=s.trainees,
            tested=s.tested,
            passed=s.passed,
            pass_rate=s.pass_rate,
            trainees_passed=s.trainees_passed,
            findings=[
                FindingCountPublic(code=f.code, title=f.title, count=f.count, trainees=f.trainees)
                for f in s.findings
            ],
            failing_tests=[
                TestCountPublic(name=t.name, count=t.count, trainees=t.trainees)
                for t in s.failing_tests
            ],
        )


class ReviewStatsPublic(BaseModel):
    course: str
    exercises: list[ExerciseStatsPublic]


class StuckReasonPublic(BaseModel):
    kind: Literal["inactive", "no_progress", "failed_reviews", "wrong_answers"]
    text: str = Field(description="in the requested language")
    subject: str | None = Field(description="the skill or exercise id")
    count: int = Field(description="days idle, answers, or failures in a row (by kind)")
    since: datetime | None = Field(description="last activity, or the streak's latest one")

    @classmethod
    def from_reason(cls, r: Any, *, lang: str) -> StuckReasonPublic:
        return cls(kind=r.kind, text=r.text(lang), subject=r.subject, count=r.count, since=r.since)


class StuckTraineePublic(BaseModel):
    trainee: TraineeRowPublic
    reasons: list[StuckReasonPublic]


class StuckPublic(BaseModel):
    course: str
    days: int
    trainees: list[StuckTraineePublic] = Field(description="most reasons first")

    @classmethod
    def from_stuck(cls, stuck: Iterable[Any], *, course: str, days: int, lang: str) -> StuckPublic:
        return cls(
            course=course,
            days=days,
            trainees=[
                StuckTraineePublic(
                    trainee=TraineeRowPublic.from_row(s.trainee),
                    reasons=[StuckReasonPublic.from_reason(r, lang=lang) for r in s.reasons],
                )
                for s in stuck
            ],
        )


class ConversationRefPublic(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class TraineeAnalyticsPublic(BaseModel):
    """One trainee, for instructors: the learner model's view, recent activity, stuck reasons."""

    course: str
    trainee: TraineeRowPublic
    progress: LevelProgressPublic
    skills: list[SkillMasteryPublic]
    achievements: list[AchievementPublic]
    activity: dict[str, dict[str, int]] = Field(description='source -> {"rows", "correct"}')
    conversations: list[ConversationRefPublic] = Field(description="newest first")
    reviews: list[CodeReviewSummaryPublic] = Field(description="newest first")
    stuck: list[StuckReasonPublic]

    @classmethod
    def from_detail(cls, d: Any, *, skill_map: SkillMap, lang: str) -> TraineeAnalyticsPublic:
        return cls(
            course=d.course,
            trainee=TraineeRowPublic.from_row(d.trainee),
            progress=LevelProgressPublic.from_progress(d.progress, skill_map=skill_map, lang=lang),
            skills=[SkillMasteryPublic.from_skill(s, lang=lang) for s in d.skills],
            achievements=[AchievementPublic.from_achievement(a) for a in d.achievements],
            activity=d.activity,
            conversations=[
                ConversationRefPublic(
                    id=c.id, title=c.title, created_at=c.created_at, updated_at=c.updated_at
                )
                for c in d.conversations
            ],
            reviews=[
                CodeReviewSummaryPublic(
                    id=r.id,
                    status=r.status,
                    verdict=r.verdict,
                    exercise_id=r.exercise_id,
                    course=d.course,
                    attempt=r.attempt,
                    passed=r.tests_passed,
                    total=r.tests_total,
                    findings=r.findings,
                    created_at=r.created_at,
                )
                for r in d.reviews
            ],
            stuck=[StuckReasonPublic.from_reason(r, lang=lang) for r in d.stuck],
        )


class ConversationMessagePublic(BaseModel):
    id: str
    role: str
    content: str
    lang: str | None
    mode: str | None
    citations: list[dict[str, Any]] = Field(description="doc_id, title, heading_path, lines")
    feedback: str | None = Field(description="the trainee's thumbs up/down, if any")
    created_at: datetime | None


class TraineeConversationPublic(BaseModel):
    id: str
    user_id: int
    title: str
    created_at: datetime
    messages: list[ConversationMessagePublic]

    @classmethod
    def from_conversation(cls, conv: Any, messages: Iterable[Any]) -> TraineeConversationPublic:
        return cls(
            id=conv.id,
            user_id=conv.user_id,
            title=conv.title,
            created_at=conv.created_at,
            messages=[
                ConversationMessagePublic(
                    id=m.id,
                    role=m.role,
                    content=m.content,
                    lang=m.lang,
                    mode=m.mode,
                    citations=[
                        {
                            "n": c.n,
                            "doc_id": c.doc_id,
                            "title": c.title,
                            "heading_path": list(c.heading_path),
                            "line_start": c.line_start,
                            "line_end": c.line_end,
                        }
                        for c in m.citations
                    ],
                    feedback=m.feedback.rating if m.feedback else None,
                    created_at=m.created_at,
                )
                for m in messages
            ],
        )
