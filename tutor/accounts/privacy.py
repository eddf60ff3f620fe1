"""A trainee's data: everything stored about them, exported as JSON, or deleted.

What is stored about a user (tables on ``tutor.store.metadata``): the account (never its
password hash in an export), browser sessions and API tokens (neither exported: they are
credentials), conversations with their messages and feedback (the web chat's, and the one
``api`` conversation per course that holds the questions asked and the answers given through
the OpenAI-compatible API; their ``channel`` says which), the learner model's evidence
log, mastery cache, achievements, review cards, placement sessions, code reviews with their
files, and the questions the course could not answer (content gaps).

Deleting removes the account and, through the foreign keys' ``ON DELETE CASCADE``,
everything above in one transaction, except content-gap questions: they stay, anonymised
(``user_id`` set to NULL), because instructors improve the course from them and they hold
no identity. ``delete`` says what this does to the cohort's figures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, func, select, update

from tutor.accounts.users import AdminLockoutError, other_active_admins
from tutor.errors import InvalidInputError, NotFoundError
from tutor.learning import store as learner_store
from tutor.review import review_store
from tutor.store import as_utc, content_gaps, conversations, create_schema, feedback, messages
from tutor.store import users as users_table

# The tables with a user_id, in export order (messages go with their conversations).
_BY_USER: tuple[tuple[str, Table], ...] = (
    ("conversations", conversations),
    ("feedback", feedback),
    ("learner_evidence", learner_store.evidence),
    ("learner_mastery", learner_store.mastery_cache),
    ("learner_achievements", learner_store.achievements),
    ("learner_review_cards", learner_store.review_cards),
    ("learner_placements", learner_store.placements),
    ("code_reviews", review_store.code_reviews),
    ("content_gaps", content_gaps),
)
# Columns whose text holds JSON: exported as JSON, not as strings of JSON.
_JSON_COLUMNS = {
    "citations",
    "notices",
    "timings",
    "answer",
    "state",
    "summary",
    "card",
    "result",
    "priors",
    "files",
    "static",
    "tests",
    "suspicious",
    "retrieved",
}


def _value(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if name in _JSON_COLUMNS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _rows(result: Any) -> list[dict[str, Any]]:
    return [{k: _value(k, v) for k, v in row._mapping.items()} for row in result]


class TraineeData:
    """Export and delete one user's data (admins; a trainee may export their own)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_schema(engine)

    def _user(self, conn: Any, user_id: int) -> dict[str, Any]:
        row = conn.execute(select(users_table).where(users_table.c.id == user_id)).first()
        if row is None:
            raise NotFoundError(f"no user {user_id}")
        account = {k: _value(k, v) for k, v in row._mapping.items() if k != "password_hash"}
        return account

    def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about the user, as JSON-ready data."""
        with self.engine.connect() as conn:
            data: dict[str, Any] = {
                "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "account": self._user(conn, user_id),
            }
            for name, table in _BY_USER:
                query = select(table).where(table.c.user_id == user_id)
                data[name] = _rows(conn.execute(query))
            ids = [c["id"] for c in data["conversations"]]
            data["messages"] = (
                _rows(
                    conn.execute(
                        select(messages)
                        .where(messages.c.conversation_id.in_(ids))
                        .order_by(messages.c.created_at)
                    )
                )
                if ids
                else []
            )
        return data

    def counts(self, user_id: int) -> dict[str, int]:
        """How many rows of each kind the user has."""
        with self.engine.connect() as conn:
            self._user(conn, user_id)
            out = {
                name: conn.execute(
                    select(func.count()).select_from(table).where(table.c.user_id == user_id)
                ).scalar_one()
                for name, table in _BY_USER
            }
            out["messages"] = conn.execute(
                select(func.count())
                .select_from(messages.join(conversations))
                .where(conversations.c.user_id == user_id)
            ).scalar_one()
        return out

    def delete(self, user_id: int, *, acting_user_id: int | None = None) -> dict[str, Any]:
        """Delete the user and their data; returns what was removed and its effect."""
        if acting_user_id is not None and acting_user_id == user_id:
            raise InvalidInputError("you cannot delete your own account")
        counts = self.counts(user_id)
        with self.engine.begin() as conn:
            account = self._user(conn, user_id)
            if account["role"] == "admin" and not account["disabled"]:
                if not conn.execute(select(other_active_admins(user_id))).scalar_one():
                    raise AdminLockoutError(
                        f"{account['username']!r} is the last active admin; make another "
                        "admin first"
                    )
            conn.execute(
                update(content_gaps).where(content_gaps.c.user_id == user_id).values(user_id=None)
            )
            # ON DELETE CASCADE removes the rest (SQLite: foreign keys are on, see make_engine).
            conn.execute(delete(users_table).where(users_table.c.id == user_id))
            for name, table in _BY_USER:
                if name == "content_gaps":
                    continue
                left = conn.execute(
                    select(func.count()).select_from(table).where(table.c.user_id == user_id)
                ).scalar_one()
                if left:  # a database without cascading foreign keys: delete explicitly
                    conn.execute(delete(table).where(table.c.user_id == user_id))
        gaps = counts.pop("content_gaps")
        return {
            "user": {k: account[k] for k in ("id", "username", "role", "course")},
            "deleted": counts,
            "anonymised": {"content_gaps": gaps},
            "effect": effect_on_cohort(account.get("course"), counts, gaps),
        }


def effect_on_cohort(course: str | None, counts: dict[str, int], gaps: int) -> str:
    """What deleting this trainee changes in the instructor's figures, in plain words."""
    where = f"course {course}" if course else "their course"
    return (
        f"The cohort figures of {where} no longer include this trainee: the mastery heatmap "
        f"and level distribution lose one row ({counts.get('learner_evidence', 0)} pieces of "
        f"evidence, {counts.get('learner_achievements', 0)} achievements), review statistics "
        f"lose {counts.get('code_reviews', 0)} reviews, most-asked topics lose "
        f"{counts.get('messages', 0)} messages. {gaps} unanswered questions stay in the "
        "content gaps without the trainee's identity."
    )
