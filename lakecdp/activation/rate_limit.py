"""How fast one destination may be called: a token bucket that backs off on 429 and ramps back.

Senders ask the limiter before every request and report how it went; the limiter alone decides
the pace. That keeps the pace replaceable: a limiter whose state lives in Redis can pace senders
on several machines against one API's quota behind the same three calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class RateLimiter(Protocol):
    """The pace of one destination, shared by all its senders."""

    async def acquire(self) -> float:
        """Wait for a pause to end and a token to be free; return when it was granted, on the
        limiter's own clock (handed back to `throttled`)."""
        ...

    async def throttled(self, granted_at: float, retry_after_seconds: float | None) -> None:
        """A request granted at `granted_at` got 429: slow down, and pause every sender for
        `retry_after_seconds` when the receiver said how long."""
        ...

    async def succeeded(self) -> None:
        """A request was answered without throttling: the pace may creep back up."""
        ...

    @property
    def requests_per_second(self) -> float:
        """The pace now (for stats)."""
        ...


@dataclass(frozen=True)
class PaceRules:
    """The AIMD rules every limiter follows, wherever its state lives: start at and never
    exceed `max_rate`, never drop below `min_rate`; multiply by `decrease_factor` on a bare 429
    and by `told_decrease_factor` on one with Retry-After; add `increase_step` per success."""

    max_rate: float
    burst: int
    min_rate: float
    decrease_factor: float
    told_decrease_factor: float
    increase_step: float

    @classmethod
    def of(
        cls,
        requests_per_second: float,
        burst: int,
        *,
        min_requests_per_second: float = 0.5,
        decrease_factor: float = 0.5,
        told_decrease_factor: float = 0.9,
        increase_share: float = 0.05,
    ) -> PaceRules:
        if requests_per_second <= 0 or burst < 1:
            raise ValueError("requests_per_second must be > 0 and burst >= 1")
        if not 0 < decrease_factor < 1 or not 0 < told_decrease_factor <= 1:
            raise ValueError("decrease factors must be between 0 and 1")
        return cls(
            max_rate=requests_per_second,
            burst=burst,
            min_rate=min(min_requests_per_second, requests_per_second),
            decrease_factor=decrease_factor,
            told_decrease_factor=told_decrease_factor,
            increase_step=requests_per_second * increase_share,
        )


class AdaptiveTokenBucket:
    """In-process AIMD token bucket: halve the rate on a 429 without Retry-After (ease it by
    `told_decrease_factor` on one with it, and pause every sender as told; never below
    `min_rate`), add a step of the configured rate per success until it is reached again.

    One burst of concurrent requests that all get 429 reflects one overload, so only a request
    granted after the last decrease may decrease the rate again (as TCP halves once per window).
    No locks: every call runs on one event loop and does not await between read and write.
    """

    def __init__(
        self,
        requests_per_second: float,
        burst: int,
        *,
        min_requests_per_second: float = 0.5,
        decrease_factor: float = 0.5,
        told_decrease_factor: float = 0.9,
        increase_share: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = PaceRules.of(
            requests_per_second,
            burst,
            min_requests_per_second=min_requests_per_second,
            decrease_factor=decrease_factor,
            told_decrease_factor=told_decrease_factor,
            increase_share=increase_share,
        )
        self._clock = clock
        self._rate = requests_per_second
        self._tokens = float(burst)
        self._updated = clock()
        self._paused_until = 0.0
        self._last_decrease = float("-inf")
        self.decreases = 0
        self.pauses = 0

    @property
    def requests_per_second(self) -> float:
        return self._rate

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.rules.burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def try_acquire(self) -> float | None:
        """A token now (its grant time), or None and how long to wait is up to the caller."""
        now = self._clock()
        if now < self._paused_until:
            return None
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return now
        return None

    def wait_seconds(self) -> float:
        """How long until `try_acquire` may succeed."""
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        self._refill(now)
        return max(0.0, (1 - self._tokens) / self._rate)

    async def acquire(self) -> float:
        while (granted := self.try_acquire()) is None:
            await asyncio.sleep(self.wait_seconds())
        return granted

    async def throttled(self, granted_at: float, retry_after_seconds: float | None) -> None:
        self.record_throttle(granted_at, retry_after_seconds)

    def record_throttle(self, granted_at: float, retry_after_seconds: float | None) -> None:
        now = self._clock()
        if granted_at >= self._last_decrease:
            # A receiver that names the wait has said what it needs: wait as told and ease off
            # a little. Without Retry-After, the pace is all there is to adjust: halve it.
            rules = self.rules
            factor = rules.told_decrease_factor if retry_after_seconds else rules.decrease_factor
            self._rate = max(self.rules.min_rate, self._rate * factor)
            self._last_decrease = now
            self.decreases += 1
        if retry_after_seconds is not None and retry_after_seconds > 0:
            self._paused_until = max(self._paused_until, now + retry_after_seconds)
            self.pauses += 1
        # No saved-up burst fires the moment the pause ends: the bucket refills from empty.
        self._tokens = 0.0
        self._updated = max(now, self._paused_until)

    async def succeeded(self) -> None:
        self.record_success()

    def record_success(self) -> None:
        self._rate = min(self.rules.max_rate, self._rate + self.rules.increase_step)
