"""The code-review table on real SQLite: attempts, the two-step write, interruption."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from knowledge.registry import make_engine
from tutor.accounts.users import AccountService
from tutor.review.review_store import ReviewStore
from tutor.review.types import SourceFile

pytestmark = pytest.mark.integration


@pytest.fixture
def store_and_users(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'kdt.db'}")
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts = AccountService(engine, hasher=fast)
    a = accounts.create_user("amy", "pw-123456", role="trainee", course="py")
    b = accounts.create_user("ben", "pw-123456", role="trainee", course="py")
    return ReviewStore(engine), a.id, b.id


def create(store, user_id, exercise="ex-1", text="x = 1\n"):
    return store.create(
        user_id=user_id,
        course="py",
        exercise_id=exercise,
        files=(SourceFile("solution.py", text),),
        level=2,
        lang="en",
        static={"findings": [], "hidden": [], "syntax_ok": True, "complexity": {}},
        timings={"static_ms": 5.0},
    )


def test_attempts_count_per_trainee_and_exercise(store_and_users) -> None:
    store, amy, ben = store_and_users

    first = create(store, amy)
    second = create(store, amy)
    other_exercise = create(store, amy, exercise="ex-2")
    free = create(store, amy, exercise=None)
    bens = create(store, ben)

    assert (first.attempt, second.attempt, other_exercise.attempt) == (1, 2, 1)
    assert (free.attempt, bens.attempt) == (1, 1)
    assert store.previous(second).id == first.id
    assert store.previous(first) is None
    assert store.previous(bens) is None
    assert [r.id for r in store.history(amy, exercise_id="ex-1")] == [second.id, first.id]


def test_a_review_is_running_until_completed_once(store_and_users) -> None:
    store, amy, _ = store_and_users
    record = create(store, amy, text="def f():\n    return 1\n")
    assert record.status == "running" and record.verdict is None

    done = store.complete(
        record.id,
        verdict="failed",
        tests={"verdict": "failed", "cases": []},
        suspicious=[{"file": "solution.py", "line": 2}],
        narrative="1 of 2 tests pass.",
        notices=[],
        timings={"static_ms": 5.0, "tests_ms": 120.0},
    )
    again = store.complete(
        record.id,
        verdict="passed",
        tests=None,
        suspicious=[],
        narrative="",
        notices=[],
        timings={},
    )

    stored = store.get(record.id)
    assert done is True and again is False
    assert stored.status == "complete" and stored.verdict == "failed"
    assert stored.files == (SourceFile("solution.py", "def f():\n    return 1\n"),)
    assert stored.narrative == "1 of 2 tests pass."
    assert stored.timings == {"static_ms": 5.0, "tests_ms": 120.0}
    assert store.fail(record.id, "too late") is False


def test_stale_running_reviews_are_marked_failed_not_left_half_done(store_and_users) -> None:
    store, amy, _ = store_and_users
    record = create(store, amy)

    assert store.interrupt_stale(older_than=timedelta(hours=1)) == 0
    assert store.interrupt_stale(older_than=timedelta(seconds=-1)) == 1

    stored = store.get(record.id)
    assert stored.status == "failed" and "interrupted" in stored.error
    assert (
        store.complete(
            record.id,
            verdict="passed",
            tests=None,
            suspicious=[],
            narrative="x",
            notices=[],
            timings={},
        )
        is False
    )
