"""Feature tables and Feast on real Delta and a real online store: point-in-time snapshots,
labels, online identity lookup, decision features, historical joins, push, Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from feature_repo.feature_services import DECISION_SERVICE, PROPENSITY_SERVICE
from lakecdp.decisioning.feature_store import feature_store, materialize, push_activity
from lakecdp.kernel.config import ProjectConfig
from spark_jobs.features.job import SNAPSHOTS, orders_for_features
from spark_jobs.features.transactions import cutoff_frame, labelled_features
from tests.conftest import make_config
from tests.feature_repo.gold_world import AS_OF

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1200)]


def _snapshot(spark, config: ProjectConfig, customer: str, at: datetime):  # type: ignore[no-untyped-def]
    rows = (
        spark.read.format("delta")
        .load(config.table_path(*SNAPSHOTS))
        .where(f"customer_id = '{customer}' and feature_ts = timestamp '{at.isoformat()}'")
        .collect()
    )
    assert len(rows) == 1
    return rows[0]


def test_snapshot_counts_only_orders_before_its_cutoff(spark, decision_lake) -> None:  # type: ignore[no-untyped-def]
    now = _snapshot(spark, decision_lake, "cus_a", AS_OF)
    # eight orders 3..73 days back (40 + days each); the order two days after AS_OF is not seen
    assert (now.frequency, now.recency_days, now.tenure_days) == (8.0, 3.0, 73.0)
    assert now.monetary == pytest.approx(624.0) and now.average_order_value == pytest.approx(78.0)
    assert (now.orders_30d, now.value_30d, now.interpurchase_days) == (3.0, 159.0, 10.0)
    week_ago = _snapshot(spark, decision_lake, "cus_a", AS_OF - timedelta(days=7))
    assert (week_ago.frequency, week_ago.recency_days) == (7.0, 6.0)


def test_labels_look_only_at_the_horizon_after_the_cutoff(spark, decision_lake) -> None:  # type: ignore[no-untyped-def]
    orders = orders_for_features(spark, decision_lake)
    labelled = labelled_features(orders, cutoff_frame(spark, [AS_OF]), horizon_days=30)
    labels = {
        r.customer_id: r.label
        for r in labelled.where("customer_id in ('cus_a', 'cus_b')").collect()
    }
    assert labels == {"cus_a": 1, "cus_b": 0}


def test_online_store_resolves_identifiers_and_retired_ids(decision_lake) -> None:  # type: ignore[no-untyped-def]
    store = feature_store(decision_lake)
    rows = store.get_online_features(
        features=["identifier_lookup:customer_id"],
        entity_rows=[
            {"identifier": "email:alice@example.com"},
            {"identifier": "customer_id:cus_old"},
            {"identifier": "customer_id:cus_b"},
            {"identifier": "email:nobody@example.com"},
        ],
    ).to_dict()
    assert rows["customer_id"] == ["cus_a", "cus_a", "cus_b", None]


def test_online_decision_features_hold_consent_activity_and_transactions(decision_lake) -> None:  # type: ignore[no-untyped-def]
    store = feature_store(decision_lake)
    rows = store.get_online_features(
        features=store.get_feature_service(DECISION_SERVICE),
        entity_rows=[{"customer_id": "cus_a"}, {"customer_id": "cus_b"}],
    ).to_dict()
    a, b = ({k: v[i] for k, v in rows.items()} for i in range(2))
    assert (a["market"], a["frequency"], a["consent_marketing_email"]) == ("SG", 8.0, "granted")
    assert a["consent_marketing_sms"] == "denied" and a["open_cart"] == 0
    assert (b["open_cart"], b["views_30m"], b["last_channel"]) == (1, 1, "app")


def test_historical_features_are_point_in_time(decision_lake) -> None:  # type: ignore[no-untyped-def]
    store = feature_store(decision_lake)
    entities = pd.DataFrame(
        {
            "customer_id": ["cus_a", "cus_a"],
            "event_timestamp": pd.to_datetime([AS_OF - timedelta(days=6), AS_OF]),
        }
    )
    frame = (
        store.get_historical_features(
            entity_df=entities, features=store.get_feature_service(PROPENSITY_SERVICE)
        )
        .to_df()
        .sort_values("event_timestamp")
    )
    # six days back the newest snapshot is the one of a week back: 7 orders, not 8
    assert frame["frequency"].tolist() == [7.0, 8.0]


def test_push_reaches_the_online_store_at_once(decision_lake) -> None:  # type: ignore[no-untyped-def]
    store = feature_store(decision_lake)
    now = datetime.now(UTC)
    push_activity(
        store,
        pd.DataFrame(
            {
                "customer_id": ["cus_00001"],
                "event_timestamp": [now],
                "views_30m": [4],
                "open_cart": [1],
                "last_channel": ["web"],
                "last_event_at": [now],
            }
        ),
    )
    row = store.get_online_features(
        features=["customer_activity:open_cart", "customer_activity:views_30m"],
        entity_rows=[{"customer_id": "cus_00001"}],
    ).to_dict()
    assert (row["open_cart"], row["views_30m"]) == ([1], [4])


def test_materialization_is_incremental(spark, decision_lake) -> None:  # type: ignore[no-untyped-def]
    before = feature_store(decision_lake).get_feature_view("customer_transactions")
    last_end = max(end for _, end in before.materialization_intervals)
    materialize(spark, decision_lake)
    after = feature_store(decision_lake).get_feature_view("customer_transactions")
    starts = [start for start, _ in after.materialization_intervals]
    assert len(after.materialization_intervals) == len(before.materialization_intervals) + 1
    assert max(starts) == last_end  # the new run starts where the last one ended


def test_redis_online_store_serves_the_same_features(spark, decision_lake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis_config = make_config(
        tmp_path,
        LAKECDP_LAKEHOUSE_ROOT=decision_lake.lakehouse.root,
        LAKECDP_ONLINE_STORE="redis",
        LAKECDP_REDIS_URL="localhost:6379",
        LAKECDP__FEATURES__ROOT=str(tmp_path / "feast"),
        LAKECDP__FEATURES__PROJECT=f"test_{uuid.uuid4().hex[:8]}",
    )
    materialize(spark, redis_config)
    store = feature_store(redis_config)
    assert store.config.online_store.type == "redis"
    ids = store.get_online_features(
        features=["identifier_lookup:customer_id"],
        entity_rows=[{"identifier": "phone:+6591234567"}],
    ).to_dict()
    assert ids["customer_id"] == ["cus_a"]
    rows = store.get_online_features(
        features=store.get_feature_service(DECISION_SERVICE), entity_rows=[{"customer_id": "cus_b"}]
    ).to_dict()
    assert (rows["open_cart"], rows["market"]) == ([1], ["MY"])


def test_micro_batch_pushes_fresh_activity_once(spark, decision_lake) -> None:  # type: ignore[no-untyped-def]
    from spark_jobs.features.activity_push import run_activity_push
    from tests.expectations.lake_tables import write_events

    now = datetime.now(UTC)

    def at(minutes: float) -> str:
        return (now - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    context = {"channel": "app", "market": "SG"}
    write_events(
        spark,
        decision_lake,
        [
            {
                "messageId": "m-view",
                "event": "product_viewed",
                "anonymousId": "anon-5",
                "traits": {"email": "H00005@Example.com"},
                "context": context,
                "timestamp": at(5),
            },
            {
                "messageId": "m-cart",
                "event": "product_added",
                "anonymousId": "anon-5",
                "traits": {"email": "h00005@example.com"},
                "context": context,
                "timestamp": at(1),
            },
            {"messageId": "m-stranger", "anonymousId": "anon-x", "timestamp": at(1)},
        ],
    )
    stats = run_activity_push(spark, decision_lake, available_now=True)
    assert stats.customers == 1
    row = (
        feature_store(decision_lake)
        .get_online_features(
            features=[
                "customer_activity:open_cart",
                "customer_activity:views_30m",
                "customer_activity:last_channel",
            ],
            entity_rows=[{"customer_id": "cus_00005"}],
        )
        .to_dict()
    )
    assert (row["open_cart"], row["views_30m"], row["last_channel"]) == ([1], [1], ["app"])
    again = run_activity_push(spark, decision_lake, available_now=True)
    assert again.customers == 0  # the checkpoint remembers what was pushed


def test_push_waits_for_the_first_identity_run_and_keeps_the_events(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On a new lakehouse the micro-batch DAG runs before identity has: the push says what it
    waits for and starts no stream, so its checkpoint keeps every event for the next run."""
    from spark_jobs.features.activity_push import run_activity_push
    from tests.expectations.lake_tables import write_events

    lake = make_config(tmp_path / "lakehouse")
    stats = run_activity_push(spark, lake, available_now=True)
    assert stats.waiting_for == "bronze.events"

    write_events(spark, lake, [{"messageId": "m-1", "anonymousId": "anon-1"}])
    stats = run_activity_push(spark, lake, available_now=True)
    assert (stats.waiting_for, stats.batches) == ("silver.id_map", 0)
    assert not Path(lake.checkpoint_path("activity_push")).exists()
