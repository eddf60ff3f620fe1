"""The Alembic environment: run by ``tutor.schema.upgrade`` on the connection it hands in
(inside its transaction, holding its lock on PostgreSQL).

``render_as_batch``: SQLite cannot ALTER most of a table, so operations inside
``op.batch_alter_table`` copy the table where needed (PostgreSQL alters in place).
"""

from __future__ import annotations

from alembic import context

from tutor.schema import schema_metadata

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
    context.run_migrations()
