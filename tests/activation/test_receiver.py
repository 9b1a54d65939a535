"""The reference receiver as any client sees it: plain HTTP requests on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lakecdp.activation.receiver import (
    Faults,
    ReceiverSettings,
    ReceiverState,
    RunningReceiver,
    start_receiver,
)
from lakecdp.activation.wire_format import IDEMPOTENCY_HEADER, WireFormatCodec
from tests.activation.http_world import SYNC, make_change, make_changes


@pytest.fixture
def receiver() -> Iterator[RunningReceiver]:
    with start_receiver(ReceiverSettings(signing_secret="k")) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module: a new one per request costs ~50 ms here."""
    with httpx.Client(timeout=5) as client:
        yield client


def _post(
    http: httpx.Client, receiver: RunningReceiver, request_body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return http.post(receiver.records_url, content=request_body, headers=headers)


def test_signed_batch_is_stored_and_shown(receiver: RunningReceiver, http: httpx.Client) -> None:
    codec = WireFormatCodec(receiver.records_url, SYNC, signing_secret="k")
    request = codec.encode([make_change("a"), make_change("b")], "run-1")
    answer = _post(http, receiver, request.body, request.headers)
    assert answer.status_code == 200 and answer.json() == {"accepted": 2, "rejected": []}
    records = http.get(receiver.records_url, params={"sync": SYNC}).json()["records"][SYNC]
    assert set(records) == {"a", "b"}
    stats = http.get(receiver.url + "/stats").json()
    assert stats["applied"] == 2 and stats["applied_by_key"] == {SYNC: {"a": 1, "b": 1}}
    assert http.get(receiver.url + "/health").json() == {"status": "ok"}


def test_unsigned_or_tampered_batch_gets_401_and_is_not_stored(
    receiver: RunningReceiver, http: httpx.Client
) -> None:
    codec = WireFormatCodec(receiver.records_url, SYNC, signing_secret="k")
    request = codec.encode([make_change("a")], "run-1")
    unsigned = {k: v for k, v in request.headers.items() if k != "X-Lakecdp-Signature"}
    assert _post(http, receiver, request.body, unsigned).status_code == 401
    tampered = request.body.replace(b'"a"', b'"z"')
    assert _post(http, receiver, tampered, request.headers).status_code == 401
    assert receiver.state.records == {}


def test_replayed_request_gets_the_first_answer_and_is_not_applied_twice(
    receiver: RunningReceiver, http: httpx.Client
) -> None:
    codec = WireFormatCodec(receiver.records_url, SYNC, signing_secret="k")
    request = codec.encode(make_changes(3), "run-1")
    first = _post(http, receiver, request.body, request.headers)
    again = _post(http, receiver, request.body, request.headers)
    assert again.status_code == first.status_code == 200 and again.content == first.content
    assert receiver.state.counters["replayed"] == 1
    assert dict(receiver.state.applied[SYNC]) == {"c0": 1, "c1": 1, "c2": 1}


def test_malformed_bodies_get_400_and_bad_records_422_by_key(http: httpx.Client) -> None:
    with start_receiver() as receiver:
        assert _post(http, receiver, b"{", {}).status_code == 400
        assert _post(http, receiver, b'{"sync": "s"}', {}).status_code == 400
        body = b'{"sync": "s", "run_id": "r", "records": [{"key": "x", "op": "merge"}]}'
        answer = _post(http, receiver, body, {})
        assert answer.status_code == 422
        assert answer.json()["rejected"] == [{"key": "x", "reason": "op must be upsert or delete"}]


def test_lost_acknowledgement_applies_then_drops_the_connection(http: httpx.Client) -> None:
    with start_receiver(ReceiverSettings(faults=Faults(lost_ack_share=1.0))) as receiver:
        request = WireFormatCodec(receiver.records_url, SYNC).encode([make_change("a")], "r")
        with pytest.raises(httpx.RemoteProtocolError):
            _post(http, receiver, request.body, request.headers)
        assert set(receiver.state.records[SYNC]) == {"a"}
        assert receiver.state.counters["lost_acks"] == 1


def test_fault_draws_depend_on_seed_key_and_arrival_only() -> None:
    faults = Faults(seed=4, throttle_share=0.2, server_error_share=0.2, lost_ack_share=0.2)
    keys = [f"request-{i}" for i in range(30) for _ in range(3)]  # each key arrives 3 times

    def draws(order: list[str]) -> dict[tuple[str, int], str | None]:
        state = ReceiverState(ReceiverSettings(faults=faults))
        seen: dict[str, int] = {}
        result = {}
        for key in order:
            seen[key] = seen.get(key, 0) + 1
            result[(key, seen[key])] = state.draw(key)
        return result

    forwards = draws(keys)
    assert forwards == draws(keys[::-1])
    assert set(forwards.values()) == {None, "throttle", "server_error", "lost_ack"}

    def first_draws(seed: int) -> list[str | None]:
        state = ReceiverState(ReceiverSettings(faults=Faults(seed=seed, throttle_share=0.5)))
        return [state.draw(f"request-{i}") for i in range(30)]

    assert first_draws(4) == first_draws(4) != first_draws(5)


def test_fault_shares_cannot_add_up_to_more_than_one() -> None:
    with pytest.raises(ValueError):
        Faults(throttle_share=0.6, server_error_share=0.6)


def test_records_repeated_without_idempotency_key_are_applied_once(http: httpx.Client) -> None:
    """Without the header, faults are drawn per body and the records' own keys stop a repeat."""
    with start_receiver(ReceiverSettings(faults=Faults(seed=1, server_error_share=0.5))) as r:
        request = WireFormatCodec(r.records_url, SYNC).encode([make_change("a")], "r")
        headers = {k: v for k, v in request.headers.items() if k != IDEMPOTENCY_HEADER}
        statuses = [_post(http, r, request.body, headers).status_code for _ in range(6)]
        assert set(statuses) == {200, 500}
        assert dict(r.state.applied[SYNC]) == {"a": 1}
        assert r.state.counters["duplicates"] == statuses.count(200) - 1
        assert r.state.counters["replayed"] == 0
