"""Deliver changes to any HTTP API a `Codec` describes: batches, pace, retries, bisection.

What a receiver answers decides what happens to a batch:
- 2xx: accepted, except the keys the codec finds refused in the body (rejected);
- 429: throttling, not failure: the limiter slows the whole destination down and a
  `Retry-After` pauses every sender; the batch is sent again without spending the retry budget
  (it has a cap of its own so a receiver that never stops throttling cannot hang a run);
- 400/413/422: something in the batch is bad; the batch is halved until the bad records stand
  alone, so only they are rejected and the rest is delivered;
- 5xx, 408, timeouts, dropped connections: retried with full-jitter exponential backoff within a
  per-batch and a per-run retry budget; what is left when a budget runs out is `failed`, which
  the sync plans again on the next run;
- 401/403: the credentials or signature are wrong; nothing more is sent in this run and every
  change not yet delivered fails with `unauthorized` (a `Retry-After` beyond
  `max_retry_after_seconds` ends the run's sending the same way, as `throttled`).

Every change gets exactly one outcome. Logs carry counts, statuses and error classes only: no
URL (webhook URLs often embed tokens), no header, no key and no record value.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

import httpx
from tenacity import RetryCallState, wait_random_exponential

from lakecdp.activation.changes import (
    Change,
    Codec,
    DeliveryStats,
    HttpRequest,
    Outcome,
)
from lakecdp.activation.rate_limit import AdaptiveTokenBucket, RateLimiter

log = logging.getLogger(__name__)

REJECT_STATUSES = frozenset({400, 413, 422})
AUTH_STATUSES = frozenset({401, 403})
RETRY_STATUSES = frozenset({408, 425})  # and every 5xx but 501 and 505, which never change
NEVER_RETRIED_5XX = frozenset({501, 505})
REJECTED_BY_RECEIVER = "rejected_by_receiver"

T = TypeVar("T")


@dataclass(frozen=True)
class DeliverySettings:
    """Pace and budgets of one destination for one run."""

    concurrency: int = 4  # requests in flight at once
    requests_per_second: float = 10.0  # the limiter's starting (and highest) pace
    burst: int = 5
    min_requests_per_second: float = 0.5  # 429s never slow it down below this
    timeout_seconds: float = 30.0  # connect, read, write and pool, each
    max_retries_per_batch: int = 5  # failures (5xx, timeouts, resets) retried per batch
    retry_budget: int = 1000  # failures retried over the whole run
    max_throttled_per_batch: int = 30  # 429s one batch may receive before it fails
    max_retry_after_seconds: float = 120.0  # a longer Retry-After fails the batch for this run
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.timeout_seconds <= 0:
            raise ValueError("concurrency must be >= 1 and timeout_seconds > 0")
        if min(self.max_retries_per_batch, self.retry_budget) < 0:
            raise ValueError("retry budgets cannot be negative")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delay-seconds (fractions accepted) or an
    HTTP-date (RFC 9110); None when absent or unreadable, 0 for a date in the past."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class _Answer:
    status: int | None  # None: no HTTP answer (see error_class)
    body: bytes
    retry_after: float | None
    granted_at: float
    error_class: str | None = None


@dataclass(frozen=True)
class _Failure:
    http_status: int | None
    error_class: str
    reason: str


def _transport_error_class(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "connection_reset"  # e.g. a receiver that applied the batch, then dropped us
    if isinstance(error, httpx.ConnectError):
        return "connect_error"
    return "transport_error"


def _retryable(status: int) -> bool:
    return status in RETRY_STATUSES or (status >= 500 and status not in NEVER_RETRIED_5XX)


class HttpDelivery:
    """A `Destination` for any `Codec`, for one run of one sync.

    `send` is synchronous; the requests run on an event loop in a background thread that lives
    as long as this object, so the pace, pauses, budgets, stats and open connections carry over
    from one `send` to the next. One caller at a time; `close` (or `with`) ends it.
    """

    def __init__(
        self,
        codec: Codec,
        run_id: str,
        settings: DeliverySettings | None = None,
        *,
        name: str = "http",
        limiter: RateLimiter | None = None,
    ) -> None:
        if codec.max_batch < 1:
            raise ValueError(f"destination {name}: codec.max_batch must be >= 1")
        self.codec = codec
        self.run_id = run_id
        self.name = name
        self.settings = settings or DeliverySettings()
        self.limiter: RateLimiter = limiter or AdaptiveTokenBucket(
            self.settings.requests_per_second,
            self.settings.burst,
            min_requests_per_second=self.settings.min_requests_per_second,
        )
        self._stats = DeliveryStats()
        self._counts = {
            "accepted": 0,
            "rejected": 0,
            "failed": 0,
            "server_errors": 0,
            "timeouts": 0,
            "connection_errors": 0,
        }
        self._retry_budget_left = self.settings.retry_budget
        self._budget_warned = False
        self._fatal: _Failure | None = None
        self._backoff_wait = wait_random_exponential(
            multiplier=self.settings.backoff_base_seconds, max=self.settings.backoff_max_seconds
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    # -- the synchronous face -------------------------------------------------------------

    def removal_fields(self, change: Change) -> dict[str, Any]:
        """What the sync keeps of an accepted change for a later removal: the codec's choice
        (an ad audience keeps hashes only), else the fields as sent."""
        keep = getattr(self.codec, "removal_fields", None)
        return keep(change) if keep is not None else dict(change.fields)

    def send(self, changes: Sequence[Change]) -> list[Outcome]:
        """Deliver `changes`; one outcome per change (batch by batch, not in input order)."""
        if self._closed:
            raise RuntimeError(f"destination {self.name} is closed")
        if not changes:
            return []
        return self._run(self._send(list(changes)))

    def close(self) -> None:
        """Stop what is still running, close the connections and the loop's thread."""
        if self._closed:
            return
        self._closed = True
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> HttpDelivery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> DeliveryStats:
        """This run's counters so far. `extra`: outcomes by status (`accepted`, `rejected`,
        `failed`), `server_errors`, `timeouts`, `connection_errors`, `retry_budget_left`, the
        limiter's `requests_per_second` now, and `stopped` (why sending stopped: None,
        "unauthorized", "throttled" or "bad_url")."""
        self._stats.extra.update(
            self._counts,
            retry_budget_left=self._retry_budget_left,
            requests_per_second=round(self.limiter.requests_per_second, 3),
            stopped=self._fatal.error_class if self._fatal else None,  # why sending stopped
        )
        return self._stats

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=f"lakecdp-delivery-{self.name}", daemon=True
            )
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _shutdown(self) -> None:
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
        close_limiter = getattr(self.limiter, "aclose", None)
        if close_limiter is not None:
            await close_limiter()

    # -- batches ---------------------------------------------------------------------------

    def _batches(self, changes: list[Change]) -> list[list[Change]]:
        size = self.codec.max_batch
        if self.codec.one_op_per_batch:
            groups = [[c for c in changes if c.op == op] for op in ("upsert", "delete")]
        else:
            groups = [changes]
        return [group[i : i + size] for group in groups for i in range(0, len(group), size)]

    async def _send(self, changes: list[Change]) -> list[Outcome]:
        if self._client is None:
            limit = self.settings.concurrency
            self._client = httpx.AsyncClient(
                timeout=self.settings.timeout_seconds,
                limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
                follow_redirects=False,
            )
            self._slots = asyncio.Semaphore(limit)
        # Encode every batch before sending any: a record that cannot be encoded stops the
        # send before anything went out.
        batches = [
            (batch, self.codec.encode(batch, self.run_id)) for batch in self._batches(changes)
        ]
        started = time.monotonic()
        results = await asyncio.gather(
            *(self._deliver(batch, request, 0) for batch, request in batches)
        )
        outcomes = [outcome for result in results for outcome in result]
        for outcome in outcomes:
            self._counts[outcome.status] += 1
        log.debug(
            "destination %s: %d changes in %d batches in %.2f s (%d requests so far)",
            self.name,
            len(changes),
            len(batches),
            time.monotonic() - started,
            self._stats.requests,
        )
        return outcomes

    async def _deliver(
        self, changes: list[Change], request: HttpRequest | None, carried: int
    ) -> list[Outcome]:
        """Deliver one batch; `carried` attempts were made for these changes in a larger batch
        before it was split."""
        request = request or self.codec.encode(changes, self.run_id)
        sent = retries = throttles = 0
        settings = self.settings
        while True:
            answer = await self._attempt(request)
            if answer is None:  # the destination became unusable while this batch waited
                assert self._fatal is not None
                return self._fail(changes, carried + sent, self._fatal)
            sent += 1
            attempts = carried + sent
            status = answer.status

            if status is not None and 200 <= status < 300:
                await self.limiter.succeeded()
                reasons = self.codec.rejected(status, answer.body, changes)
                return [self._answered(change, attempts, status, reasons) for change in changes]

            if status == 429:
                throttles += 1
                self._stats.throttled_requests += 1
                wait = answer.retry_after
                if wait is not None and wait > settings.max_retry_after_seconds:
                    # Come back in an hour: nothing of this destination gets through in this
                    # run, so everything still queued fails now instead of waiting.
                    await self.limiter.throttled(answer.granted_at, None)
                    if self._fatal is None:
                        self._fatal = _Failure(
                            429,
                            "throttled",
                            f"Retry-After of {wait:.0f} s is longer than "
                            f"{settings.max_retry_after_seconds:.0f} s",
                        )
                        log.warning(
                            "destination %s: Retry-After of %.0f s, nothing more is sent in "
                            "this run",
                            self.name,
                            wait,
                        )
                    return self._fail(changes, attempts, self._fatal)
                await self.limiter.throttled(answer.granted_at, wait)
                if throttles > settings.max_throttled_per_batch:
                    reason = f"still throttled after {throttles} answers of 429"
                    return self._fail(changes, attempts, _Failure(429, "throttled", reason))
                if wait is None:
                    await asyncio.sleep(self._backoff(throttles))
                continue

            if status in REJECT_STATUSES:
                await self.limiter.succeeded()
                if len(changes) == 1:
                    reasons = self.codec.rejected(status, answer.body, changes)
                    return [self._answered(changes[0], attempts, status, reasons)]
                self._stats.split_batches += 1
                middle = len(changes) // 2
                first, second = await asyncio.gather(
                    self._deliver(changes[:middle], None, attempts),
                    self._deliver(changes[middle:], None, attempts),
                )
                return first + second

            if status in AUTH_STATUSES:
                if self._fatal is None:
                    self._fatal = _Failure(
                        status,
                        "unauthorized",
                        f"HTTP {status}: the receiver refused our credentials or signature",
                    )
                    log.warning(
                        "destination %s: HTTP %d, nothing more is sent in this run",
                        self.name,
                        status,
                    )
                return self._fail(changes, attempts, self._fatal)

            error_class = answer.error_class or f"http_{status}"
            if status is not None and not _retryable(status):
                failure = _Failure(status, error_class, f"HTTP {status} is not retried")
                return self._fail(changes, attempts, failure)
            if retries >= settings.max_retries_per_batch or self._retry_budget_left <= 0:
                return self._fail(changes, attempts, self._exhausted(status, error_class, retries))
            self._retry_budget_left -= 1
            retries += 1
            self._stats.retried_requests += 1
            delay = self._backoff(retries)
            if answer.retry_after is not None:  # a 503 may say when to come back, too
                delay = max(delay, min(answer.retry_after, settings.max_retry_after_seconds))
            await asyncio.sleep(delay)

    async def _attempt(self, request: HttpRequest) -> _Answer | None:
        """One request under the concurrency cap and the limiter; None if the destination
        became unusable before it was sent."""
        assert self._client is not None and self._slots is not None
        async with self._slots:
            granted_at = await self.limiter.acquire()
            if self._fatal is not None:
                return None
            self._stats.requests += 1
            try:
                response = await self._client.request(
                    request.method, request.url, content=request.body, headers=request.headers
                )
            except (httpx.UnsupportedProtocol, httpx.InvalidURL):
                self._fatal = _Failure(None, "bad_url", "the destination URL is not usable")
                log.warning("destination %s: its URL is not usable", self.name)
                return None
            except httpx.TransportError as error:
                error_class = _transport_error_class(error)
                counter = "timeouts" if error_class == "timeout" else "connection_errors"
                self._counts[counter] += 1
                return _Answer(None, b"", None, granted_at, error_class)
        if response.status_code >= 500:
            self._counts["server_errors"] += 1
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return _Answer(response.status_code, response.content, retry_after, granted_at)

    # -- outcomes --------------------------------------------------------------------------

    def _answered(
        self, change: Change, attempts: int, status: int, reasons: dict[str, str]
    ) -> Outcome:
        """The outcome of a change the receiver answered: accepted on a 2xx unless `reasons`
        names it; rejected with its reason otherwise."""
        reason = reasons.get(change.key)
        if 200 <= status < 300 and reason is None:
            return Outcome(change.key, change.op, "accepted", attempts, status)
        return Outcome(
            change.key,
            change.op,
            "rejected",
            attempts,
            status,
            REJECTED_BY_RECEIVER,
            reason or f"HTTP {status}",
        )

    @staticmethod
    def _fail(changes: list[Change], attempts: int, failure: _Failure) -> list[Outcome]:
        return [
            Outcome(
                change.key,
                change.op,
                "failed",
                attempts,
                failure.http_status,
                failure.error_class,
                failure.reason,
            )
            for change in changes
        ]

    def _exhausted(self, status: int | None, error_class: str, retries: int) -> _Failure:
        if retries >= self.settings.max_retries_per_batch:
            reason = f"{error_class} after {retries} retries (the batch's retry budget)"
        else:
            reason = f"{error_class}: the run's retry budget is spent"
            if not self._budget_warned:
                self._budget_warned = True
                log.warning(
                    "destination %s: the run's retry budget (%d) is spent; failures are not "
                    "retried until the next run",
                    self.name,
                    self.settings.retry_budget,
                )
        return _Failure(status, error_class, reason)

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff (uniform in 0..base * 2^(attempt-1), capped)."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempt
        return float(self._backoff_wait(state))
