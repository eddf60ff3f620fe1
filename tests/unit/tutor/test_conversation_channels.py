"""Conversations of the web chat and of the OpenAI-compatible API are kept apart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from knowledge.registry import make_engine
from tutor.chat.conversations import ConversationStore
from tutor.errors import InvalidInputError


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


def test_channel_column_is_added_to_an_older_database(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO users (id) VALUES (1)")
        conn.exec_driver_sql(
            "CREATE TABLE conversations (id VARCHAR(32) PRIMARY KEY, user_id INTEGER NOT NULL "
            "REFERENCES users(id), course VARCHAR(128), title VARCHAR(200) NOT NULL, "
            "created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO conversations VALUES ('old', 1, 'py', 'an old chat', "
            "'2026-11-01 10:00:00', '2026-11-01 10:00:00')"
        )
    store = ConversationStore(engine)
    ConversationStore(engine)  # idempotent
    store.channel_conversation(user_id=1, course="py", channel="api", title="API · py")
    old = store.list(user_id=1)
    assert [(c.id, c.channel) for c in old] == [("old", "web")]
