"""The knowledge-tracing benchmark on tiny synthetic CSVs drawn from known BKT parameters."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from eval.kt import (
    COLUMNS,
    adjacent_agreement,
    auc,
    format_kt,
    predict_online,
    pybkt_predictions,
    read_kt_csv,
    run_kt_benchmark,
    sample_skills,
)
from knowledge.errors import InvalidInputError
from tutor.learning.bkt import LearnerModel, SkillParams, predict_correct, update

SKILLS = {
    "loops": SkillParams(prior=0.2, learn=0.3, guess=0.15, slip=0.1),
    "lists": SkillParams(prior=0.6, learn=0.2, guess=0.25, slip=0.05),
    "Order of Operations +,-,/,* ()": SkillParams(prior=0.1, learn=0.25, guess=0.2, slip=0.1),
}


def _simulate(*, train: int, test: int, answers: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    order = 0
    users = [f"train_{i:03d}" for i in range(train)] + [f"test_{i:03d}" for i in range(test)]
    for user in users:
        for skill, p in SKILLS.items():
            known = rng.random() < p.prior
            for _ in range(answers):
                order += 1
                right = rng.random() < ((1 - p.slip) if known else p.guess)
                rows.append((user, skill, int(right), order))
                known = known or rng.random() < p.learn
    return rows


def _write(path: Path, rows, header=COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_ours_beats_per_skill_mean_and_reuses_its_cached_fit(tmp_path) -> None:
    path = _write(tmp_path / "kt.csv", _simulate(train=40, test=30, answers=6, seed=0))
    cache = tmp_path / "cache"
    models = ("ours", "per-skill-mean")
    result = run_kt_benchmark(path, cache_dir=cache, models=models)
    ours, mean = result["models"]["ours"], result["models"]["per-skill-mean"]
    assert set(ours) == {"auc", "rmse", "fit_s", "update_ms"}
    assert ours["auc"] > mean["auc"] + 0.05
    assert ours["rmse"] < mean["rmse"]
    assert ours["update_ms"] < 1.0
    data = result["data"]
    assert data["train_rows"] == 40 * 3 * 6 and data["test_rows"] == 30 * 3 * 6
    assert data["skills"] == 3 and data["users"] == 70 and data["bad_rows"] == 0
    assert result["cache"]["ours"] == "miss"

    again = run_kt_benchmark(path, cache_dir=cache, models=models)
    assert again["cache"]["ours"] == "hit"
    assert again["models"]["ours"]["auc"] == ours["auc"]
    assert again["models"]["ours"]["fit_s"] == ours["fit_s"]
    table = format_kt(again)
    assert "ours" in table and "per-skill-mean" in table and "cached fit" in table


def test_pybkt_runs_end_to_end_on_an_escaped_skill_name(tmp_path) -> None:
    rows = _simulate(train=40, test=20, answers=6, seed=1)
    rows = [r for r in rows if r[1].startswith("Order")]
    result = run_kt_benchmark(_write(tmp_path / "kt.csv", rows), models=("pybkt",))
    scores = result["models"]["pybkt"]
    # a regex-unsafe name still gets real predictions (not pyBKT's 0.5 placeholder)
    assert scores["auc"] > 0.6
    assert set(scores) == {"auc", "rmse", "fit_s", "update_ms"}


def test_bad_rows_are_reported_with_line_numbers_and_skipped(tmp_path) -> None:
    path = tmp_path / "kt.csv"
    path.write_text(
        "user_id,skill_name,correct,order_id\n"  # line 1
        "train_1,loops,1,1\n"  # 2
        "train_1,loops,yes,2\n"  # 3: bad correct
        "train_1,loops,0\n"  # 4: missing field
        "\n"  # 5: blank, ignored
        "train_1,,1,5\n"  # 6: empty skill
        "test_1,loops,1,x7\n"  # 7: bad order
        "test_1,loops,0,8\n"  # 8
        "teacher_1,loops,1,9\n"  # 9: neither train_ nor test_
        "train_1,loops,1,1\n",  # 10: exact duplicate of line 2, kept and counted
        encoding="utf-8",
    )
    data = read_kt_csv(path)
    assert data.bad_rows == 4
    assert data.problems[0].startswith("line 3: correct must be 0 or 1")
    assert data.problems[1].startswith("line 4: 3 field(s)")
    assert data.problems[2] == "line 6: empty skill_name"
    assert data.problems[3].startswith("line 7: order_id must be an integer")
    assert data.other_users == 1
    assert data.exact_duplicates == 1 and data.repeated_user_order == 1
    assert len(data.rows) == 3
    result = run_kt_benchmark(path, models=("per-skill-mean",))
    assert result["data"]["bad_rows"] == 4 and result["data"]["duplicates_removed"] == 0
    assert "line 3" in result["problems"][0]


def test_missing_column_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "kt.csv"
    path.write_text("user_id,skill,correct\ntrain_1,loops,1\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="missing column.*skill_name, order_id"):
        run_kt_benchmark(path)


def test_no_test_users_is_a_clear_error(tmp_path) -> None:
    path = _write(tmp_path / "kt.csv", [("train_1", "loops", 1, 1)])
    with pytest.raises(InvalidInputError, match="test"):
        run_kt_benchmark(path, models=("per-skill-mean",))


def test_rows_are_scored_in_order_id_order_per_user(tmp_path) -> None:
    rows = [("test_1", "loops", 1, 3), ("train_1", "loops", 0, 2), ("test_1", "loops", 0, 1)]
    data = read_kt_csv(_write(tmp_path / "kt.csv", rows))
    assert data.rows == [
        ("test_1", "loops", 0, 1),
        ("test_1", "loops", 1, 3),
        ("train_1", "loops", 0, 2),
    ]


# --- each prediction is made before its answer is seen --------------------------------------


def _coin_flips(seed: int) -> list[tuple[str, str, int, int]]:
    rng = random.Random(seed)
    return [
        (f"test_{u}", "loops", int(rng.random() < 0.5), u * 100 + i)
        for u in range(60)
        for i in range(20)
    ]


def test_an_answer_never_informs_its_own_prediction() -> None:
    params = {"loops": SkillParams(prior=0.3, learn=0.2, guess=0.2, slip=0.1)}
    rows = _coin_flips(0)
    flipped = list(rows)
    t = 7
    flipped[t] = (*rows[t][:2], 1 - rows[t][2], rows[t][3])
    before, _ = predict_online(LearnerModel(params), rows)
    after, _ = predict_online(LearnerModel(params), flipped)
    assert before[: t + 1] == after[: t + 1]  # up to and including the changed answer
    assert before[t + 1] != after[t + 1]  # the next one does see it


def test_coin_flips_are_unpredictable_without_leakage() -> None:
    params = {"loops": SkillParams(prior=0.3, learn=0.2, guess=0.2, slip=0.1)}
    rows = _coin_flips(1)
    y = [r[2] for r in rows]
    honest, _ = predict_online(LearnerModel(params), rows)
    assert abs(auc(y, honest) - 0.5) < 0.06
    # the same model scored after seeing each answer: the check above would catch this
    leaky_model = LearnerModel(params)
    leaky = []
    for user, skill, correct, _order in rows:
        leaky_model.observe(user, skill, bool(correct))
        leaky.append(leaky_model.predict(user, skill))
    assert auc(y, leaky) > 0.8


def test_pybkt_predictions_are_one_step_ahead() -> None:
    p = SKILLS["Order of Operations +,-,/,* ()"]
    coefs = {
        "Order of Operations +,-,/,* ()": {
            "prior": p.prior,
            "learns": p.learn,
            "guesses": p.guess,
            "slips": p.slip,
            "forgets": 0.0,
        }
    }
    rows = [
        (f"test_{u}", "Order of Operations +,-,/,* ()", c, u * 10 + i)
        for u, answers in enumerate([[0, 1, 1, 0, 1], [1, 1, 1], [0, 0, 0, 1]])
        for i, c in enumerate(answers)
    ]
    rows.append(("test_9", "never fitted", 1, 99))
    got = pybkt_predictions(coefs, rows)
    expected = []
    known: dict[str, float] = {}
    for user, skill, correct, _order in rows:
        if skill not in coefs:
            expected.append(None)
            continue
        k = known.get(user, p.prior)
        expected.append(predict_correct(k, p))
        known[user] = update(k, bool(correct), p)
    assert got[-1] is None
    assert got[:-1] == pytest.approx(expected[:-1])


# --- small pieces --------------------------------------------------------------------------


def test_skill_sample_is_seeded() -> None:
    skills = [f"s{i}" for i in range(20)]
    assert sample_skills(skills, 5, 0) == sample_skills(skills, 5, 0)
    assert len(sample_skills(skills, 5, 0)) == 5
    assert sample_skills(skills, None, 0) == sorted(skills)
    with pytest.raises(InvalidInputError):
        sample_skills(skills, 0, 0)


def test_adjacent_agreement() -> None:
    rows = [("u", "a", 1, 1), ("u", "a", 1, 2), ("u", "b", 0, 3), ("v", "b", 0, 4)]
    assert adjacent_agreement(rows) == {"same_skill": 1.0, "other_skill": 0.0}


def test_undecodable_file_is_invalid_input(tmp_path) -> None:
    path = tmp_path / "kt.csv"
    path.write_bytes(b"user_id,skill_name,correct,order_id\ntrain_1,\xff\xfe,1,1\n")
    with pytest.raises(InvalidInputError, match="UTF-8"):
        read_kt_csv(path)
