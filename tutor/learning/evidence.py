"""Evidence: answers and exercise results in, mastery changes out.

``record_answer`` (a quiz item: the chosen option, or right/wrong as judged elsewhere) and
``record_exercise_result`` (code review: the exercise's tests passed or failed) append one
row per skill of the item to the log in ``tutor.learning.store``, idempotent per
submission, then read the learner's state (``MasteryModel.load``) to say how each skill's
mastery moved, schedule the item's FSRS review (quiz and review answers only) and record
the levels newly reached (``Achievements``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tutor.errors import InvalidInputError, NotFoundError
from tutor.learning.achievements import Achievements
from tutor.learning.mastery import MasteryModel
from tutor.learning.spaced_review import SpacedReview
from tutor.learning.store import SOURCES, EvidenceRow, LearnerStore
from tutor.learning.types import AnswerResult, SkillChange, UnknownSkillError
from tutor.store import as_utc

MAX_DETAILS_CHARS = 20_000


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def grade(item: Any, chosen_index: int | None, correct: bool | None) -> tuple[bool, dict]:
    """(right?, the answer as stored) from a chosen option or a given verdict."""
    if (chosen_index is None) == (correct is None):
        raise InvalidInputError("give either chosen_index or correct")
    if chosen_index is not None:
        options = getattr(item, "options", ()) or ()
        if isinstance(chosen_index, bool) or not isinstance(chosen_index, int):
            raise InvalidInputError("chosen_index must be an integer")
        if not 0 <= chosen_index < len(options):
            raise InvalidInputError(
                f"chosen_index {chosen_index} is out of range for {len(options)} options"
            )
        answer_index = getattr(item, "answer_index", None)
        if answer_index is None:
            raise InvalidInputError(f"item {item.id!r} has no answer key; pass correct=...")
        return chosen_index == answer_index, {"chosen_index": chosen_index}
    return bool(correct), {"correct": bool(correct)}


class EvidenceLog:
    """Records evidence and reports what it changed. ``items(course)`` gives the course's
    quiz items."""

    def __init__(
        self,
        store: LearnerStore,
        *,
        model: MasteryModel,
        items: Callable[[str], Sequence[Any]],
        reviews: SpacedReview,
        achievements: Achievements,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.model = model
        self.items = items
        self.reviews = reviews
        self.achievements = achievements
        self.clock = clock

    def _item(self, course: str, item_id: str) -> Any:
        for item in self.items(course):
            if item.id == item_id:
                return item
        raise NotFoundError(f"no quiz item {item_id!r} in course {course!r}")

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
        """Record one answer to a quiz item: the chosen option, or right/wrong as judged
        elsewhere. Unknown item: ``NotFoundError``; a skill outside the map:
        ``UnknownSkillError``; in both cases nothing is stored."""
        if source not in SOURCES or source == "exercise":
            raise InvalidInputError(
                f"source {source!r} is not an answer source (quiz, placement, review)"
            )
        item = self._item(course, item_id)
        ok, answer = grade(item, chosen_index, correct)
        return self.record(
            user_id,
            course,
            item_id=item_id,
            skills=self.model.skill_maps(course).item_skills(item),
            correct=ok,
            answer=answer,
            source=source,
            submission_id=submission_id,
            answer_index=getattr(item, "answer_index", None),
            explanation=getattr(item, "explanation", "") or "",
            review=source in ("quiz", "review"),
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
        """Evidence from code review: the exercise's tests passed or failed, for each of the
        exercise's skills (``details``, e.g. test counts, is kept with the evidence)."""
        skill_map = self.model.skill_maps(course)
        exercise = skill_map.exercise(exercise_id)
        if exercise is None:
            raise NotFoundError(f"no exercise {exercise_id!r} in course {course!r}")
        answer: dict[str, Any] = {"passed": bool(passed)}
        if details:
            text = json.dumps(details, ensure_ascii=False, default=str)
            answer["details"] = (
                json.loads(text) if len(text) <= MAX_DETAILS_CHARS else text[:MAX_DETAILS_CHARS]
            )
        return self.record(
            user_id,
            course,
            item_id=exercise_id,
            skills=exercise.skills,
            correct=bool(passed),
            answer=answer,
            source="exercise",
            submission_id=submission_id,
            answer_index=None,
            explanation="",
            review=False,
        )

    def record(
        self,
        user_id: int,
        course: str,
        *,
        item_id: str,
        skills: Sequence[str],
        correct: bool,
        answer: dict[str, Any],
        source: str,
        submission_id: str | None,
        answer_index: int | None,
        explanation: str,
        review: bool,
    ) -> AnswerResult:
        """Append one graded answer (any source) and report what it changed."""
        skill_map = self.model.skill_maps(course)
        if not skills:
            raise InvalidInputError(f"{item_id!r} names no skill: nothing to record")
        unknown = [s for s in skills if s not in skill_map.skills]
        if unknown:
            raise UnknownSkillError(
                f"{item_id!r} names skills that course {course!r} does not define: "
                f"{', '.join(unknown)}; nothing was recorded"
            )
        now = as_utc(self.clock())
        if submission_id is not None:
            key = _digest(user_id, course, item_id, source, "id", str(submission_id))
        else:
            key = _digest(user_id, course, item_id, source, answer, now.date().isoformat())
        rows = [
            {
                "user_id": user_id,
                "course": course,
                "skill": s,
                "item_id": item_id,
                "source": source,
                "correct": bool(correct),
                "answer": answer,
                "submission_key": key,
                "created_at": now,
            }
            for s in dict.fromkeys(skills)
        ]
        ids = self.store.add_evidence(rows)
        if ids is None:  # the same submission is stored already
            existing = self.store.evidence_by_key(key)
            if not existing:
                raise NotFoundError(f"no user with id {user_id}")
            return self._duplicate(
                user_id, course, existing, answer=answer, answer_index=answer_index,
                explanation=explanation, submission_id=submission_id,
            )  # fmt: skip
        learner, befores = self.model.load(user_id, course, watch=ids)
        if review:
            self.reviews.review(user_id, course, item_id, correct=correct, now=now)
        new = self.achievements.check(user_id, course, learner, now=now)
        return AnswerResult(
            item_id=item_id,
            source=source,
            correct=bool(correct),
            duplicate=False,
            answer_index=answer_index,
            explanation=explanation,
            skills=tuple(
                SkillChange(s, befores.get(s, learner.p[s]), learner.p[s], learner.mastered(s))
                for s in dict.fromkeys(skills)
            ),
            level=learner.level(),
            achievements=tuple(new),
            evidence_ids=tuple(ids),
        )

    def _duplicate(
        self,
        user_id: int,
        course: str,
        existing: list[EvidenceRow],
        *,
        answer: dict[str, Any],
        answer_index: int | None,
        explanation: str,
        submission_id: str | None,
    ) -> AnswerResult:
        first = existing[0]
        if submission_id is not None and first.answer != answer:
            raise InvalidInputError(
                f"submission {submission_id!r} was already recorded with a different answer"
            )
        learner, _ = self.model.load(user_id, course)
        skills = [r.skill for r in existing]
        return AnswerResult(
            item_id=first.item_id,
            source=first.source,
            correct=first.correct,
            duplicate=True,
            answer_index=answer_index,
            explanation=explanation,
            skills=tuple(
                SkillChange(s, learner.p.get(s, 0.0), learner.p.get(s, 0.0), learner.mastered(s))
                for s in skills
            ),
            level=learner.level(),
            evidence_ids=tuple(r.id for r in existing),
        )

    def evidence(self, user_id: int, course: str) -> list[EvidenceRow]:
        """The learner's evidence log in the course, oldest first."""
        return self.store.evidence(user_id, course)
