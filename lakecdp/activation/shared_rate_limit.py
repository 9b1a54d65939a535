"""One destination's pace shared by every sender, wherever it runs: the token bucket of
`rate_limit.AdaptiveTokenBucket` kept in Redis.

Two syncs to the same API (two Airflow tasks, two machines, a backfill beside the hourly run)
each pacing themselves would together exceed the API's quota; with the bucket in Redis they
draw from one budget and one 429 slows all of them. Each step (take a token, slow down, creep
back up) is one Lua script, so it is atomic, and it reads the time from Redis, so senders on
machines with different clocks agree on grants and pauses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis
import redis.asyncio as aredis

from lakecdp.activation.rate_limit import PaceRules

# KEYS[1]: the bucket. ARGV: max rate, burst. Returns {granted 1|0, grant time | seconds to wait}
# as strings (Redis truncates Lua numbers to integers).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local max_rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'rate', 'tokens', 'updated', 'paused_until')
local rate = math.min(tonumber(h[1]) or max_rate, max_rate)
local tokens = tonumber(h[2]) or burst
local updated = tonumber(h[3]) or now
local paused = tonumber(h[4]) or 0
if now < paused then return {'0', tostring(paused - now)} end
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
local answer
if tokens >= 1 then
  tokens = tokens - 1
  answer = {'1', tostring(now)}
else
  answer = {'0', tostring((1 - tokens) / rate)}
end
redis.call('HSET', KEYS[1], 'rate', rate, 'tokens', tokens, 'updated', updated)
redis.call('EXPIRE', KEYS[1], 86400)
return answer
"""
# ARGV: granted_at, retry_after (0: none), max rate, min rate, factor without / with Retry-After.
_THROTTLED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local granted_at, retry_after = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_rate, min_rate = tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'rate', 'paused_until', 'last_decrease')
local rate = math.min(tonumber(h[1]) or max_rate, max_rate)
local paused = tonumber(h[2]) or 0
local last_decrease = tonumber(h[3]) or -1
if granted_at >= last_decrease then
  local factor = tonumber(ARGV[5])
  if retry_after > 0 then factor = tonumber(ARGV[6]) end
  rate = math.max(min_rate, rate * factor)
  last_decrease = now
end
if retry_after > 0 then paused = math.max(paused, now + retry_after) end
redis.call('HSET', KEYS[1], 'rate', rate, 'tokens', 0, 'updated', math.max(now, paused),
  'paused_until', paused, 'last_decrease', last_decrease)
redis.call('EXPIRE', KEYS[1], 86400)
return tostring(rate)
"""
# ARGV: max rate, step.
_SUCCEEDED = """
local max_rate = tonumber(ARGV[1])
local rate = tonumber(redis.call('HGET', KEYS[1], 'rate')) or max_rate
rate = math.min(max_rate, rate + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'rate', rate)
return tostring(rate)
"""


class SharedBudgetUnavailable(RuntimeError):
    """The shared budget's Redis cannot be reached; the run sends nothing rather than pace
    itself alone against a quota others share."""


class RedisTokenBucket:
    """`RateLimiter` whose state lives in Redis under `lakecdp:rate:<destination>`; the same
    AIMD rules as `AdaptiveTokenBucket` (halve on a bare 429, ease by `told_decrease_factor` and
    pause everyone on one with Retry-After, step back up per success)."""

    def __init__(self, redis_url: str, destination: str, rules: PaceRules) -> None:
        self.key = f"lakecdp:rate:{destination}"
        self.rules = rules
        self._url = redis_url
        self._rate = rules.max_rate
        self._client: aredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        try:  # fail when opened, with a reason that names no password
            redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
        except redis.RedisError as exc:
            raise SharedBudgetUnavailable(
                f"destination {destination}: its shared rate budget needs Redis "
                f"({type(exc).__name__}); start it (make services) or set limits.shared_budget "
                "to false"
            ) from exc

    def _script(self, name: str, text: str) -> Any:
        # The async client binds to the event loop it first runs on: create it there.
        if self._client is None:
            self._client = aredis.Redis.from_url(self._url, socket_connect_timeout=5)
        if name not in self._scripts:
            self._scripts[name] = self._client.register_script(text)
        return self._scripts[name]

    @property
    def requests_per_second(self) -> float:
        return self._rate

    async def acquire(self) -> float:
        script = self._script("acquire", _ACQUIRE)
        while True:
            args = [self.rules.max_rate, self.rules.burst]
            granted, value = await script(keys=[self.key], args=args)
            if int(granted):
                return float(value)
            await asyncio.sleep(float(value))

    async def throttled(self, granted_at: float, retry_after_seconds: float | None) -> None:
        script = self._script("throttled", _THROTTLED)
        rate = await script(
            keys=[self.key],
            args=[
                granted_at,
                retry_after_seconds or 0,
                self.rules.max_rate,
                self.rules.min_rate,
                self.rules.decrease_factor,
                self.rules.told_decrease_factor,
            ],
        )
        self._rate = float(rate)

    async def succeeded(self) -> None:
        script = self._script("succeeded", _SUCCEEDED)
        args = [self.rules.max_rate, self.rules.increase_step]
        self._rate = float(await script(keys=[self.key], args=args))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
