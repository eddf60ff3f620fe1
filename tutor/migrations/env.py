"""The Alembic environment: run by ``tutor.schema`` on the connection it hands in.

``render_as_batch``: SQLite cannot ALTER most of a table, so operations inside
``op.batch_alter_table`` copy the table where needed (PostgreSQL alters in place).
On PostgreSQL a transaction-scoped advisory lock makes concurrent upgrades (several
workers starting at once) run one after the other; the second then finds the database
at head and does nothing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from tutor.schema import schema_metadata

# Any 64-bit number unique to this application: the key of the advisory lock.
_LOCK_KEY = 0x6B64745475746F72  # "kdtTutor"

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through tutor.schema.upgrade (kdt-tutor db upgrade)")

context.configure(
    connection=connection,
    target_metadata=schema_metadata(),
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    context.run_migrations()
