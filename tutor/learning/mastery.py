"""Mastery: a learner's per-skill state in one course, folded from the evidence log.

- ``LearnerState`` holds one learner's mastery, counts and placement, and answers the
  questions every other part asks of it: mastered? known (mastered or credited by the
  placement)? which level? It starts from the priors (a finished placement's, else each
  skill's parameters') and folds evidence in with the BKT step of ``tutor.learning.bkt``
  (``observe``); the cohort analytics fold the same way (``tutor.learning.analytics``).
- **Level**: the highest level whose required skills (cumulative: Lv2 needs Lv1's too) all
  reach the course's mastery threshold. A finished placement sets a *floor*: the placed
  level is shown until mastery passes it, and the skills it credited count as known for
  prerequisites and recommendations while their mastery stays at least ``CREDIT_FLOOR``
  (evidence against them withdraws the credit).
- ``MasteryModel`` reads the state: the cache of ``tutor.learning.store`` plus a replay of
  the evidence it has not seen (``load``; ``recompute`` rebuilds it from the log alone), with
  ``params_for(skill)`` (fitted or default parameters) unless an instructor override is
  stored for the course; and gives the views of it (mastery, skill states, level progress,
  the chat answerer's context).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tutor.chat.answering import LearnerContext
from tutor.errors import InvalidInputError
from tutor.learning.bkt import DEFAULT_PARAMS, SkillParams, update
from tutor.learning.skill_map import SkillMap
from tutor.learning.store import CachedMastery, LearnerStore, OverrideRow
from tutor.learning.types import LevelProgress, SkillMastery, UnknownSkillError
from tutor.store import as_utc

CREDIT_FLOOR = 0.5


@dataclass
class LearnerState:
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

    @classmethod
    def start(
        cls,
        skill_map: SkillMap,
        params: Mapping[str, SkillParams],
        *,
        priors: Mapping[str, float],
        placed_state: int | None,
    ) -> LearnerState:
        """The state before any evidence: each skill at its prior (the placement's when it
        credited the skill, else the parameters')."""
        return cls(
            skill_map=skill_map,
            p={s: float(priors.get(s, params[s].prior)) for s in skill_map.skills},
            n=dict.fromkeys(skill_map.skills, 0),
            right=dict.fromkeys(skill_map.skills, 0),
            placed_state=placed_state,
            through_id=0,
        )

    def observe(self, skill: str, correct: bool, params: Mapping[str, SkillParams]) -> bool:
        """Fold one piece of evidence in (one BKT step); False, and nothing changes, for a
        skill since removed from the map (kept in the log, not shown)."""
        if skill not in self.p:
            return False
        self.p[skill] = update(self.p[skill], correct, params[skill])
        self.n[skill] += 1
        self.right[skill] += int(correct)
        return True

    def copy(self) -> LearnerState:
        return LearnerState(
            skill_map=self.skill_map,
            p=dict(self.p),
            n=dict(self.n),
            right=dict(self.right),
            placed_state=self.placed_state,
            through_id=self.through_id,
        )

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


def params_key(params: Mapping[str, SkillParams]) -> str:
    """A cheap fingerprint of the skill set and every parameter in use (repr of floats is
    exact): a cached state computed with other parameters is not used."""
    text = repr(
        [(s, p.prior, p.learn, p.guess, p.slip, p.forget) for s, p in sorted(params.items())]
    )
    return hashlib.sha256(text.encode()).hexdigest()


class MasteryModel:
    """Reads a learner's state and the parameters it is computed with (see the module
    docstring). ``skill_maps(course)`` gives the course's :class:`SkillMap`;
    ``params_for(skill)`` the BKT parameters (default: ``DEFAULT_PARAMS``)."""

    def __init__(
        self,
        store: LearnerStore,
        *,
        skill_maps: Callable[[str], SkillMap],
        params_for: Callable[[str], SkillParams] | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.skill_maps = skill_maps
        self.params_for = params_for or (lambda _skill: DEFAULT_PARAMS)
        self.clock = clock

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
        self.store.set_override(course, skill, params=values, by=by, at=as_utc(self.clock()))
        return checked

    def clear_param_override(self, course: str, skill: str) -> bool:
        return self.store.clear_override(course, skill)

    # --- state --------------------------------------------------------------------------
    def load(
        self, user_id: int, course: str, *, watch: Iterable[int] = ()
    ) -> tuple[LearnerState, dict[str, float]]:
        """The learner's state (cache + replay of newer evidence) and, for the evidence ids
        in ``watch``, each watched skill's mastery just before its first watched row."""
        skill_map = self.skill_maps(course)
        snap = self.store.snapshot(user_id, course)
        params = self.effective_params(course, overrides=snap.overrides)
        key = params_key(params)
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
        learner = LearnerState.start(skill_map, params, priors=priors, placed_state=placed_state)
        p, n, right = learner.p, learner.n, learner.right
        for s, (ps, ns, rs) in cached.items():
            if s in p:
                p[s], n[s], right[s] = float(ps), int(ns), int(rs)
        rows = snap.rows if usable or cache is None else self.store.evidence(user_id, course)
        befores: dict[str, float] = {}
        for r in rows:
            if r.id in watch and r.skill in p and r.skill not in befores:
                befores[r.skill] = p[r.skill]
            learner.observe(r.skill, r.correct, params)
        learner.through_id = rows[-1].id if rows else through
        if rows or not usable:
            state = {s: [round(p[s], 12), n[s], right[s]] for s in p if n[s]}
            self.store.save_cache(
                user_id,
                course,
                CachedMastery(learner.through_id, key, placement_id, state),
                now=as_utc(self.clock()),
            )
        return learner, befores

    def recompute(self, user_id: int, course: str) -> dict[str, float]:
        """Rebuild the learner's mastery from the evidence log alone."""
        self.store.drop_cache(course, user_id=user_id)
        return self.mastery(user_id, course)

    def recompute_course(self, course: str) -> None:
        """Drop every learner's cached state in the course (rebuilt on next read)."""
        self.store.drop_cache(course)

    # --- views --------------------------------------------------------------------------
    def mastery(self, user_id: int, course: str) -> dict[str, float]:
        learner, _ = self.load(user_id, course)
        return dict(learner.p)

    def skill_states(self, user_id: int, course: str) -> list[SkillMastery]:
        learner, _ = self.load(user_id, course)
        return skill_states(learner)

    def level(self, user_id: int, course: str) -> LevelProgress:
        learner, _ = self.load(user_id, course)
        return progress(learner)

    def context_and_level(self, user_id: int, course: str) -> tuple[LearnerContext, LevelProgress]:
        """``context_for`` and ``level`` from one load of the learner's state (a chat
        request needs both)."""
        learner, _ = self.load(user_id, course)
        return context(learner), progress(learner)

    def context_for(self, user_id: int, course: str) -> LearnerContext:
        """What the chat answerer adapts to: the level and the skills of the current and
        next level that are still to learn."""
        learner, _ = self.load(user_id, course)
        return context(learner)


def skill_states(learner: LearnerState) -> list[SkillMastery]:
    """Every skill's mastery, in topological order."""
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


def progress(learner: LearnerState) -> LevelProgress:
    """The level shown and how far the next one is."""
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


def context(learner: LearnerState) -> LearnerContext:
    """The level and the current and next level's skills still to learn."""
    level = learner.level()
    smap = learner.skill_map
    wanted = {*smap.levels.get(level, ()), *smap.levels.get(level + 1, ())}
    unmastered = tuple(s for s in smap.topological_order() if s in wanted and learner.open(s))
    return LearnerContext(level=level, unmastered=unmastered)
