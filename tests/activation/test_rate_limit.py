"""The adaptive token bucket on a hand-driven clock: halving, floor, ramp, pauses."""

from __future__ import annotations

import asyncio

import pytest

from lakecdp.activation.rate_limit import AdaptiveTokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bucket(
    clock: Clock, rate: float = 10.0, burst: int = 2, floor: float = 1.0
) -> AdaptiveTokenBucket:
    return AdaptiveTokenBucket(rate, burst, min_requests_per_second=floor, clock=clock)


def test_burst_then_one_token_per_interval() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=10, burst=2)
    assert limiter.try_acquire() is not None and limiter.try_acquire() is not None
    assert limiter.try_acquire() is None
    assert limiter.wait_seconds() == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.try_acquire() == clock.now


def test_429_halves_the_rate_once_per_burst_down_to_the_floor() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=8, floor=1.5)
    granted = [limiter.try_acquire(), limiter.try_acquire()]
    clock.now += 0.01
    limiter.record_throttle(granted[0], None)  # type: ignore[arg-type]
    limiter.record_throttle(granted[1], None)  # type: ignore[arg-type]  # same overload
    assert limiter.requests_per_second == 4
    for _ in range(5):
        clock.now += 10
        limiter.record_throttle(limiter.try_acquire(), None)  # type: ignore[arg-type]
    assert limiter.requests_per_second == 1.5


def test_successes_ramp_back_gradually_to_the_configured_rate() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=10)
    limiter.record_throttle(limiter.try_acquire(), None)  # type: ignore[arg-type]
    assert limiter.requests_per_second == 5
    limiter.record_success()
    assert limiter.requests_per_second == pytest.approx(5.5)  # 5% of 10 per success
    for _ in range(100):
        limiter.record_success()
    assert limiter.requests_per_second == 10


def test_retry_after_pauses_every_caller_and_the_bucket_restarts_empty() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=10, burst=5)
    limiter.record_throttle(limiter.try_acquire(), 2.0)  # type: ignore[arg-type]
    clock.now += 1.9
    assert limiter.try_acquire() is None
    assert limiter.wait_seconds() == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.try_acquire() is None  # no saved-up burst at the end of the pause
    clock.now += 1 / limiter.requests_per_second + 1e-9  # one token's interval at the pace now
    assert limiter.try_acquire() is not None


def test_acquire_waits_on_the_event_loop() -> None:
    limiter = AdaptiveTokenBucket(50, 1)

    async def three() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(3):
            await limiter.acquire()
        return loop.time() - started

    assert asyncio.run(three()) >= 2 / 50 - 0.005


def test_a_429_with_retry_after_eases_the_rate_instead_of_halving_it() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=10, burst=5)
    limiter.record_throttle(limiter.try_acquire(), 0.5)  # type: ignore[arg-type]
    assert limiter.requests_per_second == pytest.approx(9.0)
    clock.now += 1.0
    limiter.record_throttle(limiter.try_acquire(), None)  # type: ignore[arg-type]
    assert limiter.requests_per_second == pytest.approx(4.5)
