"""Bayesian Knowledge Tracing: the probability that a trainee knows a skill, per observation.

Per skill four parameters (plus optional forgetting):

- ``prior``  P(L0): knows the skill before any evidence;
- ``learn``  P(T): learns it at an opportunity to practise;
- ``guess``  P(G): answers right without knowing it;
- ``slip``   P(S): answers wrong although knowing it;
- ``forget`` P(F): forgets between opportunities (0 in standard BKT).

``update`` is the online step used for every quiz answer and exercise result: Bayes on the
observation, then the learning/forgetting transition. It is pure arithmetic (well under
1 ms). Parameter fitting (pyBKT with pooled priors) lives beside it; see ``fit_*``.
"""

from __future__ import annotations

from dataclasses import dataclass

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
