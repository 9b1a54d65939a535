"""The privacy API over real HTTP on loopback: OpenDSR's contract (create, idempotency, status,
cancel, discovery), locked doors, signed callbacks to a real receiver, and a ledger and
suppression list that hold hashes, never the identifiers."""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from lakecdp.governance.api import create_app
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.suppression import SuppressionList, suppression_file
from tests.conftest import PRIVACY_KEY, PRIVACY_READ_KEY, free_port, make_config, wait_for

WRITE = {"Authorization": f"Bearer {PRIVACY_KEY}"}
READ = {"X-API-Key": PRIVACY_READ_KEY}
MARKER = "canary-7f3a"
CALLBACK_KEY = "test-callback-key"


class Callbacks:
    """A real HTTP receiver of status callbacks."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, dict(self.headers)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/dsr"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def statuses(self) -> list[str]:
        return [orjson.loads(body)["request_status"] for body, _ in self.received]


@pytest.fixture
def privacy(tmp_path: Path) -> Iterator[tuple[str, ProjectConfig, Callbacks]]:
    config = make_config(
        tmp_path / "lakehouse",
        LAKECDP__GOVERNANCE__CALLBACK_SIGNING_KEY=CALLBACK_KEY,
    )
    callbacks = Callbacks()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30)
    yield f"http://127.0.0.1:{port}", config, callbacks
    server.should_exit = True
    thread.join(timeout=30)
    callbacks.server.shutdown()


def body(kind: str = "erasure", **extra: Any) -> dict[str, Any]:
    return {
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": kind,
        "submitted_time": "2026-12-01T10:00:00Z",
        "subject_identities": [
            {"identity_type": "email", "identity_value": f"{MARKER}@Example.com"},
            {"identity_type": "phone", "identity_value": "+65 8123 4567"},
        ],
        "regulation": "sg_pdpa",
        **extra,
    }


def test_a_request_is_taken_once_answered_and_cancelled_while_pending(privacy) -> None:  # type: ignore[no-untyped-def]
    url, config, callbacks = privacy
    sent = body(status_callback_urls=[callbacks.url])
    created = httpx.post(f"{url}/v1/opengdpr_requests", json=sent, headers=WRITE)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["subject_request_id"] == sent["subject_request_id"]
    expected = datetime.fromisoformat(answer["expected_completion_time"])
    received = datetime.fromisoformat(answer["received_time"])
    assert expected - received == timedelta(days=30)  # sg_pdpa's configured deadline
    again = httpx.post(f"{url}/v1/opengdpr_requests", json=sent, headers=WRITE)
    assert (again.status_code, again.json()) == (200, answer)  # idempotent on the id
    other = {**sent, "subject_request_type": "access"}
    conflict = httpx.post(f"{url}/v1/opengdpr_requests", json=other, headers=WRITE)
    assert conflict.status_code == 409
    status = httpx.get(f"{url}/v1/opengdpr_requests/{sent['subject_request_id']}", headers=READ)
    assert status.status_code == 200
    assert status.json()["request_status"] == "pending"
    assert status.json()["controller_id"] == config.governance.controller_id
    cancelled = httpx.delete(
        f"{url}/v1/opengdpr_requests/{sent['subject_request_id']}", headers=WRITE
    )
    assert (cancelled.status_code, cancelled.json()["request_status"]) == (202, "cancelled")
    late = httpx.delete(f"{url}/v1/opengdpr_requests/{sent['subject_request_id']}", headers=WRITE)
    assert late.status_code == 409 and "only a pending request" in late.json()["detail"]
    assert httpx.get(f"{url}/v1/opengdpr_requests/nope", headers=READ).status_code == 404
    # signed callbacks: one per status change, verifiable with the shared key
    wait_for(lambda: len(callbacks.received) == 2, timeout=10)
    assert callbacks.statuses() == ["pending", "cancelled"]
    for raw, headers in callbacks.received:
        expected_signature = hmac.new(CALLBACK_KEY.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-OpenDSR-Signature"] == expected_signature
        assert orjson.loads(raw)["subject_request_id"] == sent["subject_request_id"]


def test_doors_are_locked_by_scope(privacy) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = privacy
    sent = body()
    assert httpx.post(f"{url}/v1/opengdpr_requests", json=sent).status_code == 401
    wrong = {"Authorization": "Bearer not-a-key-at-all-0000"}
    assert httpx.post(f"{url}/v1/opengdpr_requests", json=sent, headers=wrong).status_code == 401
    read_only = httpx.post(f"{url}/v1/opengdpr_requests", json=sent, headers=READ)
    assert read_only.status_code == 403
    assert httpx.get(f"{url}/v1/opengdpr_requests/x").status_code == 401
    assert httpx.delete(f"{url}/v1/opengdpr_requests/x", headers=READ).status_code == 403
    # discovery is public: what the controller supports, nothing about anyone
    discovery = httpx.get(f"{url}/discovery").json()
    types = {i["identity_type"] for i in discovery["supported_identities"]}
    assert types >= {"email", "phone", "loyalty_id", "device_id", "anonymous_id", "customer_id"}
    assert {"erasure", "access", "portability", "suppress", "unsuppress"} <= set(
        discovery["supported_subject_request_types"]
    )
    assert {"gdpr", "sg_pdpa", "th_pdpa", "id_pdp"} <= set(discovery["supported_regulations"])


@pytest.mark.parametrize(
    ("change", "status", "names"),
    [
        ({"subject_identities": [{"identity_type": "passport", "identity_value": "x"}]}, 422, ""),
        (
            {
                "subject_identities": [
                    {"identity_type": "email", "identity_value": "ab", "identity_format": "sha256"}
                ]
            },
            422,
            "",
        ),
        ({"regulation": "hipaa"}, 422, ""),
        (
            {"subject_identities": [{"identity_type": "phone", "identity_value": "8123 4567"}]},
            422,
            "subject_identities[0] (phone) is not usable",
        ),
        ({"subject_request_type": "access", "suppress": True}, 422, "erasure"),
    ],
)
def test_bad_requests_are_422_naming_the_field_never_the_value(
    privacy, change, status, names
) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = privacy
    answer = httpx.post(f"{url}/v1/opengdpr_requests", json={**body(), **change}, headers=WRITE)
    assert answer.status_code == status, answer.text
    assert names in answer.text
    assert "8123 4567" not in str(answer.json().get("detail") if names else "")


def test_the_ledger_and_the_suppression_list_hold_hashes_only(privacy) -> None:  # type: ignore[no-untyped-def]
    url, config, _ = privacy
    erasure = body()
    assert httpx.post(f"{url}/v1/opengdpr_requests", json=erasure, headers=WRITE).status_code == 201
    doors = SuppressionList(suppression_file(config), refresh_seconds=0)
    assert len(doors.hashes()) == 2  # the e-mail and the phone, on the list at once
    suppress = body("suppress")
    suppress["subject_identities"] = [{"identity_type": "loyalty_id", "identity_value": "LY-9"}]
    assert (
        httpx.post(f"{url}/v1/opengdpr_requests", json=suppress, headers=WRITE).status_code == 201
    )
    assert len(doors.hashes()) == 3
    # unsuppress lifts what the suppress request holds, not the erasure in progress
    lift = body("unsuppress")
    lift["subject_identities"] = [
        {"identity_type": "loyalty_id", "identity_value": "ly-9"},
        {"identity_type": "email", "identity_value": f"{MARKER}@example.com"},
    ]
    assert httpx.post(f"{url}/v1/opengdpr_requests", json=lift, headers=WRITE).status_code == 201
    assert len(doors.hashes()) == 2
    status = httpx.get(f"{url}/v1/opengdpr_requests/{lift['subject_request_id']}", headers=READ)
    assert status.json()["request_status"] == "completed"
    governance = Path(config.governance_root)
    files = [p for p in governance.rglob("*") if p.is_file()]
    assert files and all(MARKER.encode() not in p.read_bytes().lower() for p in files)
    assert all(b"81234567" not in p.read_bytes() for p in files)
