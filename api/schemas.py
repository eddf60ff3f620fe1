"""Response and request bodies. Domain objects are never returned as-is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from knowledge.types import ScoredChunk
from tutor.accounts import User
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


class HealthPublic(BaseModel):
    status: str
    documents: int
    chunks: int
    courses: list[str]


class SearchHitPublic(BaseModel):
    score: float
    chunk_id: str
    doc_id: str
    title: str
    heading_path: list[str]
    line_start: int
    line_end: int
    course: str
    kind: str
    level: int | None
    lang: str
    text: str

    @classmethod
    def from_scored(cls, hit: ScoredChunk) -> SearchHitPublic:
        c = hit.chunk
        return cls(
            score=round(hit.score, 6),
            chunk_id=c.id,
            doc_id=c.doc_id,
            title=c.title,
            heading_path=list(c.heading_path),
            line_start=c.line_start,
            line_end=c.line_end,
            course=c.course,
            kind=c.kind,
            level=c.level,
            lang=c.lang,
            text=c.text,
        )


class SearchPublic(BaseModel):
    query: str
    results: list[SearchHitPublic]


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    course: str | None

    @classmethod
    def from_user(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            course=user.course,
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


# --- code review ------------------------------------------------------------------------------
class CodeFileCreate(BaseModel):
    name: StrictStr = Field(max_length=200, description="a plain file name, e.g. solution.py")
    content: StrictStr = Field(description="the file's text (UTF-8)")


class CodeReviewCreate(BaseModel):
    files: list[CodeFileCreate] = Field(max_length=200)
    exercise_id: StrictStr | None = Field(default=None, max_length=128)
    lang: Literal["en", "ko"] | None = None
    wait: StrictBool = Field(
        default=False, description="wait for the tests instead of returning while they run"
    )


class CodeFilePublic(BaseModel):
    name: str
    text: str


class CodeReviewSummaryPublic(BaseModel):
    id: str
    status: Literal["running", "complete", "failed"]
    verdict: str | None
    exercise_id: str | None
    course: str | None
    attempt: int
    passed: int | None = Field(description="tests passed (None when no tests ran)")
    total: int | None
    findings: int
    created_at: datetime

    @classmethod
    def from_record(cls, r: Any) -> CodeReviewSummaryPublic:
        cases = (r.tests or {}).get("cases")
        return cls(
            id=r.id,
            status=r.status,
            verdict=r.verdict,
            exercise_id=r.exercise_id,
            course=r.course,
            attempt=r.attempt,
            passed=sum(1 for c in cases if c["status"] == "passed") if cases is not None else None,
            total=len(cases) if cases is not None else None,
            findings=len(r.static.get("findings", [])) + len(r.static.get("hidden", [])),
            created_at=r.created_at,
        )


class CodeReviewPublic(CodeReviewSummaryPublic):
    user_id: int
    level: int
    lang: str
    files: list[CodeFilePublic]
    syntax_ok: bool
    findings_shown: list[dict[str, Any]] = Field(
        description="static findings, most important first, capped for the level"
    )
    findings_hidden: list[dict[str, Any]] = Field(description='the "N more" beyond the cap')
    complexity: dict[str, int]
    static_notes: list[str] = Field(description="what the static checks could not check, and why")
    tests: dict[str, Any] | None = Field(
        description="the sandboxed test run: verdict, message, limits_hit, cases (input, "
        "expected, actual, error, status), sandbox"
    )
    suspicious: list[dict[str, Any]] = Field(description="lines fault localization points at")
    narrative: str
    notices: list[str]
    error: str | None
    timings: dict[str, float]
    previous_id: str | None
    diff: str | None = Field(description="unified diff against the previous attempt")
    completed_at: datetime | None

    @classmethod
    def from_review(cls, r: Any, *, previous_id: str | None, diff: str | None) -> CodeReviewPublic:
        summary = CodeReviewSummaryPublic.from_record(r).model_dump()
        tests = None
        if r.tests is not None:
            # Coverage is for localization; the client needs the outcome of each case.
            tests = {k: v for k, v in r.tests.items() if k != "executable"}
            tests["cases"] = [
                {k: v for k, v in c.items() if k != "lines"} for c in r.tests.get("cases", [])
            ]
        return cls(
            **summary,
            user_id=r.user_id,
            level=r.level,
            lang=r.lang,
            files=[CodeFilePublic(name=f.name, text=f.text) for f in r.files],
            syntax_ok=bool(r.static.get("syntax_ok", True)),
            findings_shown=r.static.get("findings", []),
            findings_hidden=r.static.get("hidden", []),
            complexity=r.static.get("complexity", {}),
            static_notes=r.static.get("notes", []),
            tests=tests,
            suspicious=r.suspicious,
            narrative=r.narrative,
            notices=r.notices,
            error=r.error,
            timings=r.timings,
            previous_id=previous_id,
            diff=diff,
            completed_at=r.completed_at,
        )


class ExercisePublic(BaseModel):
    id: str
    course: str
    title: str
    level: int | None
    skills: list[str]
    starter: str | None = None


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
