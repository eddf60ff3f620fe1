"""The learner model as a service: evidence in; mastery, level and what to do next out.

- **Evidence** (``record_answer``, ``record_exercise_result``) is appended to the log in
  ``tutor.learning.store`` (one row per skill of the item; idempotent per submission) and
  folded into per-skill mastery with the BKT step of ``tutor.learning.bkt`` (``update``), using
  ``params_for(skill)`` (fitted or default parameters) unless an instructor override is
  stored for the course. The per-learner state is a cache of the log (``recompute``
  rebuilds it; a reader replays whatever the cache has not seen yet).
- **Level**: the highest level whose required skills (cumulative: Lv2 needs Lv1's too) all
  reach the course's mastery threshold. A finished placement sets a *floor*: the placed
  level is shown until mastery passes it, and the skills it credited count as known for
  prerequisites and recommendations while their mastery stays at least ``CREDIT_FLOOR``
  (evidence against them withdraws the credit). Achievements are recorded (once) when
  mastery, not placement, reaches a level.
- **What next**: practice items (``next_items``), the next lesson with a one-line reason in
  English and Korean (``next_lesson``), and FSRS reviews (``due_reviews``): every quiz
  item answered as ``quiz`` or ``review`` has a card (right = Good, wrong = Again);
  placement answers and exercise results do not.
- **Placement** (``PlacementSession``): a short adaptive quiz. A posterior over "has
  mastered the skills up to level s" for s = 0 (none yet) .. the top level; an item of
  level d is answered right with ``KNOW`` if d <= s, else with about the guessing rate.
  The first item is from Lv2; each next item comes from the level whose answer is expected
  to leave the least uncertainty (entropy of the posterior). It stops when one state holds
  ``confidence`` (0.85) of the posterior (after at least ``min_items``, 4), or after
  ``max_items`` (12). The shown level is the most probable one (state 0 is shown as Lv1);
  the result credits the skills of the levels <= the placed state with the prior
  ``placement_prior`` (0.9). Sessions are stored, so a trainee can resume, and answering
  an item twice changes nothing.

``clock`` returns the current aware UTC time (tests pass a fake one).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fsrs import Card, Rating, Scheduler
from sqlalchemy import Engine

from tutor.answering import LearnerContext
from tutor.errors import InvalidInputError, NotFoundError
from tutor.learning.bkt import DEFAULT_PARAMS, SkillParams, update
from tutor.learning.skill_map import QuizItem, SkillMap
from tutor.learning.store import (
    SOURCES,
    CachedMastery,
    EvidenceRow,
    LearnerStore,
    OverrideRow,
    PlacementRow,
)

PLACEMENT_PRIOR = 0.9
CREDIT_FLOOR = 0.5
MAX_DETAILS_CHARS = 20_000


class UnknownSkillError(InvalidInputError):
    """Evidence names a skill the course's skill map does not have."""

    code = "unknown_skill"


# ------------------------------------------------------------------------ domain types


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


# ------------------------------------------------------------------------ learner state


@dataclass
class _Learner:
    """One learner's state in one course (all skills of the map)."""

    skill_map: SkillMap
    p: dict[str, float]
    n: dict[str, int]
    right: dict[str, int]
    placed_state: int | None
    through_id: int
    level_of: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.level_of = {s: lv for lv, skills in self.skill_map.levels.items() for s in skills}

    @property
    def threshold(self) -> float:
        return self.skill_map.mastery_threshold

    def mastered(self, skill: str) -> bool:
        return self.p.get(skill, 0.0) >= self.threshold

    def credited(self, skill: str) -> bool:
        lv = self.level_of.get(skill)
        return (
            self.placed_state is not None
            and lv is not None
            and lv <= self.placed_state
            and self.p.get(skill, 0.0) >= CREDIT_FLOOR
        )

    def known(self, skill: str) -> bool:
        return self.mastered(skill) or self.credited(skill)

    def mastery_level(self) -> int:
        reached = 0
        for lv in self.skill_map.level_numbers():
            if all(self.mastered(s) for s in self.skill_map.levels[lv]):
                reached = lv
            else:
                break
        return reached

    def placed_level(self) -> int | None:
        if self.placed_state is None:
            return None
        return max(self.placed_state, self._lowest_level())

    def _lowest_level(self) -> int:
        return min(self.skill_map.levels, default=1)

    def level(self) -> int:
        return max(self.mastery_level(), self.placed_level() or 0, self._lowest_level(), 1)

    def open(self, skill: str) -> bool:
        """Still to learn: neither mastered nor credited by the placement."""
        return not self.known(skill)


# --------------------------------------------------------------------------- placement


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


# ------------------------------------------------------------------------------ wording


def _final_consonant(word: str) -> bool | None:
    """Whether the word, read in Korean, ends in a consonant (None: cannot tell)."""
    for ch in reversed(word.strip()):
        if "가" <= ch <= "힣":
            return (ord(ch) - 0xAC00) % 28 != 0
        if ch.isdigit():
            return ch in "013678"  # 영, 일, 삼, 육, 칠, 팔
        if ch.isalpha():
            return None
    return None


def _josa(word: str, after_consonant: str, after_vowel: str) -> str:
    final = _final_consonant(word)
    if final is None:
        return f"{after_consonant}({after_vowel})"
    return after_consonant if final else after_vowel


def _join_en(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    # "Variables and assignment, and Data types and conversion": a serial comma when a name
    # holds an "and" itself.
    last = ", and " if any(" and " in name for name in names) else " and "
    return ", ".join(names[:-1]) + last + names[-1]


def _join_ko(names: list[str]) -> str:
    return ", ".join(names)


def _reasons(
    skill_map: SkillMap,
    *,
    lesson_title: str,
    lesson_title_ko: str,
    prerequisites: list[str],
    all_mastered: bool,
    targets: list[str],
    ready: bool,
) -> tuple[str, str]:
    title_ko = f"'{lesson_title_ko}'"
    if ready and prerequisites:
        en_names = [skill_map.name(s) for s in prerequisites]
        ko_names = [skill_map.name(s, "ko") for s in prerequisites]
        verb = "have mastered" if all_mastered else "already know"
        pronoun = "it" if len(en_names) == 1 else "them"
        en = f"You {verb} {_join_en(en_names)}; {lesson_title} builds on {pronoun}."
        ko_verb = "익혔으니" if all_mastered else "이미 알고 있으니"
        ko = (
            f"{_join_ko(ko_names)}{_josa(ko_names[-1], '을', '를')} {ko_verb}, "
            f"이를 바탕으로 하는 {title_ko}{_josa(lesson_title_ko, '을', '를')} 공부해 보세요."
        )
        return en, ko
    if ready:
        en = f"{lesson_title} needs no earlier lesson: a good place to start."
        ko = f"{title_ko}{_josa(lesson_title_ko, '은', '는')} 선수 학습 없이 시작할 수 있습니다."
        return en, ko
    en_names = [skill_map.name(s) for s in targets]
    ko_names = [skill_map.name(s, "ko") for s in targets]
    en = f"{lesson_title} teaches {_join_en(en_names)}, which you have not mastered yet."
    ko = (
        f"{title_ko}에서 아직 익히지 못한 {_join_ko(ko_names)}"
        f"{_josa(ko_names[-1], '을', '를')} 다룹니다."
    )
    return en, ko


# ----------------------------------------------------------------------------- service


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _card_id(course: str, item_id: str) -> int:
    return int(hashlib.sha256(f"{course}\0{item_id}".encode()).hexdigest()[:12], 16)


class LearnerService:
    """Evidence, mastery, levels, achievements, recommendations, reviews and placement.

    ``skill_maps(course)`` and ``items(course)`` give the course's :class:`SkillMap` and quiz
    items (the composition root caches them); ``params_for(skill)`` the BKT parameters
    (default: ``tutor.learning.bkt.DEFAULT_PARAMS``). A course id that ``skill_maps`` does not
    know should raise ``NotFoundError``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        skill_maps: Callable[[str], SkillMap],
        items: Callable[[str], Sequence[Any]],
        params_for: Callable[[str], SkillParams] | None = None,
        clock: Callable[[], datetime] | None = None,
        scheduler: Scheduler | None = None,
        placement_prior: float = PLACEMENT_PRIOR,
        placement_options: dict[str, Any] | None = None,
    ) -> None:
        self.store = LearnerStore(engine)
        self.skill_maps = skill_maps
        self.items = items
        self.params_for = params_for or (lambda _skill: DEFAULT_PARAMS)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.scheduler = scheduler or Scheduler()
        self.placement_prior = placement_prior
        self.placement_options = dict(placement_options or {})

    def _now(self) -> datetime:
        return _utc(self.clock())

    # --- course content -----------------------------------------------------------------
    def _item(self, course: str, item_id: str) -> Any:
        for item in self.items(course):
            if item.id == item_id:
                return item
        raise NotFoundError(f"no quiz item {item_id!r} in course {course!r}")

    def _item_index(self, course: str) -> dict[str, Any]:
        return {item.id: item for item in self.items(course)}

    # --- parameters ---------------------------------------------------------------------
    def effective_params(
        self, course: str, *, overrides: dict[str, OverrideRow] | None = None
    ) -> dict[str, SkillParams]:
        """skill -> the parameters in use: an instructor override, else ``params_for``."""
        skill_map = self.skill_maps(course)
        if overrides is None:
            overrides = self.store.overrides(course)
        out: dict[str, SkillParams] = {}
        for skill in skill_map.skills:
            o = overrides.get(skill)
            out[skill] = SkillParams(**o.params, source="override") if o else self.params_for(skill)
        return out

    def set_param_override(
        self, course: str, skill: str, *, params: SkillParams | dict[str, float], by: str
    ) -> SkillParams:
        """Store an instructor's parameters for a skill (mastery is recomputed on next read)."""
        if skill not in self.skill_maps(course).skills:
            raise UnknownSkillError(f"skill {skill!r} is not in course {course!r}")
        raw = dict(params.__dict__) if isinstance(params, SkillParams) else dict(params)
        raw.pop("source", None)
        try:
            checked = SkillParams(**raw, source="override")
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"invalid parameters for {skill!r}: {exc}") from exc
        values = {k: v for k, v in checked.__dict__.items() if k != "source"}
        self.store.set_override(course, skill, params=values, by=by, at=self._now())
        return checked

    def clear_param_override(self, course: str, skill: str) -> bool:
        return self.store.clear_override(course, skill)

    # --- state --------------------------------------------------------------------------
    def _load(
        self, user_id: int, course: str, *, watch: Iterable[int] = ()
    ) -> tuple[_Learner, dict[str, float]]:
        """The learner's state (cache + replay of newer evidence) and, for the evidence ids
        in ``watch``, each watched skill's mastery just before its first watched row."""
        skill_map = self.skill_maps(course)
        snap = self.store.snapshot(user_id, course)
        params = self.effective_params(course, overrides=snap.overrides)
        # Cheap fingerprint of the skill set and every parameter in use (repr of floats is exact).
        key = hashlib.sha256(
            repr(
                [
                    (s, p.prior, p.learn, p.guess, p.slip, p.forget)
                    for s, p in sorted(params.items())
                ]
            ).encode()
        ).hexdigest()
        placement_id, placed_state, priors = snap.placement or ("", None, {})
        watch = set(watch)
        cache = snap.cache
        usable = (
            cache is not None
            and cache.params_key == key
            and cache.placement_id == placement_id
            and (not watch or cache.through_id < min(watch))
        )
        through = cache.through_id if usable else 0
        cached = cache.state if usable else {}
        p = {s: float(priors.get(s, params[s].prior)) for s in skill_map.skills}
        n = dict.fromkeys(skill_map.skills, 0)
        right = dict.fromkeys(skill_map.skills, 0)
        for s, (ps, ns, rs) in cached.items():
            if s in p:
                p[s], n[s], right[s] = float(ps), int(ns), int(rs)
        rows = snap.rows if usable or cache is None else self.store.evidence(user_id, course)
        befores: dict[str, float] = {}
        for r in rows:
            if r.skill not in p:
                continue  # a skill since removed from the map: kept in the log, not shown
            if r.id in watch and r.skill not in befores:
                befores[r.skill] = p[r.skill]
            p[r.skill] = update(p[r.skill], r.correct, params[r.skill])
            n[r.skill] += 1
            right[r.skill] += int(r.correct)
        learner = _Learner(
            skill_map=skill_map,
            p=p,
            n=n,
            right=right,
            placed_state=placed_state,
            through_id=rows[-1].id if rows else through,
        )
        if rows or not usable:
            state = {s: [round(p[s], 12), n[s], right[s]] for s in p if n[s]}
            self.store.save_cache(
                user_id,
                course,
                CachedMastery(learner.through_id, key, placement_id, state),
                now=self._now(),
            )
        return learner, befores

    def recompute(self, user_id: int, course: str) -> dict[str, float]:
        """Rebuild the learner's mastery from the evidence log alone."""
        self.store.drop_cache(course, user_id=user_id)
        return self.mastery(user_id, course)

    def recompute_course(self, course: str) -> None:
        """Drop every learner's cached state in the course (rebuilt on next read)."""
        self.store.drop_cache(course)

    def mastery(self, user_id: int, course: str) -> dict[str, float]:
        learner, _ = self._load(user_id, course)
        return dict(learner.p)

    def skill_states(self, user_id: int, course: str) -> list[SkillMastery]:
        learner, _ = self._load(user_id, course)
        return self._skill_states(learner)

    @staticmethod
    def _skill_states(learner: _Learner) -> list[SkillMastery]:
        smap = learner.skill_map
        out = []
        for s in smap.topological_order():
            skill = smap.skills[s]
            out.append(
                SkillMastery(
                    skill=s,
                    name=skill.name,
                    name_ko=skill.name_ko,
                    level=learner.level_of.get(s, skill.level),
                    mastery=learner.p[s],
                    observations=learner.n[s],
                    correct=learner.right[s],
                    mastered=learner.mastered(s),
                    credited=learner.credited(s) and not learner.mastered(s),
                )
            )
        return out

    def level(self, user_id: int, course: str) -> LevelProgress:
        learner, _ = self._load(user_id, course)
        return self._progress(learner)

    @staticmethod
    def _progress(learner: _Learner) -> LevelProgress:
        smap = learner.skill_map
        level = learner.level()
        higher = [lv for lv in smap.level_numbers() if lv > level]
        next_level = higher[0] if higher else None
        next_skills = smap.levels.get(next_level, ()) if next_level else ()
        mastered = tuple(s for s in next_skills if learner.mastered(s))
        blocking = (
            tuple(
                s
                for lv in smap.level_numbers()
                if lv < next_level
                for s in smap.levels[lv]
                if not learner.mastered(s)
            )
            if next_level
            else ()
        )
        return LevelProgress(
            level=level,
            mastery_level=learner.mastery_level(),
            placed_level=learner.placed_level(),
            next_level=next_level,
            next_skills=tuple(next_skills),
            next_mastered=mastered,
            share_mastered=len(mastered) / len(next_skills) if next_skills else 1.0,
            mean_mastery=(
                sum(learner.p[s] for s in next_skills) / len(next_skills) if next_skills else 1.0
            ),
            blocking=blocking,
            threshold=learner.threshold,
        )

    def context_and_level(self, user_id: int, course: str) -> tuple[LearnerContext, LevelProgress]:
        """``context_for`` and ``level`` from one load of the learner's state (a chat
        request needs both)."""
        learner, _ = self._load(user_id, course)
        return self._context(learner), self._progress(learner)

    def context_for(self, user_id: int, course: str) -> LearnerContext:
        """What the chat answerer adapts to: the level and the skills of the current and
        next level that are still to learn."""
        learner, _ = self._load(user_id, course)
        return self._context(learner)

    @staticmethod
    def _context(learner: _Learner) -> LearnerContext:
        level = learner.level()
        smap = learner.skill_map
        wanted = {*smap.levels.get(level, ()), *smap.levels.get(level + 1, ())}
        unmastered = tuple(s for s in smap.topological_order() if s in wanted and learner.open(s))
        return LearnerContext(level=level, unmastered=unmastered)

    # --- evidence -----------------------------------------------------------------------
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
        ok, answer = _grade(item, chosen_index, correct)
        return self._record(
            user_id,
            course,
            item_id=item_id,
            skills=self.skill_maps(course).item_skills(item),
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
        skill_map = self.skill_maps(course)
        exercise = skill_map.exercise(exercise_id)
        if exercise is None:
            raise NotFoundError(f"no exercise {exercise_id!r} in course {course!r}")
        answer: dict[str, Any] = {"passed": bool(passed)}
        if details:
            text = json.dumps(details, ensure_ascii=False, default=str)
            answer["details"] = (
                json.loads(text) if len(text) <= MAX_DETAILS_CHARS else text[:MAX_DETAILS_CHARS]
            )
        return self._record(
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

    def _record(
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
        skill_map = self.skill_maps(course)
        if not skills:
            raise InvalidInputError(f"{item_id!r} names no skill: nothing to record")
        unknown = [s for s in skills if s not in skill_map.skills]
        if unknown:
            raise UnknownSkillError(
                f"{item_id!r} names skills that course {course!r} does not define: "
                f"{', '.join(unknown)}; nothing was recorded"
            )
        now = self._now()
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
        learner, befores = self._load(user_id, course, watch=ids)
        if review:
            self._review(user_id, course, item_id, correct=correct, now=now)
        new = self._check_achievements(user_id, course, learner, now=now)
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
        learner, _ = self._load(user_id, course)
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

    # --- achievements -------------------------------------------------------------------
    def achievements(self, user_id: int, course: str) -> list[Achievement]:
        return [
            Achievement(a.level, a.achieved_at, a.summary)
            for a in self.store.achievements(user_id, course)
        ]

    def _check_achievements(
        self, user_id: int, course: str, learner: _Learner, *, now: datetime
    ) -> list[Achievement]:
        reached = learner.mastery_level()
        if reached <= 0:
            return []
        have = {a.level for a in self.store.achievements(user_id, course)}
        smap = learner.skill_map
        new: list[Achievement] = []
        for lv in smap.level_numbers():
            if lv > reached:
                break
            if lv in have:
                continue
            required = smap.required_for(lv)
            summary = {
                "answers": sum(learner.n.values()),
                "correct": sum(learner.right.values()),
                "by_source": self.store.source_counts(user_id, course),
                "skills": {s: round(learner.p[s], 4) for s in smap.levels[lv]},
                "required_skills": len(required),
                "mean_mastery": round(sum(learner.p[s] for s in required) / len(required), 4)
                if required
                else 1.0,
                "through_evidence_id": learner.through_id,
            }
            if self.store.add_achievement(user_id, course, level=lv, at=now, summary=summary):
                new.append(Achievement(lv, now, summary))
        return new

    # --- what next ----------------------------------------------------------------------
    def next_items(
        self, user_id: int, course: str, *, n: int = 5, lang: str | None = None
    ) -> list[PracticeItem]:
        """Practice items for skills that are ready (prerequisites known) and not mastered,
        the skill closest to the threshold first, one item per skill in turn."""
        learner, _ = self._load(user_id, course)
        return self._next_items(learner, user_id, course, n=n, lang=lang)

    def _next_items(
        self, learner: _Learner, user_id: int, course: str, *, n: int, lang: str | None
    ) -> list[PracticeItem]:
        smap = learner.skill_map
        topo = {s: i for i, s in enumerate(smap.topological_order())}
        ready = [
            s
            for s in topo
            if not learner.mastered(s) and all(learner.known(q) for q in smap.prerequisites[s])
        ]
        ready.sort(key=lambda s: (learner.threshold - learner.p[s], topo[s]))
        if not ready or n <= 0:
            return []
        answered = self.store.answered_items(user_id, course)
        order = {}
        by_skill: dict[str, list[Any]] = {s: [] for s in ready}
        for i, item in enumerate(self.items(course)):
            if getattr(item, "answer_index", None) is None:
                continue
            order[item.id] = i
            for s in smap.item_skills(item):
                if s in by_skill:
                    by_skill[s].append(item)
        for items in by_skill.values():
            items.sort(
                key=lambda it: (
                    lang is not None and getattr(it, "lang", "en") != lang,
                    it.id in answered,
                    answered.get(it.id, 0),
                    order[it.id],
                )
            )
        queues = {s: list(items) for s, items in by_skill.items() if items}
        chosen: list[PracticeItem] = []
        taken: set[str] = set()
        while len(chosen) < n and queues:
            for s in [s for s in ready if s in queues]:
                queue = queues[s]
                while queue and queue[0].id in taken:
                    queue.pop(0)
                if not queue:
                    del queues[s]
                    continue
                item = queue.pop(0)
                taken.add(item.id)
                chosen.append(PracticeItem(item=item, skill=s, mastery=learner.p[s]))
                if len(chosen) >= n:
                    break
        return chosen

    def next_lesson(
        self, user_id: int, course: str, *, lang: str = "en"
    ) -> LessonRecommendation | None:
        """The first lesson (course order) that teaches a skill still to learn and whose
        prerequisites are known, with a one-line reason; None when all is mastered."""
        learner, _ = self._load(user_id, course)
        return self._next_lesson(learner, lang=lang)

    @staticmethod
    def _next_lesson(learner: _Learner, *, lang: str) -> LessonRecommendation | None:
        smap = learner.skill_map
        fallback = None
        for lesson in smap.lessons:
            targets = [s for s in lesson.skills if learner.open(s)]
            if not targets:
                continue
            pres = list(lesson.prerequisites) or sorted(
                {q for s in targets for q in smap.prerequisites[s]} - set(lesson.skills)
            )
            needed = set(pres) | {
                q for s in targets for q in smap.prerequisites[s] if q not in lesson.skills
            }
            ready = all(learner.known(q) for q in needed)
            if not ready:
                fallback = fallback or (lesson, targets, pres)
                continue
            return LearnerService._recommend(learner, lesson, targets, pres, ready=True, lang=lang)
        if fallback is None:
            return None
        lesson, targets, pres = fallback
        return LearnerService._recommend(learner, lesson, targets, pres, ready=False, lang=lang)

    @staticmethod
    def _recommend(
        learner: _Learner, lesson, targets: list[str], pres: list[str], *, ready: bool, lang: str
    ) -> LessonRecommendation:
        en, ko = _reasons(
            learner.skill_map,
            lesson_title=lesson.title,
            lesson_title_ko=lesson.title_ko,
            prerequisites=pres,
            all_mastered=all(learner.mastered(q) for q in pres),
            targets=targets,
            ready=ready,
        )
        return LessonRecommendation(
            lesson_id=lesson.id,
            title=lesson.title,
            title_ko=lesson.title_ko,
            skills=tuple(targets),
            reason=ko if lang == "ko" else en,
            reason_en=en,
            reason_ko=ko,
            ready=ready,
        )

    # --- reviews (FSRS) -----------------------------------------------------------------
    def _review(
        self, user_id: int, course: str, item_id: str, *, correct: bool, now: datetime
    ) -> None:
        row = self.store.card(user_id, course, item_id)
        card = (
            Card.from_dict(row.card)
            if row is not None
            else Card(card_id=_card_id(course, item_id), due=now)
        )
        card, _log = self.scheduler.review_card(
            card, Rating.Good if correct else Rating.Again, review_datetime=now
        )
        self.store.save_card(user_id, course, item_id, card=card.to_dict(), due=_utc(card.due))

    def due_reviews(
        self, user_id: int, course: str, *, now: datetime | None = None, limit: int = 20
    ) -> list[DueReview]:
        """Answered items whose FSRS review is due, the most overdue first."""
        now = _utc(now) if now is not None else self._now()
        index = self._item_index(course)
        return [
            DueReview(item=index[c.item_id], due=c.due, reviews=c.reviews)
            for c in self.store.due_cards(user_id, course, now=now, limit=limit * 2)
            if c.item_id in index
        ][:limit]

    # --- placement ----------------------------------------------------------------------
    def _session(self, course: str, row: PlacementRow) -> PlacementSession:
        return PlacementSession.from_state(
            row.state, skill_map=self.skill_maps(course), items=self.items(course)
        )

    @staticmethod
    def _placement_view(
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

    def start_placement(
        self, user_id: int, course: str, *, lang: str = "en", restart: bool = False
    ) -> PlacementView:
        """Resume the learner's active placement quiz, or start one (``restart``: abandon
        the active one and start again)."""
        active = self.store.latest_placement(user_id, course, status="active")
        if active is not None and not restart:
            return self._placement_view(active, self._session(course, active))
        now = self._now()
        if active is not None:
            self.store.abandon_placements(user_id, course, now=now)
        session = PlacementSession(
            skill_map=self.skill_maps(course),
            items=self.items(course),
            lang=lang,
            **self.placement_options,
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
        return self._placement_view(row, session)

    def placement_status(self, user_id: int, course: str) -> PlacementView | None:
        """The active placement, else the latest finished one, else None."""
        row = self.store.latest_placement(
            user_id, course, status="active"
        ) or self.store.latest_placement(user_id, course, status="finished")
        return self._placement_view(row, self._session(course, row)) if row else None

    def answer_placement(
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
        session = self._session(course, row)
        done = session.answered(item_id)
        if done is not None:
            return self._placement_view(row, session, last=done.correct)
        if row.status != "active":
            raise InvalidInputError(f"placement session {session_id!r} is {row.status}")
        item = session.current_item()
        if item is None or item.id != item_id:
            expected = f"; the current item is {item.id!r}" if item is not None else ""
            raise InvalidInputError(f"{item_id!r} is not the item to answer now{expected}")
        ok, answer = _grade(item, chosen_index, correct)
        self._record(
            user_id,
            course,
            item_id=item_id,
            skills=self.skill_maps(course).item_skills(item),
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
            now=self._now(),
            finished=finished,
            result_state=state,
            result_level=session.result_level() if finished else None,
            priors=(
                placement_priors(self.skill_maps(course), state, prior=self.placement_prior)
                if finished and state is not None
                else None
            ),
        )
        fresh = self.store.placement(session_id)
        assert fresh is not None
        if not saved:  # a concurrent answer won; show what is stored
            return self._placement_view(fresh, self._session(course, fresh))
        return self._placement_view(fresh, session, last=ok)

    # --- dashboard ----------------------------------------------------------------------
    def dashboard(
        self,
        user_id: int,
        course: str,
        *,
        now: datetime | None = None,
        lang: str = "en",
        practice: int = 5,
    ) -> LearnerSummary:
        """Level and progress, mastery per skill, achievements, due reviews, the next
        lesson, practice items and the placement status, from one state read."""
        learner, _ = self._load(user_id, course)
        return LearnerSummary(
            course=course,
            level=self._progress(learner),
            skills=tuple(self._skill_states(learner)),
            achievements=tuple(self.achievements(user_id, course)),
            due_reviews=tuple(self.due_reviews(user_id, course, now=now)),
            next_lesson=self._next_lesson(learner, lang=lang),
            practice=tuple(self._next_items(learner, user_id, course, n=practice, lang=lang)),
            placement=self.placement_status(user_id, course),
        )


def _grade(item: Any, chosen_index: int | None, correct: bool | None) -> tuple[bool, dict]:
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


__all__ = [
    "Achievement",
    "AnswerResult",
    "DueReview",
    "LearnerService",
    "LearnerSummary",
    "LessonRecommendation",
    "LevelProgress",
    "PlacementSession",
    "PlacementView",
    "PracticeItem",
    "QuizItem",
    "SkillChange",
    "SkillMastery",
    "UnknownSkillError",
    "placement_priors",
]
