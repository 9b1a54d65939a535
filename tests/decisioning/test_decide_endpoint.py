"""/v1/decide over real HTTP on loopback, on the decision lake (Feast SQLite online store, the
MLflow champion): a known customer, an unknown device, an opted-out customer, a capped one and
a holdout one, invalid requests, the decision log, metrics and a champion swap without restart
(the swapped-in version is the other model kind, so both portable scorers serve a request)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

from lakecdp.decisioning.endpoint import create_app
from lakecdp.decisioning.holdout import assign_arm
from lakecdp.kernel.config import ProjectConfig
from ml.tracking import CHAMPION, mlflow_client
from tests.conftest import DECIDE_AUTH, DECIDE_KEY, PRIVACY_KEY, free_port, make_config, wait_for

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]
KNOWN = ("cus_a", "cus_b", "cus_c")


def _salt() -> tuple[str, str]:
    """An experiment salt that keeps the named customers in treatment and puts one of the
    history customers in the holdout (arms are a hash: pick, don't hope)."""
    for i in range(1000):
        salt = f"test-{i}"
        if all(assign_arm(c, salt, 0.3) == "treatment" for c in KNOWN):
            for n in range(400):
                if assign_arm(f"cus_{n:05d}", salt, 0.3) == "holdout":
                    return salt, f"cus_{n:05d}"
    raise AssertionError("no salt found")


SALT, HOLDOUT_CUSTOMER = _salt()


@pytest.fixture(scope="module")
def endpoint(
    decision_lake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ProjectConfig]]:  # type: ignore[no-untyped-def]
    config = make_config(
        Path(decision_lake.lakehouse.root),
        LAKECDP__DECISIONING__EXPERIMENTS=(
            f'{{"nba_2026q4": {{"salt": "{SALT}", "holdout_share": 0.3}}}}'
        ),
        LAKECDP__DECISIONING__MODEL_REFRESH_SECONDS="0.5",
        LAKECDP__GOVERNANCE__SUPPRESSION_REFRESH_SECONDS="0.1",
        LAKECDP__DECISIONING__LOG_DIR=str(tmp_path_factory.mktemp("decision-log")),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: server.started, timeout=60)
    # ready means able to decide: the champion loads after the socket opens
    wait_for(lambda: httpx.get(f"{url}/health").status_code == 200, timeout=60)
    yield url, config
    server.should_exit = True
    thread.join(timeout=30)


def decide(url: str, **body: object) -> httpx.Response:
    return httpx.post(f"{url}/v1/decide", json=body, headers=DECIDE_AUTH, timeout=10)


def test_known_customer_by_email_gets_a_scored_action_with_reasons(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, config = endpoint
    champion = mlflow_client(config).get_model_version_by_alias(
        config.models.registered_model, CHAMPION
    )
    r = decide(
        url,
        identifier={"type": "email", "value": " Alice@Example.COM "},
        channel="any",
        market="SG",
        context={"page": "home"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["customer_id"], body["arm"], body["fallback"]) == ("cus_a", "treatment", False)
    assert body["model_version"] == str(champion.version)
    assert 0 < body["score"] < 1
    assert body["action"] in config.decisioning.actions
    assert body["channel"] in ("email", "push")  # cus_a consents to marketing there only
    assert body["reasons"][0].startswith(f"score {body['score']:.3f} by model v")


def test_unknown_device_gets_the_fallback_with_its_reason(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, _ = endpoint
    body = decide(
        url, identifier={"type": "device_id", "value": "never-seen-1"}, channel="any", market="SG"
    ).json()
    assert (body["action"], body["fallback"], body["customer_id"]) == (
        "generic_content",
        True,
        None,
    )
    assert body["reasons"] == ["unknown device_id: fallback"]
    bad_phone = decide(url, identifier={"type": "phone", "value": "12"}, channel="any", market="SG")
    assert bad_phone.status_code == 200 and "invalid_number" in bad_phone.json()["reasons"][0]


def test_opted_out_customer_gets_no_marketing(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, _ = endpoint
    body = decide(url, customer_id="cus_c", channel="any", market="TH").json()
    assert body["fallback"] and body["action"] == "generic_content"
    assert "welcome_first_order: consent denied for marketing on email" in body["reasons"]


def test_caps_are_counted_across_decisions(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, config = endpoint
    cap = config.decisioning.caps["push"].max
    first = [
        decide(url, customer_id="cus_b", channel="push", market="MY").json() for _ in range(cap)
    ]
    assert {(b["action"], b["channel"]) for b in first} == {("cart_recovery", "push")}
    capped = decide(url, customer_id="cus_b", channel="push", market="MY").json()
    assert capped["channel"] is None and capped["fallback"]
    assert f"cart_recovery: capped on push ({cap}/{cap} in 24 h)" in capped["reasons"]


def test_holdout_customer_gets_no_action(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, _ = endpoint
    body = decide(url, customer_id=HOLDOUT_CUSTOMER, channel="any", market="SG").json()
    assert (body["action"], body["arm"], body["channel"]) == ("no_action", "holdout", None)


def test_retired_customer_id_resolves_to_the_survivor(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, _ = endpoint
    assert decide(url, customer_id="cus_old", channel="any", market="SG").json()["customer_id"] == (
        "cus_a"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_id": "cus_a", "channel": "fax", "market": "SG"}, ["body", "channel"]),
        ({"customer_id": "cus_a", "channel": "any"}, ["body", "market"]),
        (
            {"identifier": {"type": "passport", "value": "x"}, "channel": "any", "market": "SG"},
            ["body", "identifier", "type"],
        ),
        ({"channel": "any", "market": "SG"}, ["body"]),
        ({"customer_id": "cus_a", "channel": "any", "market": "SG", "extra": 1}, ["body", "extra"]),
    ],
)
def test_invalid_requests_are_422_naming_the_field(endpoint, body, field) -> None:  # type: ignore[no-untyped-def]
    url, _ = endpoint
    r = decide(url, **body)
    assert r.status_code == 422
    assert any(e["loc"] == field for e in r.json()["detail"]), r.json()


def test_health_metrics_and_openapi(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, config = endpoint
    champion = mlflow_client(config).get_model_version_by_alias(
        config.models.registered_model, CHAMPION
    )
    health = httpx.get(f"{url}/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["model_version"] == str(champion.version)
    metrics = httpx.get(f"{url}/metrics").text
    assert 'lakecdp_decisions_total{action="cart_recovery",arm="treatment",fallback="False"}' in (
        metrics
    )
    assert "lakecdp_decide_seconds_bucket" in metrics
    schema = httpx.get(f"{url}/openapi.json").json()
    assert "/v1/decide" in schema["paths"]


def test_decisions_are_logged_in_sealed_segments(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, config = endpoint
    decision_id = decide(url, customer_id="cus_a", channel="email", market="SG").json()[
        "decision_id"
    ]
    folder = Path(config.decision_log_dir)

    def logged() -> bool:
        for segment in folder.glob("*.jsonl"):
            for line in segment.read_bytes().splitlines():
                if orjson.loads(line)["decision_id"] == decision_id:
                    return True
        return False

    wait_for(logged, timeout=20)


def test_a_new_champion_is_picked_up_without_restart(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, config = endpoint
    client = mlflow_client(config)
    name = config.models.registered_model
    current = str(client.get_model_version_by_alias(name, CHAMPION).version)
    other = next(
        str(v.version)
        for v in client.search_model_versions(f"name = '{name}'")
        if str(v.version) != current
    )
    client.set_registered_model_alias(name, CHAMPION, other)
    try:
        wait_for(lambda: httpx.get(f"{url}/health").json()["model_version"] == other, timeout=30)
        body = decide(url, customer_id="cus_a", channel="any", market="SG").json()
        assert body["model_version"] == other
        kind = client.get_model_version(name, other).tags["model_kind"]
        assert body["reasons"][0].startswith(
            f"score {body['score']:.3f} by model v{other} ({kind})"
        )
    finally:
        client.set_registered_model_alias(name, CHAMPION, current)
    time.sleep(0.1)


def test_the_endpoint_is_locked_by_api_keys_with_scopes(endpoint) -> None:  # type: ignore[no-untyped-def]
    url, config = endpoint
    body = {"identifier": {"type": "email", "value": "alice@example.com"}, "channel": "any"}
    body["market"] = "SG"
    anonymous = httpx.post(f"{url}/v1/decide", json=body, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "customer_id" not in anonymous.text
    wrong = httpx.post(
        f"{url}/v1/decide", json=body, headers={"Authorization": "Bearer not-a-key"}, timeout=10
    )
    assert wrong.status_code == 401
    # a privacy-desk key is a real key without the decide scope
    forbidden = httpx.post(
        f"{url}/v1/decide", json=body, headers={"X-API-Key": PRIVACY_KEY}, timeout=10
    )
    assert forbidden.status_code == 403
    assert "lacks the scope 'decide'" in forbidden.json()["detail"]
    # a bad body from an anonymous caller learns nothing about the body: 401 before 422
    assert httpx.post(f"{url}/v1/decide", json={"x": 1}, timeout=10).status_code == 401
    allowed = httpx.post(f"{url}/v1/decide", json=body, headers={"X-API-Key": DECIDE_KEY})
    assert allowed.status_code == 200 and allowed.json()["customer_id"] == "cus_a"
    decision_id = allowed.json()["decision_id"]
    # probes stay open
    assert httpx.get(f"{url}/health").status_code == 200
    assert httpx.get(f"{url}/metrics").status_code == 200
    # the decision log names the caller (never the key)
    folder = Path(config.decision_log_dir)

    def caller_logged() -> bool:
        for segment in folder.glob("*.jsonl"):
            for line in segment.read_bytes().splitlines():
                row = orjson.loads(line)
                if row["decision_id"] == decision_id:
                    assert DECIDE_KEY not in line.decode()
                    return bool(row["caller"] == "test-app")
        return False

    wait_for(caller_logged, timeout=20)
    schemes = httpx.get(f"{url}/openapi.json").json()["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}


def test_a_suppressed_person_gets_no_decision_by_any_identifier(endpoint) -> None:  # type: ignore[no-untyped-def]
    from tests.signals.collector.test_suppression import suppress

    url, config = endpoint
    by_email = {"identifier": {"type": "email", "value": "ALICE@example.com"}}
    asks = [by_email, {"customer_id": "cus_a"}, {"customer_id": "cus_old"}]  # cus_old: retired
    suppress(config, ("email", "alice@example.com"), ("customer_id", "cus_a"))
    try:
        wait_for(lambda: decide(url, **by_email, channel="any", market="SG").json()["fallback"])
        for ask in asks:
            body = decide(url, **ask, channel="any", market="SG").json()
            assert body["customer_id"] is None and body["score"] is None, ask
            assert (body["action"], body["channel"]) == ("no_action", None)
            assert body["reasons"] == [
                "suppressed by a privacy request: no decision, nothing read or kept"
            ]
        other = decide(url, customer_id="cus_b", channel="any", market="MY").json()
        assert other["customer_id"] == "cus_b"
    finally:
        suppress(config, ("email", "alice@example.com"), kind="unsuppress")
    back = lambda: decide(url, **by_email, channel="any", market="SG").json()["customer_id"]  # noqa: E731
    wait_for(lambda: back() == "cus_a")
