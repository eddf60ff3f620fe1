"""The tutor domain's tables (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

The engine comes from ``knowledge.registry.make_engine``, once per process, in the
composition root (``tutor/services.py``), which also brings the schema up to date
(``tutor/schema.py``: Alembic migrations over every table); the services of the tutor
layer take it as a constructor argument.

Tables:
- ``users``: accounts with a role (trainee | instructor | admin), an optional course
  (cohort) and an argon2id password hash.
- ``web_sessions``: browser sessions. Only the SHA-256 of the session token is stored,
  with its expiry and the session's CSRF token.
- ``api_tokens``: long-lived bearer tokens for scripts, stored as SHA-256 hashes.
- ``conversations`` / ``messages``: chat history; each assistant message keeps the passages
  it cited (quoted text included, so deleting a document never empties a past answer),
  the answerer that produced it, its mode and timings. A conversation's ``channel`` is
  ``web`` (the chat page) or ``api`` (the OpenAI-compatible API).
- ``feedback``: one thumbs up/down (+ comment) per assistant message.
- ``content_gaps``: questions the course could not answer (or answered from loosely close
  passages only), for instructors.

Timestamps are UTC. SQLite hands them back naive, so readers normalise with ``as_utc``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(40), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("course", String(128), index=True),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


conversations = Table(
    "conversations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("course", String(128)),
    Column("title", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
    # where the conversation happens: "web" (the chat page; NULL in rows written before the
    # column existed) or "api" (the OpenAI-compatible API: one per user and course)
    Column("channel", String(8)),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "conversation_id",
        String(32),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("seq", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("lang", String(8)),
    Column("mode", String(16)),
    Column("answerer", String(32)),
    Column("citations", Text, nullable=False, default="[]"),
    Column("notices", Text, nullable=False, default="[]"),
    Column("timings", Text, nullable=False, default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # user messages: how the chat followed the conversation (JSON: kind, query, anchor)
    Column("topic", Text),
)

feedback = Table(
    "feedback",
    metadata,
    Column(
        "message_id", String(32), ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("rating", String(8), nullable=False),
    Column("comment", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

content_gaps = Table(
    "content_gaps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("course", String(128), index=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("question", Text, nullable=False),
    Column("lang", String(8)),
    Column("confidence", Float, nullable=False),
    Column("retrieved", Text, nullable=False, default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    # "not_covered" (the tutor said so) | "low_confidence" (answered from loosely close
    # passages only); NULL in rows written before the column existed means not_covered
    Column("reason", String(16)),
)

def create_schema(engine: Engine) -> None:
    """Create the tutor tables that do not exist yet (idempotent), for a store built
    straight on an engine (tests, benchmarks). A database that serves users gets its
    schema from the migrations (``tutor.schema.upgrade``), which the composition root runs
    first; there this finds every table present and does nothing."""
    metadata.create_all(engine)


def as_utc(value: datetime) -> datetime:
    """A timestamp read back from the database, as an aware UTC datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
