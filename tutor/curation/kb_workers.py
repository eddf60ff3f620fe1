"""The processes that run knowledge base jobs, and which of them are alive.

Every process that runs upload and re-sync jobs (``KbContext``) registers as a *worker* in
``kb_workers``: a random owner token, its host name and pid (for people to read), and a
*process key* that identifies the process where it can be checked (Linux: the boot id,
the pid namespace, the pid and the process's start time). Each job row names its owner
token (``kb_jobs.owner``), and an upload being received lives under
``uploads/.incoming/<owner>/``. While the worker lives, a heartbeat thread writes
``heartbeat_at`` every ``BEAT``.

The rule, for any number of workers on one database. A worker is **dead** when
- it has no row (it closed cleanly, or was already found dead), or
- its process key says it ran where this process can look (same boot, same pid
  namespace), and no process with its pid and its start time runs there now (killed,
  crashed; a reused pid, e.g. a restarted container whose server is pid 1 again, has
  another start time), or
- nothing can be looked at (another machine or container) and its heartbeat is older than
  ``STALE``.

So a live worker is never taken for dead: either its process is seen running, or it beats
(a worker that stops beating for ``STALE`` while alive is hung, and its jobs are failed).
A process killed with ``kill -9`` is found dead at once by the next start on the same
machine, and within ``STALE`` by a worker elsewhere.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, delete, insert, select
from sqlalchemy import update as sql_update

from tutor.store import as_utc, create_schema, metadata

log = logging.getLogger("kdt.kb_admin")

BEAT = timedelta(seconds=10)  # how often a live worker says so
STALE = timedelta(seconds=60)  # a worker silent this long is dead (when nothing else tells)

kb_workers = Table(
    "kb_workers",
    metadata,
    Column("owner", String(32), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("process_key", String(255)),  # None where processes cannot be looked at
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False, index=True),
)


def _start_ticks(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot); OSError when it does not run."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    # Field 2 (the command name) is in parentheses and may hold spaces: split after it.
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_space() -> str | None:
    """Where pids mean the same processes as in this one: boot id and pid namespace
    (Linux); None elsewhere."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def process_key(pid: int) -> str | None:
    """``<pid space>/<pid>/<start time>`` of a running process; None where unknown."""
    space = _pid_space()
    if space is None:
        return None
    try:
        return f"{space}/{pid}/{_start_ticks(pid)}"
    except (OSError, IndexError):
        return None


def is_running(key: str) -> bool | None:
    """Whether the process of ``key`` still runs; None when this process cannot tell (the
    key is from another machine, container or boot)."""
    parts = key.rsplit("/", 2)
    if len(parts) != 3 or parts[0] != _pid_space():
        return None
    _, pid, start = parts
    try:
        return _start_ticks(int(pid)) == start
    except (OSError, IndexError, ValueError):
        return False


class KbWorkers:
    """This process's row in ``kb_workers`` (``owner``), its heartbeat thread, and the
    liveness of the others (the rule above)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.owner = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        create_schema(engine)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                insert(kb_workers).values(
                    owner=self.owner,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    process_key=process_key(os.getpid()),
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def beat(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sql_update(kb_workers)
                .where(kb_workers.c.owner == self.owner)
                .values(heartbeat_at=datetime.now(UTC))
            )

    def start_heartbeat(self, then: Callable[[], object]) -> None:
        """Beat every ``BEAT`` on a daemon thread, and call ``then()`` after each beat
        (the context's recovery of dead workers' jobs)."""

        def run() -> None:
            while not self._stop.wait(BEAT.total_seconds()):
                try:
                    self.beat()
                    then()
                except Exception:  # a database hiccup must not end the heartbeat
                    log.exception("kb worker heartbeat failed")

        self._thread = threading.Thread(target=run, name="kb-heartbeat", daemon=True)
        self._thread.start()

    def dead(self, others: Iterable[str] = ()) -> set[str]:
        """The owners among ``others`` and the registered workers that are dead (never this
        one)."""
        cutoff = datetime.now(UTC) - STALE
        with self.engine.connect() as conn:
            rows = {r.owner: r for r in conn.execute(select(kb_workers))}
        dead = {o for o in others if o not in rows}
        for owner, row in rows.items():
            running = is_running(row.process_key) if row.process_key else None
            if running is False or (running is None and as_utc(row.heartbeat_at) < cutoff):
                dead.add(owner)
        dead.discard(self.owner)
        return dead

    def forget(self, owners: Iterable[str]) -> None:
        owners = list(owners)
        if owners:
            with self.engine.begin() as conn:
                conn.execute(delete(kb_workers).where(kb_workers.c.owner.in_(owners)))

    def close(self) -> None:
        """Stop the heartbeat and remove this worker's row (its jobs have ended)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.forget([self.owner])
