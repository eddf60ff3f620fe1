"""``kdt-tutor learner …`` and ``kdt-tutor eval kt`` as a user runs them."""

from __future__ import annotations

import json
import random

import pytest

pytestmark = pytest.mark.integration


def test_fit_without_evidence_is_a_clear_error(tmp_path, cli_env, run_cli) -> None:
    result = run_cli("learner", "fit", "python-basics", env=cli_env(tmp_path / "data"),
                     cwd=tmp_path)
    assert result.returncode == 2
    assert "no evidence" in result.stderr and "Traceback" not in result.stderr


def test_show_an_unknown_user_is_a_clear_error(tmp_path, cli_env, run_cli) -> None:
    result = run_cli("learner", "show", "nobody", env=cli_env(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nobody" in result.stderr and "Traceback" not in result.stderr


def test_eval_kt_writes_the_stable_keys(tmp_path, cli_env, run_cli) -> None:
    rng = random.Random(0)
    lines = ["user_id,skill_name,correct,order_id"]
    for u in range(40):
        user = f"{'train' if u < 30 else 'test'}_{u:03d}"
        known = False
        for order in range(1, 13):
            skill = "loops" if order % 2 else "lists"
            known = known or rng.random() < 0.3
            right = rng.random() < (0.9 if known else 0.25)
            lines.append(f"{user},{skill},{int(right)},{order}")
    lines.insert(5, "broken,row")
    csv = tmp_path / "kt.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "kt.json"
    result = run_cli("eval", "kt", str(csv), "--json", str(out),
                     env=cli_env(tmp_path / "data"), cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    models = json.loads(out.read_text(encoding="utf-8"))["models"]
    assert set(models) == {"ours", "pybkt", "per-skill-mean"}
    for scores in models.values():
        assert set(scores) >= {"auc", "rmse", "fit_s", "update_ms"}
        assert 0.0 <= scores["auc"] <= 1.0
    assert "line 6" in result.stdout + result.stderr
