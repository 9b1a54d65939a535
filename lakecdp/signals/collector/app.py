"""Segment HTTP Tracking API: /v1/track, identify, page, screen, alias, group, batch (and import).

Write keys come by HTTP Basic auth (key as user name, empty password) or, as the Segment SDKs
also do, as `writeKey` in the body. Bodies may be gzip-encoded. Limits follow the Segment spec:
32 KB a message, 500 KB a request. A response of 200 means every accepted message is fsynced in
the landing zone. Refused messages are written, with their reason, to the rejected landing folder
(on their way to ops.quarantine) and reported in the response body; nothing is dropped silently.
A request whose key is unknown gets 401 and is not stored.

Suppressed people are dropped at this door: a message carrying any identifier on the suppression
list (lakecdp/kernel/suppression.py, written by privacy requests) is neither landed nor
quarantined, and the request still answers 200 so SDKs do not retry it; the count is in /health
and /metrics (`lakecdp_collector_messages_total{outcome="suppressed"}`).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import uuid
import zlib
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lakecdp.identity.subjects import SubjectHasher
from lakecdp.kernel.asgi import run_asgi
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.contracts.events import Reason, Rejection, validate_message
from lakecdp.kernel.suppression import SuppressionList
from lakecdp.signals.collector.landing import LandingWriter

SINGLE_ENDPOINTS = ("track", "identify", "page", "screen", "alias", "group")


class RequestError(Exception):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass
class CollectorState:
    events: LandingWriter
    rejected: LandingWriter
    write_keys: dict[str, str]
    max_message_bytes: int
    max_request_bytes: int
    suppression: SuppressionList
    subjects: SubjectHasher | None
    registry: CollectorRegistry
    messages: Counter
    accepted: int = 0
    rejected_count: int = 0
    unauthorized: int = 0
    suppressed: int = 0

    def is_suppressed(self, message: Any) -> bool:
        """Does the message name anybody on the suppression list? (Free while it is empty.)"""
        current = self.suppression.hashes()
        if not current or self.subjects is None or not isinstance(message, dict):
            return False
        return any(h in current for h in self.subjects.message(message))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, reason: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": False, "reason": reason, "detail": detail, **extra}, status)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, "request_too_large", f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, "request_too_large", f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").lower()
    if encoding == "gzip":
        try:
            decompressor = zlib.decompressobj(wbits=31)
            body = decompressor.decompress(body, limit + 1)
            if len(body) > limit or decompressor.unconsumed_tail:
                raise RequestError(
                    413, "request_too_large", f"decompressed body exceeds {limit} bytes"
                )
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise RequestError(400, "invalid_gzip", f"body is not valid gzip: {exc}") from None
    elif encoding not in ("", "identity"):
        raise RequestError(415, "unsupported_encoding", f"content-encoding {encoding!r}")
    return body


def _header_write_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise RequestError(401, "invalid_authorization", "malformed Basic credentials") from None
    return decoded.partition(":")[0] or None


def _authenticate(state: CollectorState, request: Request, body: Any) -> str:
    key = _header_write_key(request)
    if key is None and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        key = body["writeKey"]
    if key is None:
        raise RequestError(401, "missing_write_key", "send the write key by HTTP Basic auth")
    source = state.write_keys.get(key)
    if source is None:
        raise RequestError(401, "invalid_write_key", "unknown write key")
    return source


def _rejected_line(
    reason: str, detail: str, raw: Any, source: str | None, endpoint: str, received_at: str
) -> bytes:
    raw_text = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
    return orjson.dumps(
        {
            "reason": reason,
            "detail": detail,
            "source": source,
            "endpoint": endpoint,
            "receivedAt": received_at,
            "raw": raw_text,
        }
    )


def _prepare(
    message: Any,
    *,
    source: str,
    received_at: str,
    sent_at: Any,
    batch_context: Any,
    max_bytes: int,
) -> bytes:
    """Validate one message and return its landing line, or raise Rejection."""
    validate_message(message, require_message_id=False)
    if not message.get("messageId"):
        message["messageId"] = f"lakecdp-{uuid.uuid4()}"
    if "sentAt" not in message and sent_at is not None:
        message["sentAt"] = sent_at
    if isinstance(batch_context, dict) and batch_context:
        message["context"] = {**batch_context, **(message.get("context") or {})}
    message.pop("writeKey", None)
    message["receivedAt"] = received_at
    message["_source"] = source
    line = orjson.dumps(message)
    if len(line) > max_bytes:
        raise Rejection(Reason.MESSAGE_TOO_LARGE, f"message exceeds {max_bytes} bytes")
    return line


async def _collect(request: Request) -> Response:
    state: CollectorState = request.app.state.collector
    endpoint = request.url.path.rsplit("/", 1)[-1]
    received_at = _now_iso()
    try:
        raw = await _read_body(request, state.max_request_bytes)
    except RequestError as exc:
        return _error(exc.status, exc.reason, exc.detail)
    except ClientDisconnect:
        return Response(status_code=400)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # Keep the raw body only from authenticated senders: quarantine is not a public inbox.
        try:
            source = _authenticate(state, request, None)
        except RequestError as auth_exc:
            state.unauthorized += 1
            return _error(auth_exc.status, auth_exc.reason, auth_exc.detail)
        await state.rejected.append(
            [
                _rejected_line(
                    Reason.MALFORMED_JSON,
                    str(exc),
                    raw.decode("utf-8", "replace"),
                    source,
                    endpoint,
                    received_at,
                )
            ]
        )
        state.rejected_count += 1
        return _error(400, Reason.MALFORMED_JSON, f"body is not valid JSON: {exc}")
    try:
        source = _authenticate(state, request, body)
    except RequestError as exc:
        state.unauthorized += 1
        return _error(exc.status, exc.reason, exc.detail)

    if endpoint in ("batch", "import"):
        if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
            await state.rejected.append(
                [
                    _rejected_line(
                        "invalid_batch",
                        "body needs a 'batch' list",
                        body,
                        source,
                        endpoint,
                        received_at,
                    )
                ]
            )
            state.rejected_count += 1
            return _error(400, "invalid_batch", "body needs a 'batch' list of messages")
        messages = body["batch"]
        sent_at, batch_context = body.get("sentAt"), body.get("context")
    else:
        if isinstance(body, dict):
            body.setdefault("type", endpoint)
            if body["type"] != endpoint:
                body["type"] = endpoint
        messages = [body]
        sent_at, batch_context = None, None

    accepted: list[bytes] = []
    rejected: list[bytes] = []
    problems: list[dict[str, Any]] = []
    suppressed = 0
    for index, message in enumerate(messages):
        if state.is_suppressed(message):
            suppressed += 1
            continue
        try:
            accepted.append(
                _prepare(
                    message,
                    source=source,
                    received_at=received_at,
                    sent_at=sent_at,
                    batch_context=batch_context,
                    max_bytes=state.max_message_bytes,
                )
            )
        except Rejection as exc:
            problems.append({"index": index, "reason": exc.reason.value, "detail": exc.detail})
            rejected.append(
                _rejected_line(exc.reason, exc.detail, message, source, endpoint, received_at)
            )
    try:
        await state.events.append(accepted)
        await state.rejected.append(rejected)
    except OSError as exc:
        return _error(503, "landing_unavailable", f"could not persist events: {exc}")
    state.accepted += len(accepted)
    state.rejected_count += len(rejected)
    state.suppressed += suppressed
    state.messages.labels("accepted").inc(len(accepted))
    state.messages.labels("rejected").inc(len(rejected))
    state.messages.labels("suppressed").inc(suppressed)
    if problems and not accepted:
        first = problems[0]
        return _error(400, first["reason"], first["detail"], rejected=problems)
    return JSONResponse({"success": True, "accepted": len(accepted), "rejected": problems})


async def _health(request: Request) -> Response:
    state: CollectorState = request.app.state.collector
    return JSONResponse(
        {
            "status": "ok",
            "accepted": state.accepted,
            "rejected": state.rejected_count,
            "unauthorized": state.unauthorized,
            "suppressed": state.suppressed,
            "suppression_list_version": state.suppression.version,
            "flushes": state.events.stats.flushes,
            "sealed_segments": state.events.stats.sealed_segments,
        }
    )


async def _metrics(request: Request) -> Response:
    state: CollectorState = request.app.state.collector
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)


def create_app(config: ProjectConfig) -> Starlette:
    """Build the collector for `config`; writers start and seal their segments with the app."""
    landing = Path(config.events_landing)
    if "://" in config.events_landing:
        raise ValueError(
            f"the collector writes to a local landing folder, got {config.events_landing}; "
            "ship sealed segments to the object store with a sidecar instead"
        )
    settings = config.collector
    if not settings.write_keys:
        raise ValueError("collector.write_keys is empty: no client could authenticate")
    registry = CollectorRegistry()
    messages = Counter(
        "lakecdp_collector_messages",
        "Messages by outcome: accepted (landed), rejected (quarantined), suppressed (dropped)",
        ["outcome"],
        registry=registry,
    )
    state = CollectorState(
        events=LandingWriter(
            landing, settings.segment_roll_seconds, settings.segment_roll_bytes, settings.fsync
        ),
        rejected=LandingWriter(
            Path(config.rejected_landing),
            settings.segment_roll_seconds,
            settings.segment_roll_bytes,
            settings.fsync,
        ),
        write_keys=dict(settings.write_keys),
        max_message_bytes=settings.max_message_bytes,
        max_request_bytes=settings.max_request_bytes,
        suppression=SuppressionList.from_config(config),
        # no subject key: nobody can have been suppressed (privacy requests refuse to run)
        subjects=SubjectHasher(config) if config.governance.subject_key else None,
        registry=registry,
        messages=messages,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        await state.events.start()
        await state.rejected.start()
        app.state.collector = state
        try:
            yield
        finally:
            await state.events.close()
            await state.rejected.close()

    routes = [Route(f"/v1/{name}", _collect, methods=["POST"]) for name in SINGLE_ENDPOINTS]
    routes += [
        Route("/v1/batch", _collect, methods=["POST"]),
        Route("/v1/import", _collect, methods=["POST"]),
        Route("/health", _health, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def serve(config: ProjectConfig, host: str | None = None, port: int | None = None) -> None:
    # uvloop and httptools: the collector's throughput is its event loop's and parser's.
    run_asgi(
        create_app(config),
        host or config.collector.host,
        port or config.collector.port,
        loop="uvloop",
        http="httptools",
    )
