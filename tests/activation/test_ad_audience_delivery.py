"""An ad audience end to end over real HTTP: the delivery engine drives the Meta-shaped codec
against a small server that behaves like the Custom Audiences users endpoint (adds on POST,
removes on DELETE, members by hash). Only hashes reach the server, a removal finds the member
by what was sent, and a 429 is waited out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from lakecdp.activation.ad_audience import MetaAudienceCodec
from lakecdp.activation.changes import Change, idempotency_key
from lakecdp.activation.http_delivery import DeliverySettings, HttpDelivery
from tests.activation.ad_world import TOKEN, FakeAudience, running_audience


@pytest.fixture
def audience() -> Iterator[tuple[FakeAudience, str]]:
    with running_audience() as served:
        yield served


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _change(op: str, key: str, fields: dict[str, Any]) -> Change:
    payload_hash = _sha(json.dumps(fields, sort_keys=True)) if op == "upsert" else ""
    return Change(op, key, fields, payload_hash, idempotency_key("ads", key, payload_hash))  # type: ignore[arg-type]


def test_members_are_added_and_removed_by_their_hashes_and_no_raw_value_is_sent(
    audience: tuple[FakeAudience, str],
) -> None:
    fake, base = audience
    people = {
        "c1": {"email": " Ann.Lee@Example.COM ", "phone": "9123 4567", "market": "SG"},
        "c2": {"email": "bob@example.com", "phone": "+60 12-345 6789", "market": "MY"},
    }
    codec = MetaAudienceCodec(base, "aud1", TOKEN, batch_size=100)
    settings = DeliverySettings(requests_per_second=50, timeout_seconds=5)
    fake.throttle_next = 1
    with HttpDelivery(codec, "run-1", settings, name="ads") as delivery:
        added = delivery.send([_change("upsert", k, f) for k, f in people.items()])
        assert {o.status for o in added} == {"accepted"}
        assert delivery.stats.throttled_requests == 1
    assert fake.members == {
        (_sha("ann.lee@example.com"), _sha("6591234567")),
        (_sha("bob@example.com"), _sha("60123456789")),
    }
    sent = b"".join(fake.bodies)
    assert b"Example" not in sent and b"9123" not in sent and b"bob@" not in sent

    # A removal carries what was sent (the plan keeps it for ad audiences), so the platform
    # finds the member by its hashes.
    with HttpDelivery(codec, "run-2", settings, name="ads") as delivery:
        removed = delivery.send([_change("delete", "c1", people["c1"])])
        assert [o.status for o in removed] == ["accepted"]
    assert fake.members == {(_sha("bob@example.com"), _sha("60123456789"))}
