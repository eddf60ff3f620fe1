"""Health checks: is the database reachable, the vector store, the LLM endpoint; which schema
revision does the database hold.

Each check is one cheap call with a short timeout (``SELECT 1``; a Chroma server's
heartbeat; the LLM endpoint's ``GET /models``, only with ``KDT_ANSWERER=openai``), and its
result is remembered for ``ttl_s`` seconds, so ``/api/health`` stays fast however often a
load balancer polls it, and a hanging endpoint is waited for once per ``ttl_s`` at most
(one caller checks; the others meanwhile get the last result).

The database and the vector store are *required*: without either no answer can be given,
so the report's ``status`` is ``unavailable`` (the API answers 503, and a load balancer
takes the worker out). The LLM is not: answers fall back to the offline answerer, so an
unreachable endpoint only makes the status ``degraded`` (200).

The schema revision is Alembic's (the ``alembic_version`` table) when the database has
one, else ``unversioned``; Alembic itself is not needed to read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, inspect, text

from knowledge.errors import KdtTutorError
from tutor.settings import Settings

OK, DOWN, SKIPPED = "ok", "unavailable", "not_configured"


@dataclass(frozen=True)
class ComponentHealth:
    status: str  # ok | unavailable | not_configured
    detail: str = ""
    latency_ms: float | None = None
    checked_at: float = field(default=0.0, compare=False)  # time.monotonic()


@dataclass(frozen=True)
class HealthReport:
    status: str  # ok | degraded | unavailable
    schema_revision: str | None  # None while the database is unreachable
    components: dict[str, ComponentHealth]


def _timed(check: Callable[[], str | None]) -> ComponentHealth:
    started = time.perf_counter()
    try:
        detail = check() or ""
    except KdtTutorError as exc:
        return ComponentHealth(DOWN, str(exc), checked_at=time.monotonic())
    except Exception as exc:  # noqa: BLE001 - an unreachable backend raises anything
        return ComponentHealth(DOWN, type(exc).__name__, checked_at=time.monotonic())
    ms = round((time.perf_counter() - started) * 1000, 1)
    return ComponentHealth(OK, detail, latency_ms=ms, checked_at=time.monotonic())


def schema_revision(engine: Engine) -> str:
    """Alembic's revision of the database (``alembic_version``), else ``unversioned``."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return "unversioned"
        rows = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return ",".join(sorted(rows)) or "unversioned"


class HealthChecks:
    """The checks of one process; ``report()`` is safe to call from many threads."""

    def __init__(
        self,
        *,
        engine: Engine,
        vectors: Callable[[], str | None],
        llm: Callable[[], str | None] | None,
        ttl_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._checks: dict[str, Callable[[], str | None] | None] = {
            "database": self._database,
            "vectors": vectors,
            "llm": llm,
        }
        self._cache: dict[str, ComponentHealth] = {}
        self._revision: str | None = None
        self._locks = {name: threading.Lock() for name in self._checks}

    def _database(self) -> str:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        self._revision = schema_revision(self.engine)
        return self.engine.dialect.name

    def _component(self, name: str) -> ComponentHealth:
        check = self._checks[name]
        if check is None:
            return ComponentHealth(SKIPPED)
        cached = self._cache.get(name)
        if cached is not None and time.monotonic() - cached.checked_at < self.ttl_s:
            return cached
        lock = self._locks[name]
        if not lock.acquire(blocking=cached is None):
            return cached  # another thread is checking: the last result meanwhile
        try:
            result = _timed(check)
            self._cache[name] = result
            return result
        finally:
            lock.release()

    def report(self) -> HealthReport:
        components = {name: self._component(name) for name in self._checks}
        if components["database"].status != OK or components["vectors"].status != OK:
            status = "unavailable"
        elif components["llm"].status == DOWN:
            status = "degraded"
        else:
            status = "ok"
        revision = self._revision if components["database"].status == OK else None
        return HealthReport(status=status, schema_revision=revision, components=components)


def build_health_checks(settings: Settings, *, engine: Engine) -> HealthChecks:
    """The checks for these settings (the composition root, ``tutor/services.py``)."""
    timeout_s = settings.health_timeout_s

    def vectors() -> str:
        if not settings.chroma_url:
            return "embedded"  # in this process: reachable whenever the server answers
        from knowledge.vectorstore import chroma_heartbeat

        chroma_heartbeat(settings.chroma_url, timeout_s=timeout_s)
        return "server"

    llm = None
    if settings.answerer == "openai":

        def llm() -> str:
            from tutor.chat.llm_answerer import probe_endpoint

            probe_endpoint(
                base_url=settings.llm_base_url, api_key=settings.llm_api_key, timeout_s=timeout_s
            )
            return settings.llm_model

    return HealthChecks(engine=engine, vectors=vectors, llm=llm, ttl_s=settings.health_cache_s)
