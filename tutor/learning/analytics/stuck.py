"""Stuck trainees over the last N days, each with the reasons (in English and Korean):

- ``inactive``: no answers (trainees whose account is younger than N days are not called
  inactive);
- ``no_progress``: answers, but no skill's mastery rose by ``min_gain`` (mastery N days ago
  comes from the same replay stopped at the cut-off, ``Cohort.mastery_before``);
- ``failed_reviews``: that many reviews of one exercise in a row whose tests did not pass,
  the latest within the N days;
- ``wrong_answers``: that many wrong quiz answers in a row on one skill, the latest within
  the N days (placement answers do not count).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tutor.learning.analytics.cohort import Cohort, Trainee
from tutor.learning.analytics.types import QUIZ_SOURCES, StuckReason, StuckTrainee
from tutor.learning.skill_map import SkillMap
from tutor.store import as_utc


def stuck_trainees(
    cohort: Cohort,
    *,
    streaks: dict[int, dict[str, tuple[int, datetime]]],
    now: datetime,
    days: int,
    min_gain: float,
    failed_reviews: int,
    wrong_answers: int,
    only: int | None = None,
) -> list[StuckTrainee]:
    """The cohort's stuck trainees (``only``: that trainee alone), the most reasons first,
    then the longest inactive; ``streaks`` as ``reviews.review_streaks`` gives them."""
    cutoff = now - timedelta(days=days)
    members = [t for t in cohort.trainees if only is None or t.id == only]
    out = []
    for t in members:
        reasons = _reasons(
            cohort,
            t,
            now=now,
            cutoff=cutoff,
            days=days,
            min_gain=min_gain,
            wrong_answers=wrong_answers,
        )
        for eid, (count, at) in sorted(streaks.get(t.id, {}).items()):
            if count >= failed_reviews and at >= cutoff:
                reasons.append(_failed_reviews(cohort.skill_map, eid, count, at))
        if reasons:
            out.append(StuckTrainee(cohort.row(t), tuple(reasons)))
    epoch = datetime.min.replace(tzinfo=UTC)
    out.sort(
        key=lambda s: (
            -len(s.reasons),
            s.trainee.last_activity or epoch,
            s.trainee.username,
        )
    )
    return out


def _reasons(
    cohort: Cohort,
    t: Trainee,
    *,
    now: datetime,
    cutoff: datetime,
    days: int,
    min_gain: float,
    wrong_answers: int,
) -> list[StuckReason]:
    obs = cohort.obs.get(t.id, [])
    recent = [o for o in obs if o.created_at >= cutoff]
    reasons: list[StuckReason] = []
    if not recent:
        if obs or t.created_at < cutoff:  # a new account is not idle yet
            reasons.append(_inactive(obs[-1].created_at if obs else None, days=days, now=now))
    else:
        before = cohort.mastery_before(t.id, cutoff)
        p = cohort.learners[t.id].p
        gain = max((p[s] - before[s] for s in p), default=0.0)
        if gain < min_gain:
            right = sum(1 for o in recent if o.correct)
            reasons.append(_no_progress(len(recent), right, days=days, min_gain=min_gain))
    # Trailing wrong quiz answers per skill (placement answers do not count).
    streak: dict[str, tuple[int, datetime]] = {}
    for o in obs:
        if o.source not in QUIZ_SOURCES:
            continue
        at = o.created_at
        streak[o.skill] = (0, at) if o.correct else (streak.get(o.skill, (0, at))[0] + 1, at)
    for skill, (count, at) in sorted(streak.items()):
        if count >= wrong_answers and at >= cutoff:
            reasons.append(_wrong_answers(cohort.skill_map, skill, count, at))
    return reasons


# ------------------------------------------------------------------------------ reason texts
def _day(moment: datetime) -> str:
    return as_utc(moment).date().isoformat()


def _inactive(last: datetime | None, *, days: int, now: datetime) -> StuckReason:
    if last is None:
        return StuckReason(
            "inactive", "No answers yet.", "아직 푼 문제가 없습니다.", count=0, since=None
        )
    idle = (now - last).days
    return StuckReason(
        "inactive",
        f"No answers in the last {days} days (the last {idle} days ago, {_day(last)}).",
        f"최근 {days}일 동안 푼 문제가 없습니다 (마지막: {idle}일 전, {_day(last)}).",
        count=idle,
        since=last,
    )


def _no_progress(answers: int, right: int, *, days: int, min_gain: float) -> StuckReason:
    return StuckReason(
        "no_progress",
        f"{answers} answers in the last {days} days ({right} right), but no skill's mastery "
        f"rose by {min_gain:.2f} or more.",
        f"최근 {days}일 동안 {answers}문제를 풀었지만(정답 {right}개) 숙달도가 "
        f"{min_gain:.2f} 이상 오른 기술이 없습니다.",
        count=answers,
    )


def _wrong_answers(smap: SkillMap, skill: str, count: int, at: datetime) -> StuckReason:
    return StuckReason(
        "wrong_answers",
        f"{count} wrong answers in a row on {smap.name(skill)}.",
        f"{smap.name(skill, 'ko')} 문제를 {count}번 연속 틀렸습니다.",
        count=count,
        subject=skill,
        since=at,
    )


def _failed_reviews(smap: SkillMap, exercise_id: str, count: int, at: datetime) -> StuckReason:
    material = smap.exercise(exercise_id)
    en = material.title if material else exercise_id
    ko = material.title_ko if material else exercise_id
    return StuckReason(
        "failed_reviews",
        f"{count} code reviews of {en} in a row did not pass (the latest {_day(at)}).",
        f"{ko} 코드 리뷰를 {count}번 연속 통과하지 못했습니다 (최근: {_day(at)}).",
        count=count,
        subject=exercise_id,
        since=at,
    )
