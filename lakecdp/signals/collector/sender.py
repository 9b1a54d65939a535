"""Replay JSONL files of Segment messages to a collector over HTTP, as an SDK would.

Used by the demo (the synthetic world's web/app events) and to backfill from exported files.
Messages are grouped into /v1/batch requests under the Segment size limits, sent with the write
key of their channel's source, retried with backoff on 429/5xx and connection errors. Lines that
are not JSON are sent alone, so the collector refuses and quarantines them like any bad client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from threading import BoundedSemaphore, Lock

import httpx
import orjson
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)


class RetryableStatus(Exception):
    pass


@dataclass
class SendStats:
    lines: int = 0
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    failed_requests: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock, repr=False)

    def add(self, accepted: int, reasons: list[str]) -> None:
        with self._lock:
            self.requests += 1
            self.accepted += accepted
            self.rejected += len(reasons)
            for reason in reasons:
                self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + 1


@dataclass
class _Request:
    endpoint: str
    write_key: str
    body: bytes
    messages: int


def _requests(
    files: list[Path],
    key_for_channel: Callable[[str | None], str],
    max_batch_messages: int,
    max_batch_bytes: int,
    historical: bool = False,
) -> Iterator[_Request]:
    pending: dict[str, list[bytes]] = {}
    sizes: dict[str, int] = {}

    def flush(key: str) -> _Request:
        lines = pending.pop(key)
        sizes.pop(key)
        return _Request("batch", key, b'{"batch":[' + b",".join(lines) + b"]}", len(lines))

    for file in files:
        with file.open("rb") as handle:
            for raw in handle:
                line = raw.strip()
                if not line:
                    continue
                try:
                    message = orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield _Request("track", key_for_channel(None), line, 1)
                    continue
                if historical and isinstance(message, dict) and "sentAt" in message:
                    # A replay is a late delivery of history: without sentAt the collector
                    # keeps each event's own timestamp instead of "correcting" it to now.
                    del message["sentAt"]
                    line = orjson.dumps(message)
                context = message.get("context") if isinstance(message, dict) else None
                channel = context.get("channel") if isinstance(context, dict) else None
                key = key_for_channel(channel if isinstance(channel, str) else None)
                if key in pending and (
                    len(pending[key]) >= max_batch_messages
                    or sizes[key] + len(line) > max_batch_bytes
                ):
                    yield flush(key)
                pending.setdefault(key, []).append(line)
                sizes[key] = sizes.get(key, 0) + len(line) + 1
    for key in list(pending):
        yield flush(key)


def send_files(
    files: list[Path],
    url: str,
    write_keys: dict[str, str],
    *,
    concurrency: int = 4,
    max_batch_messages: int = 100,
    max_batch_bytes: int = 400_000,
    progress: Callable[[int], None] | None = None,
    historical: bool = False,
) -> SendStats:
    """Send every line of `files`; `write_keys` maps source name (web, app) -> write key.

    `historical` replays recorded history: each message's `sentAt` is dropped, as Segment
    advises for imports, so event times stay those of the recording rather than being shifted
    by the clock-skew correction (receivedAt - (sentAt - timestamp)) to the replay's time.
    """
    if not write_keys:
        raise ValueError("no write keys configured")
    default_key = next(iter(write_keys.values()))

    def key_for_channel(channel: str | None) -> str:
        return write_keys.get(channel or "", default_key)

    stats = SendStats()
    client = httpx.Client(base_url=url.rstrip("/"), timeout=30.0)

    @retry(
        retry=retry_if_exception_type((httpx.TransportError, RetryableStatus)),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_attempt(8),
        reraise=True,
    )
    def post(request: _Request) -> httpx.Response:
        response = client.post(
            f"/v1/{request.endpoint}",
            content=request.body,
            auth=(request.write_key, ""),
            headers={"content-type": "application/json"},
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableStatus(f"{response.status_code}: {response.text[:200]}")
        return response

    def send(request: _Request) -> None:
        try:
            response = post(request)
        except (httpx.TransportError, RetryableStatus):
            with stats._lock:
                stats.failed_requests += 1
            return
        body = response.json() if response.content else {}
        if response.status_code == 200:
            stats.add(body.get("accepted", 0), [r["reason"] for r in body.get("rejected", [])])
        else:
            reasons = [r["reason"] for r in body.get("rejected", [])] or [
                body.get("reason", str(response.status_code))
            ]
            stats.add(0, reasons)
        if progress:
            progress(request.messages)

    try:
        # Bounded queue: large files stream through without being held in memory.
        slots = BoundedSemaphore(concurrency * 4)
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for request in _requests(
                files, key_for_channel, max_batch_messages, max_batch_bytes, historical
            ):
                stats.lines += request.messages
                slots.acquire()
                pool.submit(send, request).add_done_callback(lambda _: slots.release())
    finally:
        client.close()
    return stats
