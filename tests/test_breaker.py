"""The circuit breaker: closed, open after N failures in a window, half-open after a cool-down."""

from __future__ import annotations

import pytest

from bot.errors import GraderUnavailable
from bot.grading.breaker import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Outage(Exception):
    pass


class BadReply(Exception):
    pass


def breaker(clock: Clock, failures: int = 3) -> CircuitBreaker:
    return CircuitBreaker(
        failures=failures,
        window=60,
        cooldown=30,
        is_failure=lambda exc: isinstance(exc, Outage),
        clock=clock,
    )


def fail(b: CircuitBreaker, exc: Exception | None = None) -> None:
    with pytest.raises(type(exc or Outage())), b.guard():
        raise exc or Outage()


def test_opens_after_n_failures_within_the_window() -> None:
    clock = Clock()
    b = breaker(clock)
    fail(b)
    fail(b)
    assert b.state == "closed"
    fail(b)
    assert b.state == "open"
    calls = 0
    with pytest.raises(CircuitOpen), b.guard():
        calls += 1
    assert calls == 0
    assert issubclass(CircuitOpen, GraderUnavailable)  # the core's fallback path


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock()
    b = breaker(clock)
    fail(b)
    fail(b)
    clock.now += 61
    fail(b)
    assert b.state == "closed"


def test_unusable_replies_and_successes_do_not_open_it() -> None:
    clock = Clock()
    b = breaker(clock, failures=2)
    for _ in range(5):
        fail(b, BadReply())
    with b.guard():
        pass
    assert b.state == "closed"


def test_half_open_lets_one_probe_through_and_success_closes() -> None:
    clock = Clock()
    b = breaker(clock, failures=1)
    fail(b)
    clock.now += 29
    assert b.state == "open"
    clock.now += 1
    assert b.state == "half_open"
    with b.guard(), pytest.raises(CircuitOpen), b.guard():  # a 2nd caller during the probe
        pass
    assert b.state == "closed"
    fail(b)  # closed again: one failure (N=1) opens it anew
    assert b.state == "open"


def test_failed_probe_waits_a_full_cool_down_again() -> None:
    clock = Clock()
    b = breaker(clock, failures=1)
    fail(b)
    clock.now += 30
    fail(b)
    assert b.state == "open"
    clock.now += 29
    assert b.state == "open"
    clock.now += 1
    assert b.state == "half_open"


def test_cancelled_probe_frees_the_slot_without_a_verdict() -> None:
    clock = Clock()
    b = breaker(clock, failures=1)
    fail(b)
    clock.now += 30
    with pytest.raises(KeyboardInterrupt), b.guard():
        raise KeyboardInterrupt
    assert b.state == "half_open"
    with b.guard():
        pass
    assert b.state == "closed"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures=0)
