"""Slows down password guessing without letting one address lock out a classroom.

Three counts of failed logins within ``window_s``; reaching one refuses further attempts
it covers for ``lockout_s``:

- per (account, address), ``max_failures`` (5): guessing one password from one place;
- per account, ``max_account_failures`` (20): guessing one password from many places;
- per address, ``max_address_failures`` (30): spraying a password over many usernames.

A classroom behind one NAT shares an address, so the account-wide and address-wide locks
do not refuse a (account, address) pair that logged in successfully before (within
``remember_s``, 30 days): trainees who have logged in from the classroom keep logging in
while a sprayer there, or a guesser elsewhere, is refused. Only the pair's own count
(5 wrong passwords for that account from that address) stops a known pair. A new account
on a locked address waits for the lockout (or logs in from another network).

Each attempt is counted as a failure *before* its password is checked (under one lock), and
a success takes it back: 10 concurrent wrong passwords check at most ``max_failures`` of
them. A refused attempt is not checked at all (no password hash is computed), so a locked
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

from tutor.rate_limit import RateLimitedError

_MEMORY_BOUND = 10_000  # entries kept before stale ones are swept


class TooManyAttemptsError(RateLimitedError):
    """Too many failed logins; try again after ``retry_after`` seconds (HTTP 429)."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"too many failed logins; try again in {minutes} minute(s)", retry_after=retry_after
        )


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        max_account_failures: int = 20,
        max_address_failures: int = 30,
        window_s: float = 15 * 60,
        lockout_s: float = 15 * 60,
        remember_s: float = 30 * 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_account_failures = max_account_failures
        self.max_address_failures = max_address_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.remember_s = remember_s
        self.clock = clock
        self._failures: dict[tuple, deque[float]] = {}
        self._locked_until: dict[tuple, float] = {}
        self._known: dict[tuple[str, str], float] = {}  # (account, address) -> last success
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str | None) -> tuple[tuple, tuple, tuple]:
        name, addr = username.strip().lower(), address or "?"
        return ("pair", name, addr), ("account", name), ("address", addr)

    def attempt(self, username: str, address: str | None) -> None:
        """Count this attempt as a failure, or raise ``TooManyAttemptsError`` (nothing counted)
        when it must not be checked. Call :meth:`succeeded` when the password was right."""
        now = self.clock()
        pair, account, addr = self._keys(username, address)
        with self._lock:
            known = self._known.get(pair[1:], -math.inf) > now - self.remember_s
            for key in (pair,) if known else (pair, account, addr):
                until = self._locked_until.get(key, 0.0)
                if until > now:
                    raise TooManyAttemptsError(math.ceil(until - now))
            limits = (
                (pair, self.max_failures),
                (account, self.max_account_failures),
                (addr, self.max_address_failures),
            )
            for key, limit in limits:
                recent = self._failures.setdefault(key, deque())
                while recent and recent[0] <= now - self.window_s:
                    recent.popleft()
                recent.append(now)
                if len(recent) >= limit:
                    self._locked_until[key] = now + self.lockout_s
                    recent.clear()
            self._sweep(now)

    def succeeded(self, username: str, address: str | None) -> None:
        """The attempt's password was right: clear the account's counts (this address's and
        all addresses'), take the attempt back from the address's count, and remember the pair
        as known."""
        pair, account, addr = self._keys(username, address)
        with self._lock:
            for key in (pair, account):
                self._failures.pop(key, None)
                self._locked_until.pop(key, None)
            recent = self._failures.get(addr)
            if recent:
                recent.pop()
            self._known[pair[1:]] = self.clock()

    def _sweep(self, now: float) -> None:
        """Drop stale entries so memory stays bounded by recent activity."""
        if len(self._failures) > _MEMORY_BOUND:
            stale = [k for k, d in self._failures.items() if not d or d[-1] <= now - self.window_s]
            for key in stale:
                del self._failures[key]
        if len(self._locked_until) > _MEMORY_BOUND:
            for key in [k for k, until in self._locked_until.items() if until <= now]:
                del self._locked_until[key]
        if len(self._known) > _MEMORY_BOUND:
            for key in [k for k, at in self._known.items() if at <= now - self.remember_s]:
                del self._known[key]
