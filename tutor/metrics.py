"""Prometheus metrics of one process: what the tutor did (chats, reviews, LLM fallbacks) and
how long requests took, on a registry of its own (no module-level metric objects).

``Services.metrics`` builds one ``Metrics``; the chat and review services count their
events on it, the web app times requests with it (``api/request_metrics.py``) and serves
it at ``/metrics`` (``api/routes/metrics.py``). Every label takes values from a closed set
(route *templates*, modes, answerer names, verdicts), so the number of series is bounded
whatever the traffic: an unknown value is counted as ``other``.

Queue depths are read when scraped (``watch_queues``), not counted: review test jobs
running and queued in this process, console ingest jobs queued and running in the database.

Several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory, the
same for every worker, emptied before they start), prometheus_client keeps counters and
histograms in files there and ``exposition`` merges every worker's (its multiprocess
mode); queue depths are then reported by the worker that answers the scrape.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger("kdt.metrics")

MODES = frozenset({"answer", "hint", "not_covered", "smalltalk"})
ANSWERERS = frozenset({"extractive", "llm", "smalltalk"})
VERDICTS = frozenset(
    {
        "passed",
        "failed",
        "error",
        "timeout",
        "crashed",
        "test_error",
        "refused",
        "no_tests",
        "incomplete",  # the review itself failed (stored as status "failed")
    }
)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
UNMATCHED = "unmatched"  # every path no route knows (404s, scanners) shares one label

# Request latency buckets (seconds): pages and JSON in ms, chat streams in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0)


def _known(value: str | None, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


class _Queues:
    """A collector reading queue depths when scraped."""

    def __init__(self) -> None:
        self.readers: list[Callable[[], dict[tuple[str, str], int]]] = []

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "kdt_queue_depth",
            "Jobs waiting or running (queue: review | kb; state: queued | running)",
            labels=["queue", "state"],
        )
        for read in self.readers:
            try:
                depths = read()
            except Exception:  # noqa: BLE001 - a scrape must answer while the database is down
                log.warning("queue depth unavailable", exc_info=True)
                continue
            for (queue, state), n in sorted(depths.items()):
                family.add_metric([queue, state], n)
        yield family


class Metrics:
    """The metrics of one process (see the module docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "kdt_http_request_duration_seconds",
            "Time to answer a request (a chat stream: until its end), per route template",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.chats = Counter(
            "kdt_chat_answers",
            "Chat answers given (web chat and the OpenAI-compatible API)",
            ["mode", "answerer"],
            registry=self.registry,
        )
        self.reviews = Counter(
            "kdt_reviews", "Code reviews finished, by verdict", ["verdict"], registry=self.registry
        )
        self.llm_fallbacks = Counter(
            "kdt_llm_fallbacks",
            "Answers the LLM should have written that the offline answerer gave instead",
            registry=self.registry,
        )
        self._queues = _Queues()
        self.registry.register(self._queues)

    # --- events ---------------------------------------------------------------------------
    def request_done(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """``route`` is the matched route's template (``/api/reviews/{review_id}``), or
        ``UNMATCHED``; never the raw path."""
        self.requests.labels(
            method=_known(method, METHODS), route=route, status=f"{status // 100}xx"
        ).observe(seconds)

    def chat_answered(self, *, mode: str, answerer: str, fell_back: bool) -> None:
        self.chats.labels(mode=_known(mode, MODES), answerer=_known(answerer, ANSWERERS)).inc()
        if fell_back:
            self.llm_fallbacks.inc()

    def review_finished(self, verdict: str | None) -> None:
        self.reviews.labels(verdict=_known(verdict or "incomplete", VERDICTS)).inc()

    def watch_queues(self, read: Callable[[], dict[tuple[str, str], int]]) -> None:
        """Report ``read()`` (``{(queue, state): count}``) as ``kdt_queue_depth`` on every
        scrape."""
        self._queues.readers.append(read)

    # --- scraping ---------------------------------------------------------------------------
    def exposition(self) -> tuple[bytes, str]:
        """The text format Prometheus scrapes, and its content type."""
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=directory)
        merged.register(self._queues)
        return generate_latest(merged), CONTENT_TYPE_LATEST
