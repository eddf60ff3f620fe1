"""The per-user rate limiter: a sliding window per key, with a fake clock."""

from __future__ import annotations

import pytest

from tutor.rate_limit import RateLimitedError, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_counts_per_key_within_the_window() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=2, window_s=60, what="reviews", clock=clock)
    limiter.hit("a")
    clock.now += 10
    limiter.hit("a")
    limiter.hit("b")  # another key has its own count

    with pytest.raises(RateLimitedError) as refused:
        limiter.hit("a")

    # the oldest hit (t=1000) leaves the window at t=1060; now is 1010
    assert refused.value.retry_after == 50
    assert "too many reviews (at most 2 per 60 s)" in str(refused.value)


def test_a_refused_request_is_not_counted_and_the_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=1, window_s=60, clock=clock)
    limiter.hit("a")
    clock.now += 30
    with pytest.raises(RateLimitedError):
        limiter.hit("a")
    clock.now += 30  # the first hit has left the window; the refused one never entered it
    limiter.hit("a")
    with pytest.raises(RateLimitedError) as refused:
        limiter.hit("a")
    assert refused.value.retry_after == 60


def test_zero_means_no_limit_and_bad_settings_are_refused() -> None:
    limiter = RateLimiter(limit=0)
    for _ in range(1000):
        limiter.hit("a")
    with pytest.raises(ValueError):
        RateLimiter(limit=-1)
    with pytest.raises(ValueError):
        RateLimiter(limit=1, window_s=0)
