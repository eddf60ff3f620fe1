"""Placement: a short adaptive quiz that finds where a new trainee starts.

A posterior over "has mastered the skills up to level s" for s = 0 (none yet) .. the top
level; an item of level d is answered right with ``KNOW`` if d <= s, else with about the
guessing rate. The first item is from Lv2; each next item comes from the level whose answer
is expected to leave the least uncertainty (entropy of the posterior). It stops when one
state holds ``confidence`` (0.85) of the posterior (after at least ``min_items``, 4), or
after ``max_items`` (12). The shown level is the most probable one (state 0 is shown as
Lv1); the result credits the skills of the levels <= the placed state with the prior
``placement_prior`` (0.9). Sessions are stored, so a trainee can resume, and answering an
item twice changes nothing.

``PlacementSession`` is the quiz itself (pure: it is stored as ``to_state()``);
``Placements`` starts, resumes and answers stored sessions, recording each answer as
``placement`` evidence (``EvidenceLog.record``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tutor.errors import InvalidInputError, NotFoundError
from tutor.learning.evidence import EvidenceLog, grade
from tutor.learning.mastery import MasteryModel
from tutor.learning.skill_map import SkillMap
from tutor.learning.store import LearnerStore, PlacementRow
from tutor.learning.types import PlacementView
from tutor.store import as_utc

PLACEMENT_PRIOR = 0.9


@dataclass(frozen=True)
class _PlacementAnswer:
    item_id: str
    level: int
    guess: float
    correct: bool


class PlacementSession:
    """An adaptive placement quiz (pure: the service stores ``to_state()``)."""

    KNOW = 0.85  # P(right | the item's level is within what the trainee has mastered)

    def __init__(
        self,
        *,
        skill_map: SkillMap,
        items: Sequence[Any],
        lang: str = "en",
        max_items: int = 12,
        min_items: int = 4,
        confidence: float = 0.85,
        start_level: int = 2,
        answers: Iterable[_PlacementAnswer] = (),
        current: str | None = None,
    ) -> None:
        self.skill_map = skill_map
        self.levels = skill_map.level_numbers() or [1]
        self.states = [0, *self.levels]
        self.lang = lang
        self.max_items = max_items
        self.min_items = min_items
        self.confidence = confidence
        self.start_level = start_level
        self._pool = [
            it
            for it in items
            if getattr(it, "answer_index", None) is not None and skill_map.item_skills(it)
        ]
        self._by_id = {it.id: it for it in self._pool}
        self._level = {it.id: skill_map.item_level(it) for it in self._pool}
        self.answers: list[_PlacementAnswer] = list(answers)
        self.current = current if current in self._by_id else None

    # --- state ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "max_items": self.max_items,
            "min_items": self.min_items,
            "confidence": self.confidence,
            "start_level": self.start_level,
            "answers": [[a.item_id, a.level, a.guess, a.correct] for a in self.answers],
            "current": self.current,
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], *, skill_map: SkillMap, items: Sequence[Any]
    ) -> PlacementSession:
        return cls(
            skill_map=skill_map,
            items=items,
            lang=state.get("lang", "en"),
            max_items=int(state.get("max_items", 12)),
            min_items=int(state.get("min_items", 4)),
            confidence=float(state.get("confidence", 0.85)),
            start_level=int(state.get("start_level", 2)),
            answers=[
                _PlacementAnswer(str(a[0]), int(a[1]), float(a[2]), bool(a[3]))
                for a in state.get("answers", [])
            ],
            current=state.get("current"),
        )

    # --- the model ----------------------------------------------------------------------
    @staticmethod
    def _likelihood(level: int, state: int, guess: float, correct: bool) -> float:
        p = PlacementSession.KNOW if level <= state else guess
        return p if correct else 1.0 - p

    def posterior(self) -> list[float]:
        """P(state) for ``self.states`` (uniform prior)."""
        weights = [1.0] * len(self.states)
        for a in self.answers:
            for i, s in enumerate(self.states):
                weights[i] *= self._likelihood(a.level, s, a.guess, a.correct)
        total = sum(weights)
        return [w / total for w in weights]

    def _merged(self, post: list[float]) -> dict[int, float]:
        """Level -> probability; state 0 (nothing mastered yet) is shown as the lowest level."""
        out = dict.fromkeys(self.levels, 0.0)
        for s, p in zip(self.states, post, strict=True):
            out[max(s, self.levels[0])] += p
        return out

    def level_probabilities(self) -> dict[int, float]:
        return self._merged(self.posterior())

    def _certainty(self) -> float:
        """The largest posterior mass on one state: on one *state*, not one shown level, so
        "nothing mastered yet" and "Lv1 mastered" (both shown as Lv1) are told apart too:
        the second earns the Lv1 skills their placement prior."""
        return max(self.posterior())

    def best(self) -> tuple[int, float]:
        probs = self.level_probabilities()
        level = max(probs, key=lambda lv: (probs[lv], -lv))
        return level, probs[level]

    @property
    def finished(self) -> bool:
        if len(self.answers) >= self.max_items:
            return True
        if len(self.answers) >= self.min_items and self._certainty() >= self.confidence:
            return True
        return self.current is None and not self._remaining()

    def result_state(self) -> int:
        """The placed state: 0 = nothing credited; s >= 1 = the skills of levels <= s."""
        level, _ = self.best()
        if level != self.levels[0]:
            return level
        post = self.posterior()
        return level if post[1] > post[0] else 0

    def result_level(self) -> int:
        return max(self.result_state(), self.levels[0])

    def answered(self, item_id: str) -> _PlacementAnswer | None:
        return next((a for a in self.answers if a.item_id == item_id), None)

    # --- asking -------------------------------------------------------------------------
    def current_item(self) -> Any | None:
        """The item to answer now (chosen on first call); None once finished."""
        if self.current is not None:
            return self._by_id[self.current]
        if self.finished:
            return None
        chosen = self._select()
        self.current = chosen.id if chosen is not None else None
        return chosen

    def answer(self, item_id: str, correct: bool) -> bool:
        """Record the answer to the current item; False if that item was answered already."""
        if self.answered(item_id) is not None:
            return False
        current = self.current_item()
        if current is None:
            raise InvalidInputError("the placement quiz is finished")
        if current.id != item_id:
            raise InvalidInputError(
                f"answer the current placement item {current.id!r}, not {item_id!r}"
            )
        self.answers.append(
            _PlacementAnswer(item_id, self._level[item_id], _guess(current), bool(correct))
        )
        self.current = None
        return True

    def _remaining(self) -> list[Any]:
        asked = {a.item_id for a in self.answers}
        return [it for it in self._pool if it.id not in asked]

    def _select(self) -> Any | None:
        remaining = self._remaining()
        if not remaining:
            return None
        skill_uses: dict[str, int] = {}
        for a in self.answers:
            for s in self.skill_map.item_skills(self._by_id.get(a.item_id)):
                skill_uses[s] = skill_uses.get(s, 0) + 1
        best_of_level: dict[int, Any] = {}
        order = {it.id: i for i, it in enumerate(self._pool)}
        for it in sorted(
            remaining,
            key=lambda it: (
                getattr(it, "lang", "en") != self.lang,
                sum(skill_uses.get(s, 0) for s in self.skill_map.item_skills(it)),
                order[it.id],
            ),
        ):
            best_of_level.setdefault(self._level[it.id], it)
        if not self.answers and self.start_level in best_of_level:
            return best_of_level[self.start_level]
        post = self.posterior()

        def expected_entropy(level: int) -> float:
            guess = _guess(best_of_level[level])
            p_right = sum(
                p * self._likelihood(level, s, guess, True)
                for s, p in zip(self.states, post, strict=True)
            )
            out = 0.0
            for correct, p_obs in ((True, p_right), (False, 1.0 - p_right)):
                if p_obs <= 0:
                    continue
                after = [
                    p * self._likelihood(level, s, guess, correct)
                    for s, p in zip(self.states, post, strict=True)
                ]
                total = sum(after)
                out += p_obs * _entropy(x / total for x in after)
            return out

        level = min(best_of_level, key=lambda lv: (round(expected_entropy(lv), 9), lv))
        return best_of_level[level]


def _guess(item: Any) -> float:
    options = getattr(item, "options", ()) or ()
    return min(0.5, 1.0 / len(options) + 0.05) if options else 0.3


def _entropy(probs: Iterable[float]) -> float:
    return -sum(p * math.log(p) for p in probs if p > 0)


def placement_priors(
    skill_map: SkillMap, state: int, *, prior: float = PLACEMENT_PRIOR
) -> dict[str, float]:
    """The prior of every skill the placement credits (those of levels <= ``state``)."""
    return {s: prior for s in skill_map.required_for(state)} if state > 0 else {}


class Placements:
    """Stored placement sessions of one course's learners. ``items(course)`` gives the
    course's quiz items; ``options`` the ``PlacementSession`` settings (``max_items``...)."""

    def __init__(
        self,
        store: LearnerStore,
        *,
        model: MasteryModel,
        evidence: EvidenceLog,
        items: Callable[[str], Sequence[Any]],
        clock: Callable[[], datetime],
        prior: float = PLACEMENT_PRIOR,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.evidence = evidence
        self.items = items
        self.clock = clock
        self.prior = prior
        self.options = dict(options or {})

    def session(self, course: str, row: PlacementRow) -> PlacementSession:
        return PlacementSession.from_state(
            row.state, skill_map=self.model.skill_maps(course), items=self.items(course)
        )

    @staticmethod
    def view(
        row: PlacementRow, session: PlacementSession, *, last: bool | None = None
    ) -> PlacementView:
        finished = row.status == "finished"
        best, _ = session.best()
        return PlacementView(
            session_id=row.id,
            status=row.status,
            item=None if row.status != "active" else session.current_item(),
            answered=len(session.answers),
            max_items=session.max_items,
            probabilities={lv: round(p, 4) for lv, p in session.level_probabilities().items()},
            level=row.result_level if finished and row.result_level else best,
            last_correct=last,
        )

    def start(
        self, user_id: int, course: str, *, lang: str = "en", restart: bool = False
    ) -> PlacementView:
        """Resume the learner's active placement quiz, or start one (``restart``: abandon
        the active one and start again)."""
        active = self.store.latest_placement(user_id, course, status="active")
        if active is not None and not restart:
            return self.view(active, self.session(course, active))
        now = as_utc(self.clock())
        if active is not None:
            self.store.abandon_placements(user_id, course, now=now)
        session = PlacementSession(
            skill_map=self.model.skill_maps(course),
            items=self.items(course),
            lang=lang,
            **self.options,
        )
        if session.current_item() is None:
            raise InvalidInputError(
                f"course {course!r} has no gradable quiz items to place trainees with"
            )
        session_id = uuid.uuid4().hex
        self.store.create_placement(
            session_id=session_id, user_id=user_id, course=course, state=session.to_state(), now=now
        )
        row = self.store.placement(session_id)
        assert row is not None
        return self.view(row, session)

    def status(self, user_id: int, course: str) -> PlacementView | None:
        """The active placement, else the latest finished one, else None."""
        row = self.store.latest_placement(
            user_id, course, status="active"
        ) or self.store.latest_placement(user_id, course, status="finished")
        return self.view(row, self.session(course, row)) if row else None

    def answer(
        self,
        user_id: int,
        course: str,
        *,
        session_id: str,
        item_id: str,
        chosen_index: int | None = None,
        correct: bool | None = None,
    ) -> PlacementView:
        """Answer the current placement item. Answering an item twice changes nothing."""
        row = self.store.placement(session_id)
        if row is None or row.user_id != user_id or row.course != course:
            raise NotFoundError(f"no placement session {session_id!r}")
        session = self.session(course, row)
        done = session.answered(item_id)
        if done is not None:
            return self.view(row, session, last=done.correct)
        if row.status != "active":
            raise InvalidInputError(f"placement session {session_id!r} is {row.status}")
        item = session.current_item()
        if item is None or item.id != item_id:
            expected = f"; the current item is {item.id!r}" if item is not None else ""
            raise InvalidInputError(f"{item_id!r} is not the item to answer now{expected}")
        ok, answer = grade(item, chosen_index, correct)
        self.evidence.record(
            user_id,
            course,
            item_id=item_id,
            skills=self.model.skill_maps(course).item_skills(item),
            correct=ok,
            answer=answer,
            source="placement",
            submission_id=session_id,
            answer_index=item.answer_index,
            explanation=getattr(item, "explanation", "") or "",
            review=False,
        )
        session.answer(item_id, ok)
        finished = session.finished
        if not finished:
            session.current_item()  # choose the next item now, so a resume shows the same one
        state = session.result_state() if finished else None
        saved = self.store.save_placement(
            session_id,
            version=row.version,
            state=session.to_state(),
            now=as_utc(self.clock()),
            finished=finished,
            result_state=state,
            result_level=session.result_level() if finished else None,
            priors=(
                placement_priors(self.model.skill_maps(course), state, prior=self.prior)
                if finished and state is not None
                else None
            ),
        )
        fresh = self.store.placement(session_id)
        assert fresh is not None
        if not saved:  # a concurrent answer won; show what is stored
            return self.view(fresh, self.session(course, fresh))
        return self.view(fresh, session, last=ok)
