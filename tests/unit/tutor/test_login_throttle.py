"""LoginThrottle: lockout per account and per address, expiry, reset on success."""

from __future__ import annotations

import pytest

from tutor.accounts.login_throttle import LoginThrottle, TooManyAttemptsError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock, **kw) -> LoginThrottle:
    values = {"max_failures": 3, "max_address_failures": 5, "window_s": 60, "lockout_s": 120}
    values.update(kw)
    return LoginThrottle(clock=clock, **values)


def test_account_is_locked_after_max_failures_from_any_address() -> None:
    clock = Clock()
    throttle = make(clock)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        throttle.check("Kim", address)
        throttle.failed("Kim", address)
    with pytest.raises(TooManyAttemptsError) as err:
        throttle.check("kim", "10.0.0.9")  # case-insensitive, another address
    assert err.value.retry_after == 120
    throttle.check("lee", "10.0.0.9")  # other accounts are unaffected


def test_lock_expires_after_the_lockout() -> None:
    clock = Clock()
    throttle = make(clock)
    for _ in range(3):
        throttle.failed("kim", "a")
    clock.now += 119
    with pytest.raises(TooManyAttemptsError) as err:
        throttle.check("kim", "a")
    assert err.value.retry_after == 1
    clock.now += 1
    throttle.check("kim", "a")


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = make(clock)
    throttle.failed("kim", "a")
    throttle.failed("kim", "a")
    clock.now += 61
    throttle.failed("kim", "a")
    throttle.check("kim", "a")


def test_success_clears_the_account_count() -> None:
    clock = Clock()
    throttle = make(clock)
    throttle.failed("kim", "a")
    throttle.failed("kim", "a")
    throttle.succeeded("kim", "a")
    throttle.failed("kim", "a")
    throttle.failed("kim", "a")
    throttle.check("kim", "a")


def test_one_address_spraying_many_accounts_is_locked() -> None:
    clock = Clock()
    throttle = make(clock)
    for i in range(5):
        throttle.failed(f"user{i}", "10.9.9.9")
    with pytest.raises(TooManyAttemptsError):
        throttle.check("someone-else", "10.9.9.9")
    throttle.check("someone-else", "10.1.1.1")
