"""The tutor domain's tables (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

The engine comes from ``knowledge.registry.make_engine`` in the composition roots; the
services of the tutor layer (``tutor.accounts.AccountService`` and the ones to come) take
it as a constructor argument and create the tables they need with ``create_schema``.

Tables:
- ``users``: accounts with a role (trainee | instructor | admin), an optional course
  (cohort) and an argon2id password hash.
- ``web_sessions``: browser sessions. Only the SHA-256 of the session token is stored,
  with its expiry and the session's CSRF token.
- ``api_tokens``: long-lived bearer tokens for scripts, stored as SHA-256 hashes.

Timestamps are UTC. SQLite hands them back naive, so readers normalise with ``as_utc``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
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


def create_schema(engine: Engine) -> None:
    """Create the tutor tables that do not exist yet (idempotent)."""
    metadata.create_all(engine)


def as_utc(value: datetime) -> datetime:
    """A timestamp read back from the database, as an aware UTC datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
