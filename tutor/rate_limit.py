"""Per-user rate limits: at most ``limit`` requests in any ``window_s`` seconds per key.

One small limiter for every feature that needs one (code reviews, chat questions): the caller names
what it counts (``what``, used in the message) and passes a key per request (a user id).
An over-limit request raises :class:`RateLimitedError`, which the API answers with 429 and
a ``Retry-After`` header (``api/errors.py``).

The counts live in this process's memory (a sliding window of timestamps per key): a
restart forgets them, and with several worker processes each worker counts on its own, so
the real bound is ``limit`` × workers. That is acceptable for one machine; moving the state
to the database (DESIGN.md "Scaling out") is left for later.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from knowledge.errors import KdtTutorError

_SWEEP_EVERY = 1024  # hits between sweeps of keys whose window has emptied


class RateLimitedError(KdtTutorError):
    """Too many requests of one kind; try again after ``retry_after`` seconds (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """A sliding-window limit per key. ``limit`` 0 means no limit."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float = 60.0,
        what: str = "requests",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 0 or window_s <= 0:
            raise ValueError("a rate limit needs limit >= 0 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.what = what
        self.clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def hit(self, key: Hashable) -> None:
        """Count one request for ``key``, or raise ``RateLimitedError`` (not counted) when
        ``key`` already made ``limit`` requests within the window."""
        if self.limit == 0:
            return
        now = self.clock()
        with self._lock:
            recent = self._hits.setdefault(key, deque())
            while recent and recent[0] <= now - self.window_s:
                recent.popleft()
            if len(recent) >= self.limit:
                retry_after = max(1, math.ceil(recent[0] + self.window_s - now))
                raise RateLimitedError(
                    f"too many {self.what} (at most {self.limit} per {self.window_s:g} s); "
                    f"try again in {retry_after} s",
                    retry_after=retry_after,
                )
            recent.append(now)
            self._count += 1
            if self._count % _SWEEP_EVERY == 0:
                self._sweep(now)

    def _sweep(self, now: float) -> None:
        stale = [k for k, q in self._hits.items() if not q or q[-1] <= now - self.window_s]
        for key in stale:
            del self._hits[key]
