"""The columns added to tables after their first release (once ``_ADDED_COLUMNS``).

- ``content_gaps.reason``: not_covered | low_confidence (NULL: not_covered);
- ``messages.topic``: how the chat followed the conversation (JSON);
- ``conversations.channel``: web | api (NULL: web);
- ``kb_jobs.owner`` and its index: the process running a console job.

All nullable without a default, so adding them rewrites no row. A database made by
release 0.1.0 may have any of them already (``create_all`` made its table after the column
existed, or ``create_schema`` added it): each is added only where missing. Later revisions
are plain, unconditional changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> tuple[tuple[str, sa.Column], ...]:
    """New ``Column`` objects on each call (a column joins the table it is added to)."""
    return (
        ("content_gaps", sa.Column("reason", sa.String(length=16), nullable=True)),
        ("messages", sa.Column("topic", sa.Text(), nullable=True)),
        ("conversations", sa.Column("channel", sa.String(length=8), nullable=True)),
        ("kb_jobs", sa.Column("owner", sa.String(length=32), nullable=True)),
    )


def upgrade() -> None:
    for table, column in _columns():
        present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
        if column.name not in present:
            with op.batch_alter_table(table) as batch:
                batch.add_column(column)
    indexes = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("kb_jobs")}
    if "ix_kb_jobs_owner" not in indexes:
        op.create_index("ix_kb_jobs_owner", "kb_jobs", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_kb_jobs_owner", table_name="kb_jobs")
    for table, column in reversed(_columns()):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column.name)
