"""The collector's door: once a person is suppressed, nothing that names them lands, not even a
malformed message, while the sender still gets 200 and everyone else is collected."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from lakecdp.governance.intake import submit
from lakecdp.governance.ledger import Ledger
from lakecdp.governance.requests import request_model
from lakecdp.kernel.config import ProjectConfig
from tests.conftest import WEB_KEY, RunningCollector, make_config, wait_for

MARKER = "zz-canary-41"


def suppress(config: ProjectConfig, *identities: tuple[str, str], kind: str = "suppress") -> None:
    payload = {
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": kind,
        "submitted_time": datetime.now(UTC).isoformat(),
        "subject_identities": [{"identity_type": t, "identity_value": v} for t, v in identities],
        "regulation": "gdpr",
    }
    submit(config, Ledger.from_config(config), request_model(config).model_validate(payload), "t")


def landed_bytes(config: ProjectConfig) -> bytes:
    folders = (config.events_landing, config.rejected_landing)
    return b"".join(p.read_bytes() for f in folders for p in sorted(Path(f).rglob("*.jsonl")))


def test_suppressed_people_are_dropped_at_the_door_and_others_collected(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "lakehouse", LAKECDP__GOVERNANCE__SUPPRESSION_REFRESH_SECONDS="0.05"
    )
    suppress(config, ("email", f"{MARKER}@example.com"), ("user_id", f"u-{MARKER}"))
    person = {"userId": f"u-{MARKER}", "context": {"market": "SG"}}
    messages = [
        ("track", {**person, "event": "viewed", "properties": {"note": MARKER}}),
        # an identify naming only the e-mail (normalized: upper case, spaces)
        ("identify", {"anonymousId": f"a-{MARKER}", "traits": {"email": f" {MARKER}@Example.COM"}}),
        # an alias that would link a new anonymous id to the suppressed user
        ("alias", {"previousId": f"a2-{MARKER}", "userId": f"u-{MARKER}"}),
        # malformed (no event name) but naming the person: not even quarantined
        ("track", {**person, "properties": {"note": MARKER}}),
    ]
    with (
        RunningCollector(config) as running,
        httpx.Client(base_url=running.url, auth=(WEB_KEY, ""), timeout=10) as client,
    ):
        for endpoint, message in messages:
            answer = client.post(f"/v1/{endpoint}", json=message)
            assert answer.status_code == 200, answer.text  # SDKs must not retry
        batch = client.post(
            "/v1/batch",
            json={
                "batch": [
                    {"type": "track", "event": "viewed", **person},
                    {"type": "track", "event": "viewed", "userId": "u-someone-else"},
                ]
            },
        )
        assert batch.json()["accepted"] == 1
        health = client.get("/health").json()
        metrics = client.get("/metrics").text
    assert health["suppressed"] == 5 and health["accepted"] == 1
    assert 'lakecdp_collector_messages_total{outcome="suppressed"} 5.0' in metrics
    landed = landed_bytes(config)
    assert MARKER.encode() not in landed.lower()
    assert b"u-someone-else" in landed  # the negative control


def test_lifting_the_suppression_opens_the_door_again(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "lakehouse", LAKECDP__GOVERNANCE__SUPPRESSION_REFRESH_SECONDS="0.05"
    )
    suppress(config, ("user_id", f"u-{MARKER}"))
    with (
        RunningCollector(config) as running,
        httpx.Client(base_url=running.url, auth=(WEB_KEY, ""), timeout=10) as client,
    ):
        event = {"userId": f"u-{MARKER}", "event": "viewed"}
        assert client.post("/v1/track", json=event).json()["accepted"] == 0
        suppress(config, ("user_id", f"u-{MARKER}"), kind="unsuppress")
        # the door re-reads the list every 0.05 s: the next message after that lands
        wait_for(lambda: client.post("/v1/track", json=event).json()["accepted"] == 1, 5)
    assert MARKER.encode() in landed_bytes(config)
