"""Bayesian Knowledge Tracing: the probability that a trainee knows a skill, per observation.

Per skill four parameters (plus optional forgetting):

- ``prior``  P(L0): knows the skill before any evidence;
- ``learn``  P(T): learns it at an opportunity to practise;
- ``guess``  P(G): answers right without knowing it;
- ``slip``   P(S): answers wrong although knowing it;
- ``forget`` P(F): forgets between opportunities (0 in standard BKT).

``update`` is the online step used for every quiz answer and exercise result: Bayes on the
observation, then the learning/forgetting transition. It is pure arithmetic (well under
1 ms). Parameter fitting (pyBKT with pooled priors) lives beside it in
``tutor/learning/bkt_fit.py``.

:class:`LearnerModel` is the product's learner model: the same per-skill BKT, plus one number
per trainee learned online from answers on *every* skill (:class:`AbilityParams`): how far
the trainee's answers run above or below each skill's usual correct rate. It shifts that
trainee's prior on skills not yet started and their guess/slip, so evidence on loops says
something about comprehensions before the first comprehension answer. Mastery stays a
per-skill probability (``p_known``, compared with the 0.95 threshold); with zero ability
weights the model is exactly :func:`update`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

# Bounds keep a fitted or overridden model identifiable: guess and slip below 0.5 mean a
# right answer is evidence of knowing, never of not knowing.
MAX_GUESS = 0.45
MAX_SLIP = 0.45


@dataclass(frozen=True)
class SkillParams:
    prior: float = 0.2
    learn: float = 0.15
    guess: float = 0.2
    slip: float = 0.1
    forget: float = 0.0
    # where the values come from: "default" | "fitted" | "pooled" | "override"
    source: str = "default"

    def __post_init__(self) -> None:
        for name in ("prior", "learn", "guess", "slip", "forget"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if self.guess > MAX_GUESS or self.slip > MAX_SLIP:
            raise ValueError(
                f"guess and slip must be at most {MAX_GUESS}/{MAX_SLIP} "
                f"(got {self.guess}/{self.slip})"
            )


DEFAULT_PARAMS = SkillParams()


def predict_correct(p_known: float, params: SkillParams) -> float:
    """P(next answer right) given P(known)."""
    return p_known * (1.0 - params.slip) + (1.0 - p_known) * params.guess


def update(p_known: float, correct: bool, params: SkillParams) -> float:
    """P(known) after observing one answer and one practice opportunity."""
    if correct:
        right = p_known * (1.0 - params.slip)
        posterior = right / (right + (1.0 - p_known) * params.guess)
    else:
        wrong = p_known * params.slip
        posterior = wrong / (wrong + (1.0 - p_known) * (1.0 - params.guess))
    return posterior * (1.0 - params.forget) + (1.0 - posterior) * params.learn


@dataclass(frozen=True)
class AbilityParams:
    """How a trainee's answers on all skills shift their per-skill BKT parameters.

    ``ability`` = sum over the trainee's answers of ``correct - skill_rates[skill]``, divided
    by ``answers + strength`` (``strength`` pseudo-answers pull a newcomer to 0; the value lies
    in (-1, 1)). Then, in logit space, a skill's prior moves by ``prior_weight * ability``,
    guess by ``+answer_weight * ability`` and slip by ``-answer_weight * ability`` (guess and
    slip stay within ``MAX_GUESS``/``MAX_SLIP``). Zero weights give plain per-skill BKT.
    """

    prior_weight: float = 0.0
    answer_weight: float = 0.0
    strength: float = 5.0
    # P(correct) on a skill with no known rate
    base_rate: float = 0.66
    # skill -> the share of answers that were right in the fitting data
    skill_rates: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.strength <= 0:
            raise ValueError(f"strength must be positive, got {self.strength}")
        for name, rate in [("base_rate", self.base_rate), *self.skill_rates.items()]:
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate of {name!r} must lie in [0, 1], got {rate}")


NO_ABILITY = AbilityParams()

_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class LearnerModel:
    """Online mastery for many trainees: per-skill BKT plus a per-trainee ability offset.

    State is small and rebuildable: P(known) per (trainee, skill) and, per trainee, the
    answer count and the sum of ``correct - skill rate``. Replaying the evidence log through
    :meth:`observe` in order recomputes it exactly. Skills without fitted parameters use
    ``default`` (the pooled parameters of a fit, else :data:`DEFAULT_PARAMS`).
    """

    def __init__(
        self,
        params: Mapping[str, SkillParams],
        *,
        ability: AbilityParams = NO_ABILITY,
        default: SkillParams = DEFAULT_PARAMS,
    ) -> None:
        self._params = dict(params)
        self._default = default
        self._ability = ability
        self._logits: dict[str, tuple[float, float, float]] = {}
        self._known: dict[tuple[str, str], float] = {}
        self._answers: dict[str, int] = {}
        self._residual: dict[str, float] = {}

    def params(self, skill: str) -> SkillParams:
        """The skill's (population) parameters."""
        return self._params.get(skill, self._default)

    def ability(self, user: str) -> float:
        """The trainee's ability offset in (-1, 1); 0 before any answer."""
        return self._residual.get(user, 0.0) / (self._answers.get(user, 0) + self._ability.strength)

    def p_known(self, user: str, skill: str) -> float:
        """P(the trainee knows the skill) now: the mastery compared with the threshold."""
        known = self._known.get((user, skill))
        if known is not None:
            return known
        return self._start(skill, self.params(skill), self.ability(user))

    def predict(self, user: str, skill: str) -> float:
        """P(the trainee's next answer on the skill is right), before seeing it."""
        params = self.params(skill)
        theta = self.ability(user)
        known = self._known.get((user, skill))
        if known is None:
            known = self._start(skill, params, theta)
        guess, slip = self._emissions(skill, params, theta)
        return known * (1.0 - slip) + (1.0 - known) * guess

    def observe(self, user: str, skill: str, correct: bool) -> float:
        """Record one answer; returns the trainee's new P(known) for the skill."""
        params = self.params(skill)
        theta = self.ability(user)
        key = (user, skill)
        known = self._known.get(key)
        if known is None:
            known = self._start(skill, params, theta)
        guess, slip = self._emissions(skill, params, theta)
        if correct:
            right = known * (1.0 - slip)
            posterior = right / (right + (1.0 - known) * guess)
        else:
            wrong = known * slip
            posterior = wrong / (wrong + (1.0 - known) * (1.0 - guess))
        known = posterior * (1.0 - params.forget) + (1.0 - posterior) * params.learn
        self._known[key] = known
        rate = self._ability.skill_rates.get(skill, self._ability.base_rate)
        self._answers[user] = self._answers.get(user, 0) + 1
        self._residual[user] = self._residual.get(user, 0.0) + (float(bool(correct)) - rate)
        return known

    def _skill_logits(self, skill: str, params: SkillParams) -> tuple[float, float, float]:
        cached = self._logits.get(skill)
        if cached is None:
            cached = (_logit(params.prior), _logit(params.guess), _logit(params.slip))
            self._logits[skill] = cached
        return cached

    def _start(self, skill: str, params: SkillParams, theta: float) -> float:
        if not self._ability.prior_weight or not theta:
            return params.prior
        prior_logit = self._skill_logits(skill, params)[0]
        return _sigmoid(prior_logit + self._ability.prior_weight * theta)

    def _emissions(self, skill: str, params: SkillParams, theta: float) -> tuple[float, float]:
        if not self._ability.answer_weight or not theta:
            return params.guess, params.slip
        _, guess_logit, slip_logit = self._skill_logits(skill, params)
        shift = self._ability.answer_weight * theta
        return (
            min(_sigmoid(guess_logit + shift), MAX_GUESS),
            min(_sigmoid(slip_logit - shift), MAX_SLIP),
        )
