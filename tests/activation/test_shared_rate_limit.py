"""A destination's pace shared through the project's Redis (`make services`): two senders that
each think they own the budget draw from one bucket, and one sender's 429 pauses the other."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
import redis

from lakecdp.activation.destinations import destination_for
from lakecdp.activation.http_delivery import HttpDelivery
from lakecdp.activation.rate_limit import PaceRules
from lakecdp.activation.shared_rate_limit import RedisTokenBucket, SharedBudgetUnavailable
from tests.conftest import make_config

REDIS_URL = "redis://localhost:6379/0"


def _bucket(destination: str, rate: float = 40.0, burst: int = 4) -> RedisTokenBucket:
    return RedisTokenBucket(REDIS_URL, destination, PaceRules.of(rate, burst))


async def _drain(bucket: RedisTokenBucket, requests: int) -> None:
    for _ in range(requests):
        await bucket.acquire()
    await bucket.aclose()


def test_two_senders_draw_from_one_budget() -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    first, second = _bucket(name), _bucket(name)

    async def both() -> float:
        clock = time.monotonic()
        await asyncio.gather(_drain(first, 50), _drain(second, 50))
        return time.monotonic() - clock

    elapsed = asyncio.run(both())
    # 100 grants at 40/s after a burst of 4 need at least 2.4 s; two private buckets of 40/s
    # would have granted them in about 1.2 s.
    assert elapsed >= (100 - 4) / 40 * 0.95


def test_one_senders_429_slows_and_pauses_the_other() -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    first, second = _bucket(name, rate=100.0), _bucket(name, rate=100.0)

    async def scenario() -> float:
        granted = await first.acquire()
        await first.throttled(granted, 0.5)  # a 429 with Retry-After: 0.5
        clock = time.monotonic()
        await second.acquire()
        waited = time.monotonic() - clock
        await first.aclose()
        await second.aclose()
        return waited

    waited = asyncio.run(scenario())
    assert waited >= 0.4
    rate = float(redis.Redis.from_url(REDIS_URL).hget(f"lakecdp:rate:{name}", "rate") or 0)
    assert rate == pytest.approx(90.0)  # eased by 0.9, as the receiver named its wait


def test_an_unreachable_redis_refuses_the_run_without_naming_the_password() -> None:
    with pytest.raises(SharedBudgetUnavailable, match="shared rate budget needs Redis") as caught:
        RedisTokenBucket("redis://:hunter2@127.0.0.1:1/0", "hook", PaceRules.of(10.0, 2))
    assert "hunter2" not in str(caught.value)


def test_a_destination_declared_shared_is_paced_from_redis(tmp_path: Path) -> None:
    destination = {
        "type": "http",
        "url": "http://127.0.0.1:9/records",
        "limits": {"requests_per_second": 5, "shared_budget": True},
    }
    sync = {"source": "aud_x", "destination": "hook", "mapping": {"email": "email"}}
    config = make_config(
        tmp_path,
        LAKECDP__DESTINATIONS__HOOK=json.dumps(destination),
        LAKECDP__SYNCS__TO_HOOK=json.dumps(sync),
    )
    delivery = destination_for(config, "to_hook", "run-1", {"email": "string"})
    assert isinstance(delivery, HttpDelivery)
    assert isinstance(delivery.limiter, RedisTokenBucket)
    assert delivery.limiter.key == "lakecdp:rate:hook"  # per destination, not per sync
    delivery.close()
