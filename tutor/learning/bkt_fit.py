"""Fitting the learner model from logged answers: pyBKT per skill, pooled priors, ability.

``fit_params`` turns observations ``(user, skill, correct, order)`` into
``{skill: SkillParams}``:

1. **Pooled fit**: one BKT fitted with pyBKT on every skill's sequences at once (each
   (user, skill) pair is a sequence; at most ``max_pooled_rows`` rows, a seeded sample of
   sequences; EM started from the defaults, with forgetting 0.05 when fitted, since EM
   cannot move a transition that starts at 0). These are the priors every skill is pulled
   toward. With fewer than ``min_observations`` answers in total,
   :data:`~tutor.learning.bkt.DEFAULT_PARAMS` stand in.
2. **Per skill**: skills with at least ``min_observations`` answers are fitted with pyBKT,
   EM started from the pooled parameters (one start: the pooled values are a better start
   than pyBKT's random ones, and five random starts cost five times as much).
3. **Shrinkage** (empirical-Bayes style): in logit space each parameter becomes
   ``w * skill + (1 - w) * pooled`` with ``w = users / (users + prior_strength)``, where
   ``users`` is the number of trainees who answered the skill. A cohort of 25 trainees gets a
   third of its own estimate; a skill seen by 2,000 gets all of it. ``prior_strength=50`` was
   chosen on assist2009 subsamples of 30, 60, 100 and 300 trainees and the full data (per-skill
   pyBKT alone loses about 0.08 AUC to the pooled parameters at 30 trainees).
4. **Clamping**: guess and slip at most ``MAX_GUESS``/``MAX_SLIP``; forgetting at most
   ``MAX_FORGET``; probabilities kept in [1e-4, 1 - 1e-4] so an update never divides by zero.
   Forgetting caps mastery: after any number of right answers P(known) stays below about
   ``1 - forget``, so a skill fitted with forget 0.08 (pyBKT finds such values on
   assist2009) could never reach the 0.95 threshold. At 0.02 the ceiling is about 0.98;
   the cap cost 0.002 AUC on assist2009.

Skills below ``min_observations`` get the pooled parameters (``source="pooled"``) and a
logged warning naming them. ``fit_learner`` adds the per-trainee ability weights of
:class:`~tutor.learning.bkt.LearnerModel` (two numbers, chosen by the likelihood of the model's
own predict-then-update replay on the fitting data). ``save_params``/``load_fit`` keep a fit
as JSON (atomic write) so the CLI and the benchmark reuse it.

pandas and pyBKT are imported inside the fitting functions: the online model does not need
them.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tutor.atomic_write import write_atomically
from tutor.errors import InvalidInputError
from tutor.learning.bkt import (
    DEFAULT_PARAMS,
    MAX_GUESS,
    MAX_SLIP,
    NO_ABILITY,
    AbilityParams,
    LearnerModel,
    SkillParams,
)

log = logging.getLogger("kdt.tutor.mastery")

# (user, skill, correct, order): order sorts one user's answers (time or a sequence number)
Observation = tuple[str, str, bool | int, int | float]

FIT_FORMAT = 1
# mastery after many right answers tends to about 1 - forget: keep that above 0.95 with room
MAX_FORGET = 0.02
_LOW, _HIGH = 1e-4, 1.0 - 1e-4
_NAMES = ("prior", "learn", "guess", "slip", "forget")
_POOLED_SKILL = "__pooled__"


@dataclass(frozen=True)
class LearnerFit:
    """What ``fit_learner`` produces and ``save_params``/``load_fit`` keep."""

    params: dict[str, SkillParams]
    pooled: SkillParams = DEFAULT_PARAMS
    ability: AbilityParams = NO_ABILITY
    meta: dict[str, Any] = field(default_factory=dict)

    def model(self) -> LearnerModel:
        """A fresh online model with these parameters (no trainee state yet)."""
        return LearnerModel(self.params, ability=self.ability, default=self.pooled)


def fit_params(
    observations: Iterable[Observation],
    *,
    min_observations: int = 30,
    prior_strength: float = 50.0,
    forgets: bool = True,
    seed: int = 0,
    max_pooled_rows: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, SkillParams]:
    """Per-skill BKT parameters, shrunk toward pooled ones; see the module docstring."""
    params, _pooled, _stats = _fit_bkt(
        _frame(observations),
        min_observations=min_observations,
        prior_strength=prior_strength,
        forgets=forgets,
        seed=seed,
        max_pooled_rows=max_pooled_rows,
        progress=progress,
    )
    return params


def fit_learner(
    observations: Iterable[Observation],
    *,
    min_observations: int = 30,
    prior_strength: float = 50.0,
    forgets: bool = True,
    ability: bool = True,
    seed: int = 0,
    max_pooled_rows: int = 20_000,
    max_ability_rows: int = 60_000,
    progress: Callable[[str], None] | None = None,
) -> LearnerFit:
    """Everything :class:`LearnerModel` needs: per-skill params, pooled params, ability."""
    started = time.perf_counter()
    frame = _frame(observations)
    params, pooled, stats = _fit_bkt(
        frame,
        min_observations=min_observations,
        prior_strength=prior_strength,
        forgets=forgets,
        seed=seed,
        max_pooled_rows=max_pooled_rows,
        progress=progress,
    )
    weights = NO_ABILITY
    if ability:
        say = progress or (lambda _msg: None)
        say("fitting per-trainee ability weights")
        rows = list(
            frame.sort_values(["user_id", "order_id"], kind="mergesort")[
                ["user_id", "skill_name", "correct"]
            ].itertuples(index=False, name=None)
        )
        weights = fit_ability(rows, params, pooled=pooled, max_rows=max_ability_rows, seed=seed)
    meta = {
        **stats,
        "min_observations": min_observations,
        "prior_strength": prior_strength,
        "forgets": forgets,
        "seed": seed,
        "fit_s": round(time.perf_counter() - started, 3),
    }
    return LearnerFit(params=params, pooled=pooled, ability=weights, meta=meta)


# --- ability -------------------------------------------------------------------------------

_PRIOR_GRID = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)
_ANSWER_GRID = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)


def fit_ability(
    rows: Iterable[tuple[str, str, bool | int]],
    params: Mapping[str, SkillParams],
    *,
    pooled: SkillParams = DEFAULT_PARAMS,
    strength: float = 5.0,
    max_rows: int = 60_000,
    seed: int = 0,
) -> AbilityParams:
    """Ability weights maximising the log-likelihood of the model's own replay.

    ``rows`` are ``(user, skill, correct)`` in answer order per user. Skill rates come from
    all rows (smoothed toward the overall rate by 5 pseudo-answers); the weights are chosen on
    a seeded sample of whole users of at most ``max_rows`` rows, on a coarse grid, then a
    finer one around the best point. With fewer than 2 users the weights stay 0.
    """
    rows = [(str(u), str(s), int(bool(c))) for u, s, c in rows]
    if not rows:
        return NO_ABILITY
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_user: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for row in rows:
        total = totals[row[1]]
        total[0] += row[2]
        total[1] += 1
        by_user[row[0]].append(row)
    base = sum(c for _u, _s, c in rows) / len(rows)
    rates = {s: (right + 5.0 * base) / (n + 5.0) for s, (right, n) in totals.items()}
    template = AbilityParams(strength=strength, base_rate=base, skill_rates=rates)
    if len(by_user) < 2:
        return template
    users = sorted(by_user)
    random.Random(seed).shuffle(users)
    sample: list[tuple[str, str, int]] = []
    for user in users:
        if sample and len(sample) + len(by_user[user]) > max_rows:
            continue
        sample.extend(by_user[user])

    def score(prior_weight: float, answer_weight: float) -> float:
        weights = replace(template, prior_weight=prior_weight, answer_weight=answer_weight)
        return replay_log_likelihood(sample, params, ability=weights, default=pooled)

    best = max(
        ((score(pw, aw), pw, aw) for pw in _PRIOR_GRID for aw in _ANSWER_GRID),
        key=lambda t: t[0],
    )
    _, pw0, aw0 = best
    for pw in (pw0 - 1.0, pw0, pw0 + 1.0):
        for aw in (aw0 - 0.5, aw0, aw0 + 0.5):
            if pw >= 0 and aw >= 0 and (pw, aw) != (pw0, aw0):
                best = max(best, (score(pw, aw), pw, aw), key=lambda t: t[0])
    return replace(template, prior_weight=best[1], answer_weight=best[2])


def replay_log_likelihood(
    rows: Iterable[tuple[str, str, int]],
    params: Mapping[str, SkillParams],
    *,
    ability: AbilityParams = NO_ABILITY,
    default: SkillParams = DEFAULT_PARAMS,
) -> float:
    """Mean log-likelihood of predict-then-observe over ``rows`` (in answer order)."""
    model = LearnerModel(params, ability=ability, default=default)
    total = 0.0
    count = 0
    for user, skill, correct in rows:
        p = min(max(model.predict(user, skill), 1e-6), 1.0 - 1e-6)
        total += math.log(p if correct else 1.0 - p)
        model.observe(user, skill, bool(correct))
        count += 1
    return total / max(count, 1)


# --- BKT with pyBKT ------------------------------------------------------------------------


def _frame(observations: Iterable[Observation]) -> Any:
    """Observations as the DataFrame pyBKT reads; bad values raise InvalidInputError."""
    import pandas as pd

    users, skills, corrects, orders = [], [], [], []
    for n, obs in enumerate(observations, start=1):
        try:
            user, skill, correct, order = obs
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"observation {n}: expected (user, skill, correct, order), got {obs!r}"
            ) from exc
        if correct not in (0, 1, True, False):
            raise InvalidInputError(f"observation {n}: correct must be 0 or 1, got {correct!r}")
        if not str(user) or not str(skill):
            raise InvalidInputError(f"observation {n}: empty user or skill")
        users.append(str(user))
        skills.append(str(skill))
        corrects.append(int(correct))
        orders.append(order)
    frame = pd.DataFrame(
        {"user_id": users, "skill_name": skills, "correct": corrects, "order_id": orders}
    )
    # pyBKT sorts by order_id, then (stably) by user: a dense rank keeps ties in given order
    frame["order_id"] = frame["order_id"].rank(method="first").astype("int64")
    return frame


def _fit_bkt(
    frame: Any,
    *,
    min_observations: int,
    prior_strength: float,
    forgets: bool,
    seed: int,
    max_pooled_rows: int,
    progress: Callable[[str], None] | None,
) -> tuple[dict[str, SkillParams], SkillParams, dict[str, Any]]:
    say = progress or (lambda _msg: None)
    if min_observations < 1:
        raise InvalidInputError(f"min_observations must be at least 1, got {min_observations}")
    if prior_strength < 0:
        raise InvalidInputError(f"prior_strength must be >= 0, got {prior_strength}")
    counts = frame.groupby("skill_name").size().to_dict() if len(frame) else {}
    users = frame.groupby("skill_name")["user_id"].nunique().to_dict() if len(frame) else {}
    started = time.perf_counter()
    if len(frame) >= min_observations:
        say(f"pooled fit on {min(len(frame), max_pooled_rows)} of {len(frame)} answers")
        pooled = _pooled_fit(frame, forgets=forgets, seed=seed, max_rows=max_pooled_rows)
    else:
        pooled = DEFAULT_PARAMS
        log.warning(
            "only %d answers in total (fewer than %d): the pooled parameters are the defaults",
            len(frame),
            min_observations,
        )
    pooled_s = time.perf_counter() - started
    enough = sorted(s for s, n in counts.items() if n >= min_observations)
    scarce = sorted(s for s, n in counts.items() if n < min_observations)
    params: dict[str, SkillParams] = {}
    if enough:
        answers = int(sum(counts[s] for s in enough))
        say(f"per-skill fits of {len(enough)} skills ({answers} answers)")
        raw = _skill_fits(frame, enough, start=pooled, forgets=forgets, seed=seed)
        for skill in enough:
            values = raw.get(skill)
            if values is None:
                scarce.append(skill)
                continue
            weight = users[skill] / (users[skill] + prior_strength) if prior_strength else 1.0
            params[skill] = _shrink(values, pooled, weight, forgets=forgets)
    if scarce:
        shown = ", ".join(scarce[:10]) + (
            f" and {len(scarce) - 10} more" if len(scarce) > 10 else ""
        )
        log.warning(
            "%d skill(s) have fewer than %d answers (or no usable fit); "
            "using the pooled parameters: %s",
            len(scarce),
            min_observations,
            shown,
        )
        pooled_source = "pooled" if pooled.source != "default" else "default"
        for skill in scarce:
            params[skill] = replace(pooled, source=pooled_source)
    stats = {
        "answers": len(frame),
        "users": int(frame["user_id"].nunique()) if len(frame) else 0,
        "skills": len(counts),
        "fitted_skills": sum(1 for p in params.values() if p.source == "fitted"),
        "pooled_skills": sorted(scarce),
        "pooled_fit_s": round(pooled_s, 3),
        "skill_fit_s": round(time.perf_counter() - started - pooled_s, 3),
    }
    return dict(sorted(params.items())), pooled, stats


def _pooled_fit(frame: Any, *, forgets: bool, seed: int, max_rows: int) -> SkillParams:
    pooled = frame.assign(
        user_id=frame["user_id"] + "\x1f" + frame["skill_name"], skill_name=_POOLED_SKILL
    )
    if len(pooled) > max_rows:
        sizes = pooled.groupby("user_id").size()
        keys = list(sizes.index)
        random.Random(seed).shuffle(keys)
        chosen, total = [], 0
        for key in keys:
            if total and total + sizes[key] > max_rows:
                continue
            chosen.append(key)
            total += int(sizes[key])
        pooled = pooled[pooled["user_id"].isin(set(chosen))]
    start = replace(DEFAULT_PARAMS, forget=0.05 if forgets else 0.0)
    raw = _run_pybkt(pooled, [_POOLED_SKILL], start=start, forgets=forgets, seed=seed, num_fits=1)
    values = raw.get(_POOLED_SKILL)
    if values is None:
        log.warning("the pooled fit failed; using the default parameters as priors")
        return DEFAULT_PARAMS
    return _clamped(values, source="pooled", forgets=forgets)


def _skill_fits(
    frame: Any, skills: list[str], *, start: SkillParams, forgets: bool, seed: int
) -> dict[str, dict[str, float]]:
    data = frame[frame["skill_name"].isin(set(skills))]
    return _run_pybkt(data, skills, start=start, forgets=forgets, seed=seed, num_fits=1)


def _run_pybkt(
    data: Any,
    skills: list[str],
    *,
    start: SkillParams | None,
    forgets: bool,
    seed: int,
    num_fits: int,
) -> dict[str, dict[str, float]]:
    """pyBKT's fit of ``skills`` in ``data``; skills whose values are not finite are left out.

    Skill names go to pyBKT as a regular expression, so they are escaped (a name such as
    ``Order of Operations +,-,/,* ()`` would otherwise match nothing).
    """
    import numpy as np
    from pyBKT.models import Model

    model = Model(seed=seed, num_fits=num_fits, parallel=False)
    if start is not None:
        model.coef_ = {
            skill: {
                "prior": float(start.prior),
                "learns": np.array([start.learn]),
                "guesses": np.array([start.guess]),
                "slips": np.array([start.slip]),
                "forgets": np.array([start.forget if forgets else 0.0]),
            }
            for skill in skills
        }
    model.fit(data=data.copy(), skills=[re.escape(s) for s in skills], forgets=forgets)
    out: dict[str, dict[str, float]] = {}
    for skill, coef in model.coef_.items():
        if skill not in skills or "learns" not in coef:
            continue
        values = {
            "prior": float(coef["prior"]),
            "learn": float(coef["learns"][0]),
            "guess": float(coef["guesses"][0]),
            "slip": float(coef["slips"][0]),
            "forget": float(coef["forgets"][0]) if forgets else 0.0,
        }
        if all(math.isfinite(v) for v in values.values()):
            out[skill] = values
    return out


def _clamped(values: Mapping[str, float], *, source: str, forgets: bool) -> SkillParams:
    def clip(v: float, high: float = _HIGH) -> float:
        return min(max(v, _LOW), high)

    return SkillParams(
        prior=clip(values["prior"]),
        learn=clip(values["learn"]),
        guess=clip(values["guess"], MAX_GUESS),
        slip=clip(values["slip"], MAX_SLIP),
        forget=min(max(values["forget"], 0.0), MAX_FORGET) if forgets else 0.0,
        source=source,
    )


def _logit(p: float) -> float:
    p = min(max(p, _LOW), _HIGH)
    return math.log(p / (1.0 - p))


def _shrink(
    values: Mapping[str, float], pooled: SkillParams, weight: float, *, forgets: bool
) -> SkillParams:
    """``weight`` of the skill's own estimate, the rest pooled, in logit space; clamped."""
    mixed = {}
    for name in _NAMES:
        own, prior = values[name], getattr(pooled, name)
        if name == "forget" and not forgets:
            mixed[name] = 0.0
            continue
        logit = weight * _logit(own) + (1.0 - weight) * _logit(prior)
        mixed[name] = 1.0 / (1.0 + math.exp(-logit))
    return _clamped(mixed, source="fitted", forgets=forgets)


# --- the params file -----------------------------------------------------------------------


def save_params(
    path: Path | str,
    params: Mapping[str, SkillParams] | LearnerFit,
    *,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write a fit (or bare per-skill params) as JSON, atomically; returns the path."""
    fit = (
        params
        if isinstance(params, LearnerFit)
        else LearnerFit(params=dict(params), meta=dict(meta or {}))
    )
    if meta is not None and isinstance(params, LearnerFit):
        fit = replace(fit, meta={**fit.meta, **meta})
    ability = asdict(fit.ability)
    ability["skill_rates"] = dict(sorted(fit.ability.skill_rates.items()))
    doc = {
        "format": FIT_FORMAT,
        "params": {skill: asdict(p) for skill, p in sorted(fit.params.items())},
        "pooled": asdict(fit.pooled),
        "ability": ability,
        "meta": fit.meta,
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)
    return path


def load_fit(path: Path | str) -> LearnerFit:
    """Read a file written by :func:`save_params`; a bad file raises InvalidInputError."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != FIT_FORMAT:
            raise ValueError(f"unsupported format {doc.get('format')!r}")
        params = {str(s): SkillParams(**p) for s, p in doc["params"].items()}
        pooled = SkillParams(**doc.get("pooled") or asdict(DEFAULT_PARAMS))
        ability = AbilityParams(**(doc.get("ability") or {}))
        meta = dict(doc.get("meta") or {})
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInputError(f"{path}: not a learner-model params file ({exc})") from exc
    return LearnerFit(params=params, pooled=pooled, ability=ability, meta=meta)


def load_params(path: Path | str) -> dict[str, SkillParams]:
    """The per-skill parameters of a file written by :func:`save_params`."""
    return load_fit(path).params
