"""Changes, deliveries and receivers for the HTTP delivery tests: small and fast.

Timeouts, backoffs and Retry-After values are fractions of a second so that every fault costs
milliseconds; the receiver runs on loopback in this process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from lakecdp.activation.changes import Change, Op, Outcome, idempotency_key
from lakecdp.activation.http_delivery import DeliverySettings, HttpDelivery
from lakecdp.activation.receiver import RunningReceiver
from lakecdp.activation.wire_format import WireFormatCodec

SYNC = "crm_contacts"

FAST = DeliverySettings(
    concurrency=4,
    requests_per_second=500.0,
    burst=50,
    timeout_seconds=5.0,
    max_retries_per_batch=8,
    retry_budget=1000,
    backoff_base_seconds=0.01,
    backoff_max_seconds=0.05,
)


def make_change(key: str, op: Op = "upsert", fields: dict[str, Any] | None = None) -> Change:
    if op == "delete":
        fields = {}
    elif fields is None:
        fields = {"email": f"{key}@example.com", "tier": "gold", "ltv": 120.5}
    payload_hash = (
        hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
        if fields
        else ""
    )
    return Change(op, key, fields, payload_hash, idempotency_key(SYNC, key, payload_hash))


def make_changes(count: int, prefix: str = "c") -> list[Change]:
    return [make_change(f"{prefix}{index}") for index in range(count)]


def deliver_to(
    receiver: RunningReceiver,
    run_id: str = "run-1",
    *,
    max_batch: int = 5,
    one_op_per_batch: bool = False,
    signing_secret: str | None = None,
    auth_header: str | None = None,
    settings: DeliverySettings = FAST,
) -> HttpDelivery:
    codec = WireFormatCodec(
        receiver.records_url,
        SYNC,
        auth_header=auth_header,
        signing_secret=signing_secret,
        max_batch=max_batch,
        one_op_per_batch=one_op_per_batch,
    )
    return HttpDelivery(codec, run_id, settings, name="test")


def by_status(outcomes: Iterable[Outcome]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {"accepted": set(), "rejected": set(), "failed": set()}
    for outcome in outcomes:
        grouped[outcome.status].add(outcome.key)
    return grouped


def assert_one_outcome_per_change(changes: list[Change], outcomes: list[Outcome]) -> None:
    assert len(outcomes) == len(changes)
    assert sorted((o.key, o.op) for o in outcomes) == sorted((c.key, c.op) for c in changes)


def held(receiver: RunningReceiver) -> dict[str, dict[str, Any]]:
    return receiver.state.records.get(SYNC, {})


def applied(receiver: RunningReceiver) -> dict[str, int]:
    return dict(receiver.state.applied.get(SYNC, {}))
