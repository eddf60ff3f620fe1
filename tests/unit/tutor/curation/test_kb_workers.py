"""Which knowledge base workers are alive (``tutor.curation.kb_workers``): a killed process
is dead at once, a reused pid is not its old process, a live worker is never dead (in this
process or elsewhere while it beats), a silent worker elsewhere is dead after ``STALE``."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, update

from knowledge.registry import make_engine
from tutor.curation.kb_workers import STALE, KbWorkers, is_running, kb_workers, process_key

pytestmark = pytest.mark.skipif(
    process_key(os.getpid()) is None, reason="process keys need Linux /proc"
)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'kdt.db').as_posix()}")
    yield engine
    engine.dispose()


@pytest.fixture
def me(engine):
    workers = KbWorkers(engine)
    yield workers
    workers.close()


def add_row(engine, owner: str, *, key: str | None, beat: datetime | None = None) -> None:
    at = beat or datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(kb_workers).values(
                owner=owner, host="h", pid=1, process_key=key, started_at=at, heartbeat_at=at
            )
        )


def test_a_killed_process_is_dead_at_once_and_a_running_one_is_not(engine, me) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        add_row(engine, "child", key=process_key(child.pid))
        assert me.dead() == set()
    finally:
        child.kill()
        child.wait(timeout=10)

    assert me.dead() == {"child"}


def test_a_reused_pid_is_not_the_process_that_had_it(engine, me) -> None:
    space, pid, start = process_key(os.getpid()).rsplit("/", 2)
    # What a restarted container leaves: its server had the same pid, and started earlier.
    add_row(engine, "before-restart", key=f"{space}/{pid}/{int(start) - 1}")

    assert me.dead() == {"before-restart"}
    assert is_running(process_key(os.getpid())) is True


def test_two_workers_of_one_process_are_both_alive(engine, me) -> None:
    other = KbWorkers(engine)
    try:
        assert me.dead() == set()
        assert other.dead() == set()
    finally:
        other.close()

    assert me.dead({other.owner}) == {other.owner}  # closed: its row is gone


def test_a_worker_elsewhere_lives_while_it_beats(engine, me) -> None:
    elsewhere = "0000-boot/pid:[1]/1/123"  # another machine: its pid cannot be looked at
    add_row(engine, "remote", key=elsewhere)
    add_row(engine, "remote-silent", key=elsewhere, beat=datetime.now(UTC) - STALE * 1.1)
    add_row(engine, "no-proc", key=None, beat=datetime.now(UTC) - STALE / 2)

    assert is_running(elsewhere) is None
    assert me.dead() == {"remote-silent"}

    with engine.begin() as conn:  # "remote" stops beating
        conn.execute(
            update(kb_workers)
            .where(kb_workers.c.owner == "remote")
            .values(heartbeat_at=datetime.now(UTC) - STALE * 1.1)
        )
    assert me.dead() == {"remote", "remote-silent"}


def test_an_owner_without_a_row_is_dead_and_this_worker_never_is(engine, me) -> None:
    assert me.dead({"gone", me.owner}) == {"gone"}


def test_forget_removes_rows_and_close_removes_this_one(engine, me) -> None:
    add_row(engine, "old", key=None, beat=datetime.now(UTC) - STALE * 2)
    other = KbWorkers(engine)

    me.forget(me.dead())
    other.close()

    with engine.connect() as conn:
        owners = {r.owner for r in conn.execute(kb_workers.select())}
    assert owners == {me.owner}
