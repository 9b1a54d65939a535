"""A bounded HTTP load generator for the collector, on loopback only.

Closed loop (N workers send as fast as answers come back) measures capacity; open loop (a fixed
rate of requests, whatever the latency) measures latency at a given load without coordinated
omission. Both stop after a fixed number of requests or a time cap.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class LoadResult:
    requests: int = 0
    events: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def summary(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "events": self.events,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "events_per_s": round(self.events / self.seconds, 1) if self.seconds else 0.0,
            "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def track_event(run: str, n: int) -> dict:
    return {
        "type": "track",
        "event": "product_viewed",
        "messageId": f"{run}-{n}",
        "anonymousId": f"anon-{n % 50_000}",
        "timestamp": "2026-11-01T10:00:00.000Z",
        "properties": {"sku": f"SKU-{n % 997}", "price": 12.5, "currency": "SGD"},
        "context": {"channel": "web", "market": "SG", "device": {"id": f"d-{n % 40_000}"}},
    }


def batch_bodies(batch_size: int, run: str | None = None) -> Callable[[], tuple[bytes, int]]:
    """Bodies of `batch_size` track events; message ids start with `run` (random by default)."""
    run = run or uuid.uuid4().hex[:8]
    counter = itertools.count()

    def next_body() -> tuple[bytes, int]:
        events = [track_event(run, next(counter)) for _ in range(batch_size)]
        return orjson.dumps({"batch": events}), batch_size

    return next_body


def single_bodies() -> Callable[[], tuple[bytes, int]]:
    run = uuid.uuid4().hex[:8]
    counter = itertools.count()
    return lambda: (orjson.dumps(track_event(run, next(counter))), 1)


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    result: LoadResult,
    events: int,
    started: float | None = None,
) -> None:
    started = time.perf_counter() if started is None else started
    try:
        async with session.post(url, data=body) as response:
            await response.read()
            ok = response.status == 200
    except aiohttp.ClientError:
        ok = False
    result.latencies_ms.append((time.perf_counter() - started) * 1000)
    result.requests += 1
    if ok:
        result.events += events
    else:
        result.errors += 1


def _session(write_key: str, concurrency: int) -> aiohttp.ClientSession:
    """A Segment write key (HTTP Basic), or a ready header value such as 'Bearer <API key>'."""
    token = base64.b64encode(f"{write_key}:".encode()).decode()
    auth = write_key if write_key.startswith("Bearer ") else f"Basic {token}"
    return aiohttp.ClientSession(
        headers={"Authorization": auth, "Content-Type": "application/json"},
        connector=aiohttp.TCPConnector(limit=concurrency),
    )


def _check_loopback(url: str) -> None:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if host not in LOOPBACK and not host.startswith("127."):
        raise ValueError(f"load is only sent to loopback addresses, not {host}")


async def closed_loop(
    url: str,
    write_key: str,
    bodies: Callable[[], tuple[bytes, int]],
    *,
    requests: int,
    concurrency: int,
    max_seconds: float,
) -> LoadResult:
    _check_loopback(url)
    result = LoadResult()
    remaining = itertools.count()
    deadline = time.perf_counter() + max_seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while next(remaining) < requests and time.perf_counter() < deadline:
            body, events = bodies()
            await _post(session, url, body, result, events)

    async with _session(write_key, concurrency) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


async def open_loop(
    url: str,
    write_key: str,
    bodies: Callable[[], tuple[bytes, int]],
    *,
    requests: int,
    rate_per_s: float,
    max_seconds: float,
    max_in_flight: int = 256,
    on_progress: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """Start one request every 1/rate seconds; latency counts from the scheduled start."""
    _check_loopback(url)
    result = LoadResult()
    in_flight: set[asyncio.Task[None]] = set()
    async with _session(write_key, max_in_flight) as session:
        started = time.perf_counter()
        for n in range(requests):
            scheduled = started + n / rate_per_s
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() - started > max_seconds:
                break
            body, events = bodies()
            task = asyncio.create_task(_post(session, url, body, result, events, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            if on_progress and n % 1000 == 0:
                on_progress(result)
        await asyncio.gather(*in_flight)
        result.seconds = time.perf_counter() - started
    return result
