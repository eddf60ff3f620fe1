"""Per-key request rate limits (chat messages per user, ...): a sliding one-minute window.

``RateLimiter(per_minute).check(key)`` counts one request for ``key`` and returns None when
it may go ahead, else the seconds to wait (the API answers 429 with ``Retry-After``). A
refused request is not counted. ``per_minute=0`` turns the limit off.

Counts live in this process's memory: a restart forgets them, and with several worker
processes each counts on its own (a user may send ``per_minute`` to each worker). That is
acceptable for a per-user fairness limit; a shared limit would need the database.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from knowledge.errors import KdtTutorError

WINDOW_S = 60.0


class RateLimitedError(KdtTutorError):
    """Too many requests; the client may retry after ``retry_after`` seconds (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be 0 (off) or more")
        self.per_minute = per_minute
        self.clock = clock
        self._recent: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: Hashable) -> int | None:
        """Count a request for ``key``: None if allowed, else whole seconds until one is."""
        if self.per_minute == 0:
            return None
        now = self.clock()
        with self._lock:
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - WINDOW_S:
                recent.popleft()
            if len(recent) >= self.per_minute:
                return max(1, math.ceil(recent[0] + WINDOW_S - now))
            recent.append(now)
            if len(self._recent) > 10_000:  # keep memory bounded by recent activity
                self._forget_idle(now)
            return None

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, d in self._recent.items() if not d or d[-1] <= now - WINDOW_S]
        for key in idle:
            del self._recent[key]
