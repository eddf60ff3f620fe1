"""Conversations of the web chat and of the OpenAI-compatible API are kept apart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from knowledge.registry import make_engine
from tutor.chat.conversations import ConversationStore
from tutor.errors import InvalidInputError
from tutor.schema import head, upgrade


@pytest.fixture
def store(tmp_path) -> ConversationStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO users (id) VALUES (1), (2)")
    return ConversationStore(engine)


def test_the_web_list_leaves_api_conversations_out(store) -> None:
    web = store.create(user_id=1, course="py", title="What is a list?")
    api = store.channel_conversation(user_id=1, course="py", channel="api", title="API · py")
    assert (web.channel, api.channel) == ("web", "api")
    assert [c.id for c in store.list(user_id=1)] == [web.id]
    assert [c.id for c in store.list(user_id=1, channel="api")] == [api.id]
    assert {c.id for c in store.list(user_id=1, channel=None)} == {web.id, api.id}


def test_one_api_conversation_per_user_and_course(store) -> None:
    def open_(user_id: int, course: str):
        return store.channel_conversation(
            user_id=user_id, course=course, channel="api", title=f"API · {course}"
        )

    with ThreadPoolExecutor(4) as pool:  # first calls at once still make one
        ids = set(pool.map(lambda _: open_(1, "py").id, range(8)))
    assert len(ids) == 1
    assert open_(1, "py").id in ids
    assert open_(1, "ml").id not in ids
    assert open_(2, "py").id not in ids
    assert len(store.list(user_id=1, channel="api")) == 2
    store.delete(ids.pop(), user_id=1)  # the trainee may delete it; the next call starts anew
    assert open_(1, "py").id


def test_unknown_channel_is_refused(store) -> None:
    with pytest.raises(InvalidInputError, match="unknown channel"):
        store.create(user_id=1, course="py", title="x", channel="email")


def test_channel_column_is_added_to_an_older_database_by_the_migrations(tmp_path) -> None:
    # A database of the release before channels: today's schema without the column and
    # without a migration revision (the release before migrations), holding a conversation.
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE conversations DROP COLUMN channel")
        conn.exec_driver_sql("DROP TABLE alembic_version")
        conn.exec_driver_sql(
            "INSERT INTO users (id, username, display_name, role, password_hash, disabled, "
            "created_at) VALUES (1, 'kim', 'Kim', 'trainee', 'x', 0, '2026-11-01 10:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO conversations (id, user_id, course, title, created_at, updated_at) "
            "VALUES ('old', 1, 'py', 'an old chat', '2026-11-01 10:00:00', '2026-11-01 10:00:00')"
        )
    assert upgrade(engine) == (None, head())  # the migrations add the column
    store = ConversationStore(engine)
    store.channel_conversation(user_id=1, course="py", channel="api", title="API · py")
    old = store.list(user_id=1)
    assert [(c.id, c.channel) for c in old] == [("old", "web")]
