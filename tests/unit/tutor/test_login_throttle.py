"""LoginThrottle: per (account, address), per account and per address; known pairs behind a
locked address keep logging in; counting is atomic; expiry and reset on success."""

from __future__ import annotations

import threading

import pytest

from tutor.accounts.login_throttle import LoginThrottle, TooManyAttemptsError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock, **kw) -> LoginThrottle:
    values = {
        "max_failures": 3,
        "max_account_failures": 6,
        "max_address_failures": 5,
        "window_s": 60,
        "lockout_s": 120,
    }
    values.update(kw)
    return LoginThrottle(clock=clock, **values)


def fail(throttle: LoginThrottle, username: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        throttle.attempt(username, address)  # counted; no succeeded(): a wrong password


def test_one_account_from_one_address_is_locked_after_max_failures() -> None:
    clock = Clock()
    throttle = make(clock)
    fail(throttle, "Kim", "10.0.0.1", 3)
    with pytest.raises(TooManyAttemptsError) as err:
        throttle.attempt("kim", "10.0.0.1")  # case-insensitive
    assert err.value.retry_after == 120
    throttle.attempt("kim", "10.0.0.2")  # the same account from elsewhere: its own count
    throttle.attempt("lee", "10.0.0.1")  # another account from the same address


def test_an_account_guessed_from_many_addresses_is_locked_everywhere_new() -> None:
    clock = Clock()
    throttle = make(clock)
    for i in range(6):
        fail(throttle, "kim", f"10.0.0.{i}")
    with pytest.raises(TooManyAttemptsError):
        throttle.attempt("kim", "10.0.0.99")


def test_concurrent_wrong_passwords_check_at_most_the_limit() -> None:
    throttle = make(Clock(), max_failures=5, max_account_failures=100, max_address_failures=100)
    checked, refused = [], []
    start = threading.Barrier(10)

    def guess() -> None:
        start.wait()
        try:
            throttle.attempt("kim", "10.0.0.1")
            checked.append(1)
        except TooManyAttemptsError:
            refused.append(1)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(checked), len(refused)) == (5, 5)


def test_a_classroom_nat_locks_out_sprayers_not_known_trainees() -> None:
    clock = Clock()
    throttle = make(clock)
    nat = "203.0.113.7"
    throttle.attempt("kim", nat)
    throttle.succeeded("kim", nat)  # kim logged in from the classroom before
    for i in range(5):
        fail(throttle, f"guess{i}", nat)  # someone sprays passwords over usernames
    with pytest.raises(TooManyAttemptsError):
        throttle.attempt("lee", nat)  # an account never seen here waits
    throttle.attempt("kim", nat)  # a known trainee still gets their password checked
    throttle.succeeded("kim", nat)
    throttle.attempt("lee", "198.51.100.1")  # and lee from home


def test_a_known_pair_is_still_stopped_by_its_own_count() -> None:
    clock = Clock()
    throttle = make(clock)
    throttle.attempt("kim", "a")
    throttle.succeeded("kim", "a")
    fail(throttle, "kim", "a", 3)
    with pytest.raises(TooManyAttemptsError):
        throttle.attempt("kim", "a")


def test_lock_expires_after_the_lockout() -> None:
    clock = Clock()
    throttle = make(clock)
    fail(throttle, "kim", "a", 3)
    clock.now += 119
    with pytest.raises(TooManyAttemptsError) as err:
        throttle.attempt("kim", "a")
    assert err.value.retry_after == 1
    clock.now += 1
    throttle.attempt("kim", "a")


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = make(clock)
    fail(throttle, "kim", "a", 2)
    clock.now += 61
    fail(throttle, "kim", "a", 2)
    throttle.attempt("kim", "a")


def test_success_clears_the_account_count_and_is_not_a_failure() -> None:
    clock = Clock()
    throttle = make(clock)
    fail(throttle, "kim", "a", 2)
    throttle.attempt("kim", "a")
    throttle.succeeded("kim", "a")
    fail(throttle, "kim", "a", 2)
    throttle.attempt("kim", "a")
    for i in range(4):  # successes from an address never add up to its lock
        throttle.attempt(f"user{i}", "b")
        throttle.succeeded(f"user{i}", "b")
    fail(throttle, "new", "b", 3)
    throttle.attempt("other", "b")
