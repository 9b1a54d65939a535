"""A reference receiver of our HTTP wire format, with the faults real receivers have.

It is what the delivery engine is tested and demonstrated against, and a template for teams
writing their own receiver: check the signature on the raw body, apply each record at most
once, answer refused records by key. The faults (throttling, server errors, timeouts, lost
acknowledgements, poison records, size and rate caps) are off unless configured; which request
meets which fault depends only on the seed, the request's `Idempotency-Key` and how often that
key was seen, so a run is reproducible however its requests interleave (the requests/s cap
alone depends on timing).

Records live in memory, by sync and key; `GET /records` shows them, `GET /stats` counts what
happened, including how often each key was applied (more than once would be a duplicate write).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import random
import socket
import threading
import time
from collections import Counter, deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Literal

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from lakecdp.activation.wire_format import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature
from lakecdp.kernel.asgi import run_asgi

RECORDS_PATH = "/records"
FaultName = Literal["throttle", "server_error", "timeout", "lost_ack"]


@dataclass(frozen=True)
class Faults:
    """What goes wrong, per request. Shares are probabilities; they add up to at most 1."""

    seed: int = 0
    throttle_share: float = 0.0  # answered 429 with Retry-After
    retry_after_seconds: float = 1.0
    retry_after_form: Literal["seconds", "http-date"] = "seconds"
    server_error_share: float = 0.0
    server_error_status: int = 500
    timeout_share: float = 0.0  # answered only after `timeout_sleep_seconds`, not applied
    timeout_sleep_seconds: float = 2.0
    lost_ack_share: float = 0.0  # applied, then the connection is dropped without an answer
    poison_keys: frozenset[str] = frozenset()  # records this receiver always refuses
    poison_answer: Literal["422", "2xx"] = "422"  # 422 for the batch, or 2xx naming them
    max_request_bytes: int | None = None  # 413 above it
    max_requests_per_second: float | None = None  # 429 above it (a sliding one-second window)

    def __post_init__(self) -> None:
        shares = (
            self.throttle_share,
            self.server_error_share,
            self.timeout_share,
            self.lost_ack_share,
        )
        if any(share < 0 for share in shares) or sum(shares) > 1 + 1e-9:
            raise ValueError("fault shares must be >= 0 and add up to at most 1")


@dataclass(frozen=True)
class ReceiverSettings:
    """A signing secret and/or an expected Authorization value make unsigned or unauthorized
    requests get 401; neither shows in repr."""

    signing_secret: str | None = field(default=None, repr=False)
    authorization: str | None = field(default=None, repr=False)
    faults: Faults = field(default_factory=Faults)


@dataclass
class RequestEvent:
    """One request as the receiver saw it (wall-clock times), for tests that check pacing."""

    arrived: float
    answered: float | None = None
    status: int | None = None  # None: the connection was dropped without an answer
    wait_until: float | None = None  # for a 429: when its Retry-After allows the next request


class ReceiverState:
    """Everything the receiver holds; one per app, reset between test cases."""

    def __init__(self, settings: ReceiverSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self, faults: Faults | None = None) -> None:
        """Forget every record and counter; optionally switch to other faults."""
        if faults is not None:
            self.settings = ReceiverSettings(
                self.settings.signing_secret, self.settings.authorization, faults
            )
        self.records: dict[str, dict[str, dict[str, Any]]] = {}  # sync -> key -> fields
        self.applied: dict[str, Counter[str]] = {}  # sync -> key -> times applied
        self._last_applied: dict[tuple[str, str], str] = {}  # (sync, key) -> idempotency key
        self.answers: dict[str, tuple[int, bytes]] = {}  # Idempotency-Key -> 2xx answer
        self._draws: Counter[str] = Counter()
        self._window: deque[float] = deque()
        self.counters: Counter[str] = Counter()
        self.events: deque[RequestEvent] = deque(maxlen=100_000)

    @property
    def faults(self) -> Faults:
        return self.settings.faults

    def draw(self, request_key: str) -> FaultName | None:
        """The fault for the n-th arrival of this request: a function of seed, key and n."""
        faults = self.faults
        arrival = self._draws[request_key]
        self._draws[request_key] += 1
        roll = random.Random(f"{faults.seed}\x1f{request_key}\x1f{arrival}").random()
        for name, share in (
            ("throttle", faults.throttle_share),
            ("server_error", faults.server_error_share),
            ("timeout", faults.timeout_share),
            ("lost_ack", faults.lost_ack_share),
        ):
            if roll < share:
                return name  # type: ignore[return-value]
            roll -= share
        return None

    def rate_cap_wait(self, now: float) -> float:
        """Seconds until one more request fits in the last second's cap (0: it fits now)."""
        cap = self.faults.max_requests_per_second
        if cap is None:
            return 0.0
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= cap:
            return self._window[0] + 1.0 - now
        self._window.append(now)
        return 0.0

    def apply(self, sync: str, record: dict[str, Any]) -> bool:
        """Apply one record unless it is the change this key last received (a repeat)."""
        slot = (sync, record["key"])
        if self._last_applied.get(slot) == record["idempotency_key"]:
            self.counters["duplicates"] += 1
            return False
        records = self.records.setdefault(sync, {})
        if record["op"] == "upsert":
            records[record["key"]] = record["fields"]
        else:
            records.pop(record["key"], None)
        self.applied.setdefault(sync, Counter())[record["key"]] += 1
        self._last_applied[slot] = record["idempotency_key"]
        self.counters["applied"] += 1
        return True

    def stats(self) -> dict[str, Any]:
        return {
            **self.counters,
            "applied_by_key": {sync: dict(counts) for sync, counts in self.applied.items()},
        }


class _Refused(Exception):
    def __init__(self, status: int, error: str, rejected: list[dict[str, str]] | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.rejected = rejected or []


# Set while a lost acknowledgement is being staged, so that uvicorn's complaint about the
# unfinished answer (which is the point) does not read like a bug in the log.
_dropping_answer: ContextVar[bool] = ContextVar("lakecdp_receiver_dropping", default=False)


class _QuietDroppedAnswers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping_answer.get() and "without completing response" in record.getMessage())


_quiet_filter = _QuietDroppedAnswers()


class _DroppedAnswer(Response):
    """Starts a 200 and never finishes it: the server closes the connection, the client sees
    a reset after the records were applied (a lost acknowledgement)."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _dropping_answer.set(True)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})


def _error(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status)


def _throttle(state: ReceiverState, event: RequestEvent, seconds: float, why: str) -> Response:
    state.counters[why] += 1
    now = time.time()
    if state.faults.retry_after_form == "http-date":
        # HTTP-dates have whole seconds: round up so the wait is at least `seconds`.
        event.wait_until = float(math.ceil(now + seconds))
        value = formatdate(event.wait_until, usegmt=True)
    else:
        # Fractions are a lakecdp extension (RFC 9110 has whole seconds); tests need them.
        seconds = round(seconds, 3)
        event.wait_until = now + seconds
        value = f"{seconds:g}"
    return JSONResponse({"error": why}, 429, headers={"Retry-After": value})


async def _read_body(request: Request, limit: int | None) -> bytes:
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit is not None and size > limit:
            raise _Refused(413, f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> tuple[str, list[dict[str, Any]], list[dict[str, str]]]:
    """The sync name, the valid records and the refusals (key, reason) of invalid ones."""
    try:
        batch = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _Refused(400, "body is not JSON") from None
    if not isinstance(batch, dict) or not isinstance(batch.get("sync"), str):
        raise _Refused(400, "body needs a 'sync' name")
    if not isinstance(batch.get("records"), list):
        raise _Refused(400, "body needs a 'records' list")
    valid: list[dict[str, Any]] = []
    invalid: list[dict[str, str]] = []
    for index, record in enumerate(batch["records"]):
        if not isinstance(record, dict) or not isinstance(record.get("key"), str):
            raise _Refused(400, f"record {index} has no key")
        problem = None
        if record.get("op") not in ("upsert", "delete"):
            problem = "op must be upsert or delete"
        elif not isinstance(record.get("idempotency_key"), str):
            problem = "idempotency_key must be a string"
        elif record["op"] == "upsert" and not isinstance(record.get("fields"), dict):
            problem = "fields must be an object"
        if problem:
            invalid.append({"key": record["key"], "reason": problem})
        else:
            valid.append(record)
    return batch["sync"], valid, invalid


async def _deliveries(request: Request) -> Response:
    state: ReceiverState = request.app.state.receiver
    event = RequestEvent(arrived=time.time())
    state.events.append(event)
    state.counters["requests"] += 1
    try:
        response = await _answer(state, request, event)
    except _Refused as refused:
        state.counters[f"http_{refused.status}"] += 1
        response = _error(refused.status, refused.error, rejected=refused.rejected)
    except ClientDisconnect:
        response = Response(status_code=400)
    event.answered = time.time()
    event.status = None if isinstance(response, _DroppedAnswer) else response.status_code
    return response


async def _answer(state: ReceiverState, request: Request, event: RequestEvent) -> Response:
    settings, faults = state.settings, state.faults
    if settings.authorization is not None and not hmac.compare_digest(
        request.headers.get("authorization", "").encode(), settings.authorization.encode()
    ):
        raise _Refused(401, "wrong or missing Authorization")
    wait = state.rate_cap_wait(time.monotonic())
    if wait > 0:
        return _throttle(state, event, wait, "rate_capped")
    body = await _read_body(request, faults.max_request_bytes)
    if settings.signing_secret is not None and not verify_signature(
        body, request.headers.get(SIGNATURE_HEADER), settings.signing_secret
    ):
        raise _Refused(401, f"missing or wrong {SIGNATURE_HEADER}")

    request_key = request.headers.get(IDEMPOTENCY_HEADER) or hashlib.sha256(body).hexdigest()
    fault = state.draw(request_key)
    if fault == "throttle":
        return _throttle(state, event, faults.retry_after_seconds, "throttled")
    if fault == "server_error":
        state.counters["server_errors"] += 1
        return _error(faults.server_error_status, "injected server error")
    if fault == "timeout":
        state.counters["timeouts"] += 1
        await asyncio.sleep(faults.timeout_sleep_seconds)
        return _error(504, "injected timeout")

    replay = state.answers.get(request_key)
    if replay is not None:  # a retry of a request that was applied: the same answer again
        state.counters["replayed"] += 1
        if fault == "lost_ack":
            state.counters["lost_acks"] += 1
            return _DroppedAnswer()
        return Response(replay[1], replay[0], media_type="application/json")

    sync, records, invalid = _parse(body)
    poison = [
        {"key": record["key"], "reason": "refused by the test receiver (poison key)"}
        for record in records
        if record["key"] in faults.poison_keys
    ]
    if invalid or (poison and faults.poison_answer == "422"):
        state.counters["rejected_records"] += len(invalid) + len(poison)
        raise _Refused(422, "some records were refused", invalid + poison)
    refused_keys = {item["key"] for item in poison}
    for record in records:
        if record["key"] not in refused_keys:
            state.apply(sync, record)
    state.counters["rejected_records"] += len(poison)
    answer = orjson.dumps({"accepted": len(records) - len(poison), "rejected": poison})
    if IDEMPOTENCY_HEADER.lower() in request.headers:
        state.answers[request_key] = (200, answer)
    if fault == "lost_ack":
        state.counters["lost_acks"] += 1
        return _DroppedAnswer()
    return Response(answer, 200, media_type="application/json")


async def _records(request: Request) -> Response:
    state: ReceiverState = request.app.state.receiver
    sync = request.query_params.get("sync")
    records = state.records if sync is None else {sync: state.records.get(sync, {})}
    return Response(orjson.dumps({"records": records}), media_type="application/json")


async def _stats(request: Request) -> Response:
    state: ReceiverState = request.app.state.receiver
    return Response(orjson.dumps(state.stats()), media_type="application/json")


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_receiver_app(settings: ReceiverSettings | None = None) -> Starlette:
    """The receiver as an ASGI app; its `ReceiverState` is `app.state.receiver`."""
    if _quiet_filter not in logging.getLogger("uvicorn.error").filters:
        logging.getLogger("uvicorn.error").addFilter(_quiet_filter)
    app = Starlette(
        routes=[
            Route(RECORDS_PATH, _deliveries, methods=["POST"]),
            Route(RECORDS_PATH, _records, methods=["GET"]),
            Route("/stats", _stats, methods=["GET"]),
            Route("/health", _health, methods=["GET"]),
        ]
    )
    app.state.receiver = ReceiverState(settings or ReceiverSettings())
    return app


def serve_receiver(settings: ReceiverSettings, host: str, port: int) -> None:
    """Serve the receiver until stopped (for the CLI and the demo)."""
    run_asgi(create_receiver_app(settings), host, port)


class RunningReceiver:
    """The receiver on a loopback port in a background thread, for tests and benchmarks.

    Not `run_asgi`: that blocks without a handle to stop it. The uvicorn settings are the same
    (quiet, no access log, no websockets); a short graceful shutdown lets a test end while an
    injected timeout is still sleeping.
    """

    def __init__(
        self, settings: ReceiverSettings | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = create_receiver_app(settings)
        self.state: ReceiverState = self.app.state.receiver
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))  # bound here: the port is known and cannot be taken
        self.url = f"http://{host}:{self._socket.getsockname()[1]}"
        self.records_url = self.url + RECORDS_PATH
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                ws="none",
                lifespan="off",
                timeout_graceful_shutdown=1,
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, timeout: float = 30.0) -> RunningReceiver:
        """Start and return once `/health` answers 200 (not merely once the port is open)."""
        if self._thread.is_alive():
            return self
        self._thread.start()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while True:
                try:
                    if client.get(self.url + "/health").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the receiver at {self.url} did not become ready")
                time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> RunningReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_receiver(
    settings: ReceiverSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningReceiver:
    """A running receiver (port 0: a free one); stop it with `.stop()` or use it in `with`."""
    return RunningReceiver(settings, host, port).start()
