"""The collector over real HTTP on loopback: the Segment API contract, auth, limits, durability."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import orjson
import pytest
from segment.analytics import Client as SegmentClient

from lakecdp.kernel.config import ProjectConfig
from tests.conftest import APP_KEY, WEB_KEY, RunningCollector, wait_for


def landed(folder: str) -> list[dict]:
    """Every record in the landing folder, sealed or still open."""
    out: list[dict] = []
    for file in sorted(Path(folder).rglob("*.jsonl")):
        out.extend(orjson.loads(line) for line in file.read_bytes().splitlines() if line.strip())
    return out


def test_track_is_durable_in_landing_zone_when_acknowledged(client, lake: ProjectConfig) -> None:
    response = client.post(
        "/v1/track",
        json={
            "event": "product_viewed",
            "anonymousId": "a-1",
            "messageId": "m-1",
            "timestamp": "2026-10-01T10:00:00Z",
            "properties": {"sku": "X"},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    # No waiting: a 200 means the line is already on disk.
    [event] = landed(lake.events_landing)
    assert event["messageId"] == "m-1"
    assert event["type"] == "track"
    assert event["_source"] == "web"
    assert event["receivedAt"].endswith("Z")


def test_segments_are_sealed_into_visible_folder(client, lake: ProjectConfig) -> None:
    client.post("/v1/page", json={"anonymousId": "a-1", "name": "home"})
    visible = Path(lake.events_landing)
    wait_for(lambda: any(visible.glob("*.jsonl")), timeout=10)
    assert not any((visible / "_open").glob("*.jsonl"))
    sealed = landed_sealed(visible)
    assert [e["type"] for e in sealed] == ["page"]


def landed_sealed(folder: Path) -> list[dict]:
    return [
        orjson.loads(line)
        for file in sorted(folder.glob("*.jsonl"))
        for line in file.read_bytes().splitlines()
    ]


def test_missing_write_key_is_401_and_nothing_stored(collector, lake: ProjectConfig) -> None:
    response = httpx.post(f"{collector.url}/v1/track", json={"event": "x", "userId": "u"})
    assert response.status_code == 401
    assert response.json()["reason"] == "missing_write_key"
    wrong = httpx.post(
        f"{collector.url}/v1/track", json={"event": "x", "userId": "u"}, auth=("nope", "")
    )
    assert wrong.status_code == 401
    assert wrong.json()["reason"] == "invalid_write_key"
    assert landed(lake.events_landing) == []
    assert landed(lake.rejected_landing) == []


def test_write_key_in_body_is_accepted(collector, lake: ProjectConfig) -> None:
    response = httpx.post(
        f"{collector.url}/v1/batch",
        json={
            "writeKey": APP_KEY,
            "batch": [{"type": "screen", "anonymousId": "a", "name": "Home"}],
        },
    )
    assert response.status_code == 200
    [event] = landed(lake.events_landing)
    assert event["_source"] == "app"
    assert event["messageId"].startswith("lakecdp-")


def test_malformed_json_is_400_with_reason_and_quarantined(client, lake: ProjectConfig) -> None:
    response = client.post(
        "/v1/track", content=b'{"event": "x", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "malformed_json"
    [rejected] = landed(lake.rejected_landing)
    assert rejected["reason"] == "malformed_json"
    assert rejected["raw"] == '{"event": "x", '
    assert rejected["source"] == "web"


def test_invalid_single_event_is_400_naming_the_rule(client, lake: ProjectConfig) -> None:
    response = client.post("/v1/track", json={"anonymousId": "a-1"})
    assert response.status_code == 400
    assert response.json()["reason"] == "missing_event_name"
    assert landed(lake.events_landing) == []
    assert [r["reason"] for r in landed(lake.rejected_landing)] == ["missing_event_name"]


def test_batch_keeps_good_messages_and_reports_bad_ones(client, lake: ProjectConfig) -> None:
    batch = {
        "sentAt": "2026-10-01T10:00:05Z",
        "context": {"library": {"name": "test"}},
        "batch": [
            {"type": "track", "event": "product_added", "userId": "u-1", "messageId": "m-1"},
            {"type": "track", "userId": "u-1", "messageId": "m-2"},
            {"type": "identify", "userId": "u-1", "messageId": "m-3", "traits": {"email": "x@y.z"}},
            {"type": "page", "messageId": "m-4"},
        ],
    }
    response = client.post("/v1/batch", json=batch)
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (1, "missing_event_name"),
        (3, "missing_identity"),
    ]
    events = {e["messageId"]: e for e in landed(lake.events_landing)}
    assert set(events) == {"m-1", "m-3"}
    assert events["m-1"]["sentAt"] == "2026-10-01T10:00:05Z"
    assert events["m-1"]["context"]["library"] == {"name": "test"}
    assert {r["reason"] for r in landed(lake.rejected_landing)} == {
        "missing_event_name",
        "missing_identity",
    }


def test_batch_of_only_bad_messages_is_400(client) -> None:
    response = client.post("/v1/batch", json={"batch": [{"type": "nope", "userId": "u"}]})
    assert response.status_code == 400
    assert response.json()["reason"] == "unknown_type"


def test_gzip_body_is_accepted(client, lake: ProjectConfig) -> None:
    body = gzip.compress(json.dumps({"batch": [{"type": "identify", "userId": "u-9"}]}).encode())
    response = client.post(
        "/v1/batch",
        content=body,
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert [e["userId"] for e in landed(lake.events_landing)] == ["u-9"]


def test_corrupt_gzip_is_400(client) -> None:
    response = client.post("/v1/batch", content=b"not gzip", headers={"content-encoding": "gzip"})
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_gzip"


def test_request_over_limit_is_413(client, lake: ProjectConfig) -> None:
    big = "x" * (lake.collector.max_request_bytes + 10)
    response = client.post(
        "/v1/track", json={"event": "e", "userId": "u", "properties": {"p": big}}
    )
    assert response.status_code == 413
    assert response.json()["reason"] == "request_too_large"


def test_gzip_bomb_over_limit_is_413(client, lake: ProjectConfig) -> None:
    payload = json.dumps(
        {
            "batch": [
                {"type": "track", "event": "e", "userId": "u", "properties": {"p": "0" * 2_000_000}}
            ]
        }
    ).encode()
    response = client.post(
        "/v1/batch", content=gzip.compress(payload), headers={"content-encoding": "gzip"}
    )
    assert response.status_code == 413


def test_message_over_32kb_in_batch_is_refused_alone(client, lake: ProjectConfig) -> None:
    big = "y" * (lake.collector.max_message_bytes + 1)
    response = client.post(
        "/v1/batch",
        json={
            "batch": [
                {"type": "track", "event": "big", "userId": "u", "properties": {"p": big}},
                {"type": "track", "event": "small", "userId": "u"},
            ]
        },
    )
    assert response.status_code == 200
    assert response.json()["rejected"][0]["reason"] == "message_too_large"
    assert [e["event"] for e in landed(lake.events_landing)] == ["small"]


def test_official_segment_sdk_delivers_every_event(collector, lake: ProjectConfig) -> None:
    errors: list[Exception] = []
    sdk = SegmentClient(
        write_key=WEB_KEY,
        host=collector.url,
        gzip=True,
        sync_mode=False,
        on_error=lambda exc, batch: errors.append(exc),
        max_retries=2,
    )
    for i in range(120):
        sdk.track(
            user_id=f"user-{i % 7}",
            event="product_viewed",
            properties={"i": i},
            context={"channel": "web", "market": "SG"},
        )
    sdk.identify(user_id="user-1", traits={"email": "A@Example.com"})
    sdk.page(anonymous_id="anon-1", name="Home")
    sdk.alias(previous_id="anon-1", user_id="user-1")
    sdk.group(user_id="user-1", group_id="household-1")
    sdk.flush()
    sdk.shutdown()
    assert errors == []
    events = landed(lake.events_landing)
    assert len(events) == 124
    assert len({e["messageId"] for e in events}) == 124
    assert {e["type"] for e in events} == {"track", "identify", "page", "alias", "group"}
    assert all(e["_source"] == "web" for e in events)


def test_leftover_open_segment_is_sealed_on_restart(lake: ProjectConfig) -> None:
    open_dir = Path(lake.events_landing) / "_open"
    open_dir.mkdir(parents=True)
    (open_dir / "crashed-segment.jsonl").write_text('{"messageId": "m-old"}\n')
    with RunningCollector(lake):
        assert (Path(lake.events_landing) / "crashed-segment.jsonl").exists()
        assert not (open_dir / "crashed-segment.jsonl").exists()


def test_health_reports_counters(client) -> None:
    client.post("/v1/identify", json={"userId": "u-1"})
    client.post("/v1/identify", json={})
    health = client.get("/health").json()
    assert health["accepted"] == 1
    assert health["rejected"] == 1


@pytest.mark.parametrize("endpoint", ["track", "identify", "page", "screen", "alias", "group"])
def test_endpoint_sets_message_type(client, lake: ProjectConfig, endpoint: str) -> None:
    message = {
        "userId": "u-1",
        "event": "e",
        "previousId": "p",
        "groupId": "g",
        "type": "something-else",
    }
    response = client.post(f"/v1/{endpoint}", json=message)
    assert response.status_code == 200, response.text
    assert landed(lake.events_landing)[0]["type"] == endpoint


def test_historical_replay_drops_sent_at_so_events_keep_their_time(tmp_path: Path) -> None:
    from lakecdp.signals.collector.sender import _requests

    recorded = {
        "type": "track",
        "event": "product_viewed",
        "messageId": "m-1",
        "anonymousId": "a-1",
        "timestamp": "2026-09-01T10:00:00.000Z",
        "sentAt": "2026-09-01T10:00:02.000Z",
        "context": {"channel": "web"},
    }
    file = tmp_path / "events.jsonl"
    file.write_bytes(orjson.dumps(recorded) + b"\n")

    def sent(historical: bool) -> dict:
        (request,) = list(_requests([file], lambda _: "key", 100, 400_000, historical))
        return orjson.loads(request.body)["batch"][0]

    assert "sentAt" not in sent(historical=True)
    assert sent(historical=True)["timestamp"] == recorded["timestamp"]
    assert sent(historical=False)["sentAt"] == recorded["sentAt"]  # live traffic is untouched
