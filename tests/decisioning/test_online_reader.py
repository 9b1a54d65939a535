"""The endpoint's direct online reads (lakecdp/decisioning/feast_online.py) return exactly
what Feast's `FeatureStore.get_online_features(...).to_dict()` returns for the same rows, on
Feast's SQLite store and on a real Redis: values, types, nulls, missing features, unknown
entities and rows Feast wrote over. No Spark: rows reach the store through Feast's own write
path."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakecdp.decisioning.feast_online import entity_key, redis_connection_kwargs, redis_field
from lakecdp.decisioning.online_features import (
    DECISION_SERVICE,
    IDENTIFIER_VIEW,
    PROPENSITY_SERVICE,
    OnlineFeatures,
)
from lakecdp.kernel.config import ProjectConfig
from tests.conftest import REPO, make_config

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CUSTOMERS = ("cus_full", "cus_sparse", "cus_zero", "cus_unicode_é")


@dataclass
class Stores:
    config: ProjectConfig
    feast: Any  # feast.FeatureStore
    online: OnlineFeatures


def _write_rows(config: ProjectConfig, store: Any) -> None:
    """Rows of every decision view through Feast's write path: full, partly null, zeros, and a
    row written twice (the second wins)."""
    import pandas as pd

    from feature_repo.feature_views.customer import consent_features
    from spark_jobs.features.transactions import FEATURE_COLUMNS

    consents = consent_features(config)
    transactions = []
    for i, (customer, scale) in enumerate([("cus_full", 1.5), ("cus_zero", 0.0)]):
        row: dict[str, Any] = {c: scale * (n + 1) for n, c in enumerate(FEATURE_COLUMNS)}
        row.update(customer_id=customer, feature_ts=NOW - timedelta(days=1, minutes=i))
        row["last_order_at"] = NOW - timedelta(days=3)
        transactions.append(row)
    sparse = dict.fromkeys(FEATURE_COLUMNS)
    sparse.update(customer_id="cus_sparse", frequency=2.0, feature_ts=NOW, last_order_at=None)
    transactions.append(sparse)
    frame = pd.DataFrame(transactions)
    frame["last_order_at"] = pd.to_datetime(frame["last_order_at"], utc=True)
    store.write_to_online_store("customer_transactions", frame)

    profiles = pd.DataFrame(
        [
            {
                "customer_id": customer,
                "market": market,
                **{c: ("granted" if n % 3 == 0 else "denied") for n, c in enumerate(consents)},
                "_built_at": NOW,
            }
            for customer, market in [("cus_full", "SG"), ("cus_unicode_é", "TH")]
        ]
        + [{"customer_id": "cus_sparse", "market": None, "_built_at": NOW}]
    )
    store.write_to_online_store("customer_profile", profiles)

    def activity(views: int, cart: int, channel: str | None, minutes: float) -> dict[str, Any]:
        return {
            "customer_id": "cus_full",
            "views_30m": views,
            "open_cart": cart,
            "last_channel": channel,
            "last_event_at": NOW - timedelta(minutes=minutes),
            "event_timestamp": NOW - timedelta(minutes=minutes),
        }

    store.write_to_online_store("customer_activity", pd.DataFrame([activity(1, 0, "web", 9)]))
    later = pd.DataFrame(
        [activity(7, 1, "app", 2), {**activity(0, 0, None, 1), "customer_id": "cus_zero"}]
    )
    store.write_to_online_store("customer_activity", later)

    store.write_to_online_store(
        IDENTIFIER_VIEW,
        pd.DataFrame(
            [
                {"identifier": ident, "customer_id": customer, "updated_at": NOW}
                for ident, customer in [
                    ("email:alice@example.com", "cus_full"),
                    ("customer_id:cus_old", "cus_full"),
                    ("phone:+6591234567", "cus_sparse"),
                    ("device_id:dévice-✓", "cus_unicode_é"),
                ]
            ]
        ),
    )


def _stores(config: ProjectConfig) -> Iterator[Stores]:
    from lakecdp.decisioning.feature_store import apply_definitions

    store = apply_definitions(config)
    _write_rows(config, store)
    online = OnlineFeatures(config)
    yield Stores(config, store, online)
    online.close()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    root = tmp_path_factory.mktemp(f"online-{request.param}") / "lakehouse"
    if request.param == "sqlite":
        yield from _stores(make_config(root))
        return
    ensured = subprocess.run(
        [str(REPO / "infra" / "redis" / "ensure.sh")], capture_output=True, text=True, check=False
    )
    assert ensured.returncode == 0, f"Redis is not ready:\n{ensured.stderr}"
    project = f"test_{uuid.uuid4().hex[:8]}"  # this run's keys only
    config = make_config(root, LAKECDP_ONLINE_STORE="redis", LAKECDP__FEATURES__PROJECT=project)
    try:
        yield from _stores(config)
    finally:
        import redis

        client = redis.Redis(**redis_connection_kwargs(config.features.redis_url))
        for key in client.scan_iter(match=b"*" + project.encode()):
            client.delete(key)


def _feast_features(stores: Stores, customer: str) -> dict[str, Any]:
    service = stores.feast.get_feature_service(DECISION_SERVICE)
    rows = stores.feast.get_online_features(
        features=service, entity_rows=[{"customer_id": customer}]
    ).to_dict()
    return {name: values[0] for name, values in rows.items() if name != "customer_id"}


@pytest.mark.parametrize("customer", [*CUSTOMERS, "cus_unknown"])
def test_decision_features_equal_feasts(stores: Stores, customer: str) -> None:
    expected = _feast_features(stores, customer)
    got = stores.online.features(customer)
    assert got == expected
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}


def test_the_rows_hold_what_was_written(stores: Stores) -> None:
    """The comparison above is not between two empty answers."""
    full = stores.online.features("cus_full")
    assert (full["monetary"], full["market"], full["views_30m"], full["last_channel"]) == (
        6.0,
        "SG",
        7,
        "app",
    )
    assert full["last_event_at"] == NOW - timedelta(minutes=2)
    sparse = stores.online.features("cus_sparse")
    assert sparse["frequency"] == 2.0 and sparse["recency_days"] is None
    assert sparse["market"] is None and sparse["views_30m"] is None
    assert stores.online.features("cus_zero")["monetary"] == 0.0
    assert set(stores.online.features("cus_unknown").values()) == {None}


@pytest.mark.parametrize(
    "identifier",
    [
        "email:alice@example.com",
        "customer_id:cus_old",
        "phone:+6591234567",
        "device_id:dévice-✓",
        "email:nobody@example.com",
    ],
)
def test_identifier_lookup_equals_feasts(stores: Stores, identifier: str) -> None:
    rows = stores.feast.get_online_features(
        features=[f"{IDENTIFIER_VIEW}:customer_id"], entity_rows=[{"identifier": identifier}]
    ).to_dict()
    assert stores.online.resolve(identifier) == rows["customer_id"][0]


def test_history_means_any_propensity_input(stores: Stores) -> None:
    online = stores.online
    assert online.has_transactions(online.features("cus_sparse"))
    assert online.has_transactions(online.features("cus_zero"))
    assert not online.has_transactions(online.features("cus_unicode_é"))


def test_the_store_check_passes_on_a_materialized_store(stores: Stores) -> None:
    stores.online.check()


def test_names_agree_with_the_feature_repository(stores: Stores) -> None:
    from feature_repo.feature_services import DECISION_SERVICE as REPO_DECISION
    from feature_repo.feature_services import PROPENSITY_SERVICE as REPO_PROPENSITY
    from spark_jobs.features.transactions import FEATURE_COLUMNS

    assert (DECISION_SERVICE, PROPENSITY_SERVICE) == (REPO_DECISION, REPO_PROPENSITY)
    assert IDENTIFIER_VIEW in {v.name for v in stores.feast.list_feature_views()}
    propensity = stores.online.registry.service(PROPENSITY_SERVICE)
    assert [f for v in propensity for f in v.features] == list(FEATURE_COLUMNS)


def test_key_encoding_is_feasts() -> None:
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.infra.online_stores.helpers import _mmh3
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    for value in ("cus_a", "", "é✓" * 40):
        key = EntityKey(join_keys=["customer_id"], entity_values=[Value(string_val=value)])
        assert entity_key([("customer_id", 2)], {"customer_id": value}) == serialize_entity_key(
            key, entity_key_serialization_version=3
        )
    two = EntityKey(
        join_keys=["b", "a"], entity_values=[Value(int64_val=-5), Value(string_val="x")]
    )
    assert entity_key([("a", 2), ("b", 4)], {"a": "x", "b": -5}) == serialize_entity_key(
        two, entity_key_serialization_version=3
    )
    for view, feature in [("customer_activity", "views_30m"), ("v", "é✓")]:
        assert redis_field(view, feature) == _mmh3(f"{view}:{feature}")


def test_a_store_not_materialized_is_not_ready(tmp_path: Path) -> None:
    online = OnlineFeatures(make_config(tmp_path / "lakehouse"))
    with pytest.raises(ValueError, match="registry"):
        online.check()
    assert not (tmp_path / "lakehouse" / "feast" / "online.db").exists()
