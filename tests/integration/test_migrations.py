"""Migrations: a database made by release 0.1.0 (before Alembic) upgrades in place.

``tests/data/pre_migrations/kdt-0.1.0.sql`` is such a database, written out by
``make_db.py`` at the last commit without migrations: every table, a trainee who can log
in, a conversation, one row everywhere else. It is upgraded through the CLI and the app
factory, then checked row by row, column by column, against the file it came from; an
older variant (without the columns added later, without a table added later) too.
Whether the upgraded schema is the code's is asked of Alembic's own comparison.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kdt_tutor.cli import main
from knowledge.registry import make_engine
from tutor.accounts.users import AccountService
from tutor.chat.conversations import ConversationStore
from tutor.schema import alembic_config, current, head, schema_metadata, upgrade

pytestmark = pytest.mark.integration

RELEASE_0_1_0 = Path(__file__).parents[1] / "data" / "pre_migrations" / "kdt-0.1.0.sql"
# The columns revision 0002 adds (once ``_ADDED_COLUMNS``), and a table added after 0.1.0's
# first databases were made.
LATE_COLUMNS = {
    "content_gaps": "reason",
    "messages": "topic",
    "conversations": "channel",
    "kb_jobs": "owner",
}


def _release_db(path: Path, *, older: bool = False) -> Path:
    db = sqlite3.connect(path)
    db.executescript(RELEASE_0_1_0.read_text(encoding="utf-8"))
    if older:  # as a database made before those columns (and kb_workers) existed
        db.execute("DROP INDEX ix_kb_jobs_owner")
        for table, column in LATE_COLUMNS.items():
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("DROP TABLE kb_workers")
        db.commit()
    db.close()
    return path


def _rows(path: Path) -> dict[str, list[dict]]:
    """Every row of every table, as plain values (sqlite3, not the code under test)."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    names = [
        r[0]
        for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        if r[0] != "alembic_version"
    ]
    rows = {n: [dict(r) for r in db.execute(f"SELECT * FROM {n} ORDER BY rowid")] for n in names}
    db.close()
    return rows


def _schema_diff(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, schema_metadata())


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "var"
    data.mkdir()
    monkeypatch.setenv("KDT_DATA_DIR", str(data))
    monkeypatch.delenv("KDT_DATABASE_URL", raising=False)
    return data


def test_a_release_0_1_0_database_upgrades_in_place_without_loss(data_dir, capsys) -> None:
    db = _release_db(data_dir / "kdt.db")
    before = _rows(db)
    assert before["users"] and before["messages"] and before["kb_chunks"]  # a real fixture

    assert main(["db", "current"]) == 1
    assert "none (head is" in capsys.readouterr().out

    assert main(["db", "upgrade"]) == 0
    assert "upgraded from no revision to" in capsys.readouterr().out

    assert _rows(db) == before  # every row of every table, every column, unchanged
    assert main(["db", "current", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["up_to_date"] is True and status["current"] == status["head"]
    assert main(["db", "upgrade"]) == 0  # a second upgrade changes nothing
    assert "nothing to do" in capsys.readouterr().out
    assert _rows(db) == before

    engine = make_engine(f"sqlite:///{db}")
    assert _schema_diff(engine) == []  # the tables are exactly the code's
    user = AccountService(engine).authenticate("olduser", "old-release-pw-1")
    conversation = ConversationStore(engine).list(user_id=user.id)[0]
    assert conversation.title == "리스트 질문"
    messages = ConversationStore(engine).messages(conversation.id, user_id=user.id)
    assert [m.content for m in messages] == [
        "리스트 컴프리헨션이 뭐예요?",
        "A list built in one line.",
    ]
    engine.dispose()


def test_an_older_database_gets_the_columns_and_tables_added_since(data_dir, capsys) -> None:
    db = _release_db(data_dir / "kdt.db", older=True)
    before = _rows(db)

    assert main(["db", "upgrade"]) == 0

    after = _rows(db)
    assert after["kb_workers"] == []  # created, empty
    for table, rows in before.items():
        for old, new in zip(rows, after[table], strict=True):
            late = LATE_COLUMNS.get(table)
            assert {k: v for k, v in new.items() if k != late} == old
            if late:
                assert new[late] is None  # nullable, no default: no row rewritten
    engine = make_engine(f"sqlite:///{db}")
    assert _schema_diff(engine) == []
    engine.dispose()


def test_the_app_upgrades_the_database_when_it_starts(data_dir) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    db = _release_db(data_dir / "kdt.db")
    engine = make_engine(f"sqlite:///{db}")
    assert current(engine) is None

    with TestClient(create_app(warm_up=False)) as client:
        assert client.get("/login").status_code == 200

    assert current(engine) == head()
    engine.dispose()


def test_the_revisions_from_nothing_make_the_same_schema_as_a_new_database(tmp_path) -> None:
    new = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert upgrade(new) == (None, head())  # empty: create_all, stamped with the head
    stepped = make_engine(f"sqlite:///{tmp_path / 'stepped.db'}")
    with stepped.begin() as conn:  # every revision in turn
        command.upgrade(alembic_config(conn), "head")

    assert current(stepped) == current(new) == head()
    assert _schema_diff(new) == [] and _schema_diff(stepped) == []

    with stepped.begin() as conn:  # and back: every revision can be undone
        command.downgrade(alembic_config(conn), "base")
    assert current(stepped) is None
    with stepped.connect() as conn:
        tables = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")
        assert [r[0] for r in tables] == ["alembic_version"]
    new.dispose()
    stepped.dispose()


def test_an_upgrade_interrupted_after_some_columns_finishes_when_rerun(tmp_path) -> None:
    # 0002 on SQLite adds one column at a time: stopped after the first, the database has
    # it and no revision; the rerun adds the others and does not trip over the first.
    path = _release_db(tmp_path / "kdt.db", older=True)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE content_gaps ADD COLUMN reason VARCHAR(16)")
    engine = make_engine(f"sqlite:///{path}")

    assert upgrade(engine) == (None, head())

    assert _schema_diff(engine) == []
    engine.dispose()
