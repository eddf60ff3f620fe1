"""RateLimiter: per key, a sliding minute, Retry-After seconds, refused requests not counted."""

from __future__ import annotations

import pytest

from tutor.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_allows_per_minute_per_key_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    for _ in range(3):
        assert limiter.check("kim") is None
        clock.now += 10
    assert limiter.check("kim") == 30  # the first request leaves the window at 560
    assert limiter.check("lee") is None
    clock.now += 29
    assert limiter.check("kim") == 1
    clock.now += 1
    assert limiter.check("kim") is None
    assert limiter.check("kim") == 10  # the refused ones were not counted


def test_zero_turns_the_limit_off_and_negative_is_refused() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.check("kim") is None for _ in range(1000))
    with pytest.raises(ValueError):
        RateLimiter(-1)
