"""What a sync sends and what comes back: the records every destination understands.

A plan turns an audience into changes (one per key: upsert the mapped fields, or delete); a
destination answers each with an outcome. State is recorded from outcomes only, so a change
that was not accepted is planned again on the next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Op = Literal["upsert", "delete"]
# accepted: the destination holds it. rejected: the destination refused this record for a
# reason of its own (bad value, not found); retrying as is will not help. failed: it could not
# be delivered (retries and budget exhausted); the next run tries again.
Status = Literal["accepted", "rejected", "failed"]


def idempotency_key(sync: str, key: str, payload_hash: str) -> str:
    """sha256(sync, key, payload hash): the same change always carries the same key, so a
    receiver that just applied it (a lost acknowledgement, a rerun after a crash) can skip it.
    Compare it with the last change applied to the key only: a value set back to an earlier
    one (A, B, A) carries A's key again and must be applied (docs/activation.md)."""
    return hashlib.sha256(f"{sync}\x1f{key}\x1f{payload_hash}".encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    op: Op
    key: str
    # The mapped payload exactly as sent (for a delete: what was sent, where the destination
    # removes by it, else empty); out of repr so it cannot reach a log.
    fields: dict[str, Any] = field(repr=False)
    payload_hash: str  # sha256 of the canonical JSON of `fields` ("" for a delete)
    idempotency_key: str


@dataclass(frozen=True)
class Outcome:
    key: str
    op: Op
    status: Status
    attempts: int = 1
    http_status: int | None = None
    error_class: str | None = None  # e.g. "rejected_by_receiver", "http_500", "timeout"
    reason: str | None = None  # the receiver's reason, never the record's values
    # Did this sync create the record (so a mirror may delete it)? None: the destination cannot
    # tell, and the sync is taken to own what it sent.
    created: bool | None = None


@dataclass
class DeliveryStats:
    """Counters a destination keeps over one run (retries and throttling are not failures)."""

    requests: int = 0
    retried_requests: int = 0
    throttled_requests: int = 0  # 429s
    split_batches: int = 0  # batches bisected after a 400/413/422
    extra: dict[str, Any] = field(default_factory=dict)


class Destination(Protocol):
    """Where a sync delivers. `send` returns one outcome per change, in any order. What makes
    the whole destination unusable either raises when it is opened (an unreachable DSN) or
    fails every change of the run with its error class (bad credentials on an HTTP API)."""

    def send(self, changes: Sequence[Change]) -> list[Outcome]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str = field(repr=False)  # webhook URLs often carry tokens
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)  # Authorization


class Codec(Protocol):
    """How one HTTP API wants a batch of changes (our wire format, an ad platform's upload API).
    The delivery engine (rate limits, retries, bisection) is the same for every codec."""

    max_batch: int  # records per request, at most
    one_op_per_batch: bool  # the API takes adds and removes in separate calls

    def encode(self, changes: Sequence[Change], run_id: str) -> HttpRequest: ...

    def rejected(self, status: int, body: bytes, changes: Sequence[Change]) -> dict[str, str]:
        """key -> reason of each change the receiver refused: for a 2xx answer the others were
        accepted; for a 400/413/422 answer to a single change, its reason."""
        ...
