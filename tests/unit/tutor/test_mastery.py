"""The learner model: BKT update maths, LearnerModel, fitting with pooled priors, params file."""

from __future__ import annotations

import json
import logging
import random
import time

import pytest

from tutor.errors import InvalidInputError
from tutor.learning.bkt import (
    DEFAULT_PARAMS,
    MAX_GUESS,
    MAX_SLIP,
    AbilityParams,
    LearnerModel,
    SkillParams,
    predict_correct,
    update,
)
from tutor.learning.bkt_fit import (
    MAX_FORGET,
    LearnerFit,
    _shrink,
    fit_ability,
    fit_params,
    load_fit,
    load_params,
    save_params,
)

P = SkillParams(prior=0.2, learn=0.15, guess=0.2, slip=0.1)


# --- the online step -----------------------------------------------------------------------


def test_predict_correct_by_hand() -> None:
    # 0.5 * (1 - 0.1) + 0.5 * 0.2
    assert predict_correct(0.5, P) == pytest.approx(0.55)
    assert predict_correct(0.0, P) == pytest.approx(P.guess)
    assert predict_correct(1.0, P) == pytest.approx(1 - P.slip)


def test_update_by_hand() -> None:
    # right: 0.45 / (0.45 + 0.5 * 0.2) = 9/11; then + (2/11) * 0.15
    assert update(0.5, True, P) == pytest.approx(9 / 11 + 2 / 11 * 0.15)
    # wrong: 0.05 / (0.05 + 0.5 * 0.8) = 1/9; then + (8/9) * 0.15
    assert update(0.5, False, P) == pytest.approx(1 / 9 + 8 / 9 * 0.15)
    forgetful = SkillParams(prior=0.2, learn=0.15, guess=0.2, slip=0.1, forget=0.1)
    assert update(0.5, True, forgetful) == pytest.approx(9 / 11 * 0.9 + 2 / 11 * 0.15)


@pytest.mark.parametrize("p_known", [0.01, 0.2, 0.5, 0.8, 0.94])
def test_right_answers_raise_and_wrong_ones_lower(p_known: float) -> None:
    no_learning = SkillParams(prior=0.2, learn=0.0, guess=0.2, slip=0.1)
    assert update(p_known, True, no_learning) > p_known
    assert update(p_known, False, no_learning) < p_known
    assert update(p_known, True, P) > update(p_known, False, P)


def test_skill_params_reject_out_of_range_values() -> None:
    with pytest.raises(ValueError, match="guess and slip"):
        SkillParams(guess=0.5)
    with pytest.raises(ValueError, match="prior"):
        SkillParams(prior=1.5)


# --- LearnerModel --------------------------------------------------------------------------


def test_learner_model_without_ability_is_plain_bkt() -> None:
    model = LearnerModel({"loops": P})
    p = P.prior
    for correct in [True, False, True, True]:
        assert model.predict("kim", "loops") == pytest.approx(predict_correct(p, P))
        p = update(p, correct, P)
        assert model.observe("kim", "loops", correct) == pytest.approx(p)
    assert model.p_known("kim", "loops") == pytest.approx(p)
    assert model.p_known("lee", "loops") == P.prior  # other trainees are untouched
    assert model.p_known("kim", "unknown-skill") == DEFAULT_PARAMS.prior


def test_ability_carries_evidence_across_skills() -> None:
    ability = AbilityParams(
        prior_weight=6.0, answer_weight=2.0, skill_rates={"loops": 0.5, "lists": 0.5}
    )
    model = LearnerModel({"loops": P, "lists": P}, ability=ability)
    for _ in range(10):
        model.observe("strong", "loops", True)
        model.observe("weak", "loops", False)
    assert model.ability("strong") > 0 > model.ability("weak")
    # neither has answered anything on lists yet
    assert model.p_known("strong", "lists") > P.prior > model.p_known("weak", "lists")
    assert model.predict("strong", "lists") > model.predict("weak", "lists")
    # mastery is still a probability and guess/slip stay clamped
    for user in ("strong", "weak"):
        assert 0.0 < model.p_known(user, "lists") < 1.0
        assert 0.0 < model.predict(user, "lists") < 1.0


def test_observe_is_well_under_a_millisecond() -> None:
    ability = AbilityParams(prior_weight=4.0, answer_weight=2.0, skill_rates={"s0": 0.6})
    model = LearnerModel({f"s{i}": P for i in range(50)}, ability=ability)
    rng = random.Random(0)
    rows = [
        (f"u{rng.randrange(30)}", f"s{rng.randrange(50)}", rng.random() < 0.6)
        for _ in range(20_000)
    ]
    started = time.perf_counter()
    for user, skill, correct in rows:
        model.observe(user, skill, correct)
    mean_ms = (time.perf_counter() - started) * 1000 / len(rows)
    assert mean_ms < 0.2, mean_ms


# --- fitting -------------------------------------------------------------------------------


def _simulate(params: dict[str, SkillParams], *, users: int, answers: int, seed: int) -> list:
    """Observations drawn from BKT with the given parameters."""
    rng = random.Random(seed)
    out = []
    order = 0
    for u in range(users):
        for skill, p in params.items():
            known = rng.random() < p.prior
            for _ in range(answers):
                correct = rng.random() < ((1 - p.slip) if known else p.guess)
                order += 1
                out.append((f"u{u:03d}", skill, int(correct), order))
                if not known and rng.random() < p.learn:
                    known = True
    return out


def test_fit_recovers_parameters_roughly() -> None:
    true = SkillParams(prior=0.3, learn=0.2, guess=0.15, slip=0.1)
    rows = _simulate({"loops": true}, users=120, answers=6, seed=1)
    fitted = fit_params(rows, min_observations=30, prior_strength=0.0, max_pooled_rows=2000)
    p = fitted["loops"]
    assert p.source == "fitted"
    assert abs(p.guess - true.guess) < 0.1
    assert abs(p.slip - true.slip) < 0.1
    assert abs(p.prior - true.prior) < 0.2


def test_skill_with_too_little_data_falls_back_to_pooled_with_a_warning(caplog) -> None:
    true = SkillParams(prior=0.3, learn=0.2, guess=0.15, slip=0.1)
    rows = _simulate({"loops": true}, users=50, answers=5, seed=2)
    rows += [("u000", "recursion", 1, 10_000), ("u001", "recursion", 0, 10_001)]
    with caplog.at_level(logging.WARNING, logger="kdt.tutor.mastery"):
        fitted = fit_params(rows, min_observations=30, max_pooled_rows=2000)
    assert fitted["loops"].source == "fitted"
    assert fitted["recursion"].source == "pooled"
    assert "recursion" in caplog.text and "pooled" in caplog.text


def test_tiny_data_uses_the_defaults_with_a_warning(caplog) -> None:
    rows = [("u1", "loops", 1, 1), ("u1", "loops", 0, 2), ("u2", "loops", 1, 3)]
    with caplog.at_level(logging.WARNING, logger="kdt.tutor.mastery"):
        fitted = fit_params(rows, min_observations=30)
    assert fitted["loops"].source == "default"
    assert fitted["loops"].prior == DEFAULT_PARAMS.prior
    assert "fewer than 30" in caplog.text


def test_fitted_params_are_clamped() -> None:
    # answers right 70% of the time whatever the learner knows: an unidentifiable skill
    rng = random.Random(3)
    rows = [
        (f"u{u}", "noisy", int(rng.random() < 0.7), u * 10 + i) for u in range(60) for i in range(5)
    ]
    p = fit_params(rows, min_observations=30, prior_strength=0.0, max_pooled_rows=2000)["noisy"]
    assert p.guess <= MAX_GUESS and p.slip <= MAX_SLIP


def test_shrinkage_weights_by_data_size() -> None:
    pooled = SkillParams(prior=0.5, learn=0.1, guess=0.2, slip=0.1, forget=0.02)
    own = {"prior": 0.9, "learn": 0.3, "guess": 0.9, "slip": 0.01, "forget": 0.0}
    full = _shrink(own, pooled, 1.0, forgets=True)
    assert full.prior == pytest.approx(0.9) and full.learn == pytest.approx(0.3)
    assert full.guess == MAX_GUESS  # clamped
    assert 0 < full.forget < 1e-3  # kept off exactly 0 only by the logit floor
    none = _shrink(own, pooled, 0.0, forgets=True)
    assert none.prior == pytest.approx(0.5) and none.guess == pytest.approx(0.2)
    half = _shrink(own, pooled, 0.5, forgets=False)
    assert 0.5 < half.prior < 0.9 and half.forget == 0.0 and half.source == "fitted"


def test_forgetting_is_capped_so_mastery_stays_reachable() -> None:
    pooled = SkillParams(prior=0.5, learn=0.1, guess=0.2, slip=0.1, forget=0.02)
    own = {"prior": 0.3, "learn": 0.2, "guess": 0.2, "slip": 0.1, "forget": 0.3}
    p = _shrink(own, pooled, 1.0, forgets=True)
    assert p.forget == MAX_FORGET
    model = LearnerModel({"loops": p})
    for _ in range(30):
        mastery = model.observe("kim", "loops", True)
    assert mastery >= 0.95


def test_bad_observations_raise() -> None:
    with pytest.raises(InvalidInputError, match="correct must be 0 or 1"):
        fit_params([("u1", "loops", 2, 1)])
    with pytest.raises(InvalidInputError, match="observation 1"):
        fit_params([("u1", "loops")])  # type: ignore[list-item]


def test_fit_ability_finds_a_positive_offset_when_ability_is_real() -> None:
    # two kinds of trainee: strong ones know every skill from the start, weak ones none
    p = SkillParams(prior=0.5, learn=0.05, guess=0.2, slip=0.1)
    rng = random.Random(4)
    rows = []
    for u in range(80):
        strong = u % 2 == 0
        for skill in ("a", "b", "c", "d"):
            known = strong
            for _ in range(4):
                right = rng.random() < ((1 - p.slip) if known else p.guess)
                rows.append((f"u{u}", skill, int(right)))
    ability = fit_ability(rows, {s: p for s in "abcd"}, max_rows=10_000)
    assert ability.prior_weight > 0
    assert set(ability.skill_rates) == set("abcd")


# --- the params file -----------------------------------------------------------------------


def test_params_file_round_trip(tmp_path) -> None:
    fit = LearnerFit(
        params={"loops": P, "리스트": SkillParams(prior=0.4, source="pooled")},
        pooled=SkillParams(prior=0.6, source="pooled"),
        ability=AbilityParams(prior_weight=4.0, answer_weight=1.5, skill_rates={"loops": 0.7}),
        meta={"fit_s": 1.5},
    )
    path = save_params(tmp_path / "fits" / "params.json", fit)
    assert load_fit(path) == fit
    assert load_params(path) == fit.params
    assert [p.name for p in path.parent.iterdir()] == ["params.json"]  # no temp file left
    # bare params too
    save_params(path, {"loops": P}, meta={"note": "x"})
    again = load_fit(path)
    assert again.params == {"loops": P} and again.meta == {"note": "x"}
    model = again.model()
    assert model.p_known("kim", "loops") == P.prior


def test_bad_params_file_is_invalid_input(tmp_path) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"format": 1, "params": {"loops": {"prior": 2}}}))
    with pytest.raises(InvalidInputError, match="not a learner-model params file"):
        load_params(path)
    path.write_text("{not json")
    with pytest.raises(InvalidInputError):
        load_params(path)
