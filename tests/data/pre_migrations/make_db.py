"""Build a database the way kdt-tutor built it before migrations (``create_schema``).

Run at commit 5c809cd (the last release without Alembic), from the repository root:

    .venv/bin/python tests/data/pre_migrations/make_db.py sqlite:////tmp/old.db [dump.sql]

It creates every table through the stores' own constructors (``create_all`` + the
hand-added columns of that time), adds a trainee (password ``old-release-pw-1``) with a
conversation through the real services, then one row in every table still empty (values
made up from the column types, foreign keys pointing at existing rows). With a second
argument (SQLite only) it writes the database as SQL (``iterdump``): that file,
``kdt-0.1.0.sql``, is what ``tests/integration/test_migrations.py`` upgrades.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Float, Integer, LargeBinary, insert, select

import tutor.curation.content_gaps  # noqa: F401  (their tables join tutor.store.metadata)
import tutor.curation.kb_history  # noqa: F401
import tutor.curation.kb_workers  # noqa: F401
import tutor.learning.store  # noqa: F401
import tutor.review.review_store  # noqa: F401
from knowledge.registry import DocumentRegistry, make_engine
from knowledge.registry import metadata as kb_metadata
from tutor.accounts.users import AccountService
from tutor.chat.conversations import ConversationStore
from tutor.store import create_schema
from tutor.store import metadata as tutor_metadata

WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _value(table, column, row_of):
    if column.foreign_keys:
        fk = next(iter(column.foreign_keys))
        return row_of[fk.column.table.name][fk.column.name]
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 7
    if isinstance(kind, Float):
        return 0.25
    if isinstance(kind, DateTime):
        return WHEN
    if isinstance(kind, LargeBinary):
        return b"\x00\x01\x02"
    length = getattr(kind, "length", None) or 64
    return f"{table.name}.{column.name}"[:length]


def main(url: str, dump: str | None) -> None:
    engine = make_engine(url)
    DocumentRegistry(engine)
    create_schema(engine)
    accounts = AccountService(engine)
    user = accounts.create_user(
        "olduser", "old-release-pw-1", role="trainee", course="python-basics"
    )
    store = ConversationStore(engine)
    conv = store.create(user_id=user.id, course="python-basics", title="리스트 질문")
    store.add_message(
        conv.id, role="user", content="리스트 컴프리헨션이 뭐예요?", lang="ko",
        topic={"kind": "new", "query": "list comprehension"},
    )
    store.add_message(conv.id, role="assistant", content="A list built in one line.", lang="en")
    row_of: dict[str, dict] = {}
    with engine.begin() as conn:
        for metadata in (kb_metadata, tutor_metadata):
            for table in metadata.sorted_tables:
                first = conn.execute(select(table).limit(1)).first()
                if first is None:
                    values = {c.name: _value(table, c, row_of) for c in table.columns}
                    conn.execute(insert(table).values(**values))
                    first = conn.execute(select(table).limit(1)).first()
                row_of[table.name] = dict(first._mapping)
    engine.dispose()
    if dump:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db, open(dump, "w") as out:
            for line in db.iterdump():
                out.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
