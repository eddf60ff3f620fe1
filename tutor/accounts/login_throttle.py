"""Slows down password guessing: failed logins counted per account and per client address.

- An account gets ``max_failures`` wrong passwords within ``window_s``; the next attempt on
  it is refused for ``lockout_s`` (from any address: guessing one trainee's password from
  many machines is still guessing). A correct password clears the account's count.
- One client address gets ``max_address_failures`` wrong passwords within ``window_s``
  across all accounts (spraying a common password over many usernames).
- A refused attempt is not checked at all (no password hash is computed), so a locked
  account costs the server nothing, and the correct password does not get through either.

Counts live in the server process's memory: a restart forgets them, and with several
worker processes each counts on its own (still a small bound per worker). Usernames
count case-insensitively, like logins do.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from knowledge.errors import KdtTutorError


class TooManyAttemptsError(KdtTutorError):
    """Too many failed logins; try again after ``retry_after`` seconds (HTTP 429)."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"too many failed logins; try again in {minutes} minute(s)")
        self.retry_after = retry_after


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        max_address_failures: int = 30,
        window_s: float = 15 * 60,
        lockout_s: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_address_failures = max_address_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str | None) -> tuple[str, str]:
        return f"user:{username.strip().lower()}", f"addr:{address or '?'}"

    def check(self, username: str, address: str | None) -> None:
        """Raise ``TooManyAttemptsError`` when this attempt must not be checked."""
        now = self.clock()
        with self._lock:
            for key in self._keys(username, address):
                until = self._locked_until.get(key, 0.0)
                if until > now:
                    raise TooManyAttemptsError(math.ceil(until - now))
                if until:
                    del self._locked_until[key]

    def failed(self, username: str, address: str | None) -> None:
        now = self.clock()
        user_key, address_key = self._keys(username, address)
        limits = ((user_key, self.max_failures), (address_key, self.max_address_failures))
        with self._lock:
            for key, limit in limits:
                recent = self._failures.setdefault(key, deque())
                recent.append(now)
                while recent and recent[0] <= now - self.window_s:
                    recent.popleft()
                if len(recent) >= limit:
                    self._locked_until[key] = now + self.lockout_s
                    recent.clear()
            self._forget_old(now)

    def succeeded(self, username: str, address: str | None) -> None:
        user_key, _ = self._keys(username, address)
        with self._lock:
            self._failures.pop(user_key, None)

    def _forget_old(self, now: float) -> None:
        """Drop stale entries so memory stays bounded by recent activity."""
        if len(self._failures) < 10_000:
            return
        for key in [k for k, d in self._failures.items() if not d or d[-1] <= now - self.window_s]:
            del self._failures[key]
