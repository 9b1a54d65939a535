"""dbt build on a hand-made lakehouse: unified profiles, orders, metrics, audiences, incremental
loads that re-key moved events, and a source column that disappears."""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable

from lakecdp.kernel.config import ProjectConfig
from lakecdp.signals.dbt_runner import DbtFailed, run_dbt
from spark_jobs.identity.job import run_identity
from tests.conftest import forget_tables, make_config
from tests.dbt.profiles_world import AS_OF_TEXT, ago, append_events, event, write_world

# The module builds a lakehouse, runs identity and a full dbt build once: one long setup.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:  # type: ignore[no-untyped-def]
    config = make_config(
        tmp_path_factory.mktemp("profiles") / "lakehouse",
        LAKECDP__IDENTITY__PROBABILISTIC__ENABLED="false",
    )
    forget_tables(spark)
    write_world(spark, config)
    run_identity(spark, config)
    run_dbt(config, ["build"], as_of=AS_OF_TEXT, spark=spark)
    return config


def _rows(spark, config: ProjectConfig, table: str) -> list:  # type: ignore[no-untyped-def]
    return spark.read.format("delta").load(config.table_path("gold", table)).collect()


def _customer_of(spark, config: ProjectConfig, id_type: str, value: str) -> str:  # type: ignore[no-untyped-def]
    rows = (
        spark.read.format("delta")
        .load(config.table_path("silver", "id_map"))
        .where(f"id_type = '{id_type}' and value = '{value}'")
        .collect()
    )
    assert len(rows) == 1, f"{id_type}:{value} mapped {len(rows)} times"
    return str(rows[0].customer_id)


def test_dim_customers_unifies_channels_with_survivorship_and_consent(spark, built) -> None:  # type: ignore[no-untyped-def]
    customers = {r.customer_id: r for r in _rows(spark, built, "dim_customers")}
    alice = customers[_customer_of(spark, built, "loyalty_id", "LY1")]
    assert alice.emails == ["alice@x.com"]
    assert alice.user_ids == ["u1"] and alice.loyalty_ids == ["LY1"]
    assert {"crm", "loyalty", "pos", "events"} <= set(alice.seen_in_sources)
    # source_priority: loyalty before CRM before events
    assert (alice.first_name, alice.first_name_source) == ("Alicia", "loyalty")
    assert alice.loyalty_tier == "gold" and alice.market == "SG"
    # the CRM said no SMS; a later consent event granted it; nothing said anything about push
    assert alice.consent_marketing_email == "granted"
    assert alice.consent_marketing_sms == "granted"
    assert alice.consent_marketing_push == "unknown"

    bob = customers[_customer_of(spark, built, "email", "bob@y.com")]
    # most_frequent: two versions in Kuala Lumpur outvote the newer Petaling Jaya, whose
    # whole-row copy in the same extract file is no second vote (it would tie, and win)
    assert (bob.city, bob.city_source) == ("Kuala Lumpur", "crm")
    assert bob.device_ids == ["d2"] and bob.consent_marketing_email == "denied"
    assert len(customers) == len({r.customer_id for r in _rows(spark, built, "dim_customers")})


def test_fct_orders_count_each_order_once_in_the_reporting_currency(spark, built) -> None:  # type: ignore[no-untyped-def]
    orders = {r.source_order_id: r for r in _rows(spark, built, "fct_orders")}
    assert sorted(orders) == ["M1", "T1", "T2", "T3", "W1"]  # T3 was sent twice
    assert orders["M1"].amount_reporting == pytest.approx(23.80)  # 100 MYR at 0.238
    assert orders["W1"].channel == "web" and orders["W1"].item_count == 3
    assert orders["T1"].customer_id == _customer_of(spark, built, "loyalty_id", "LY1")


def test_metrics_and_audiences(spark, built) -> None:  # type: ignore[no-untyped-def]
    alice = _customer_of(spark, built, "loyalty_id", "LY1")
    bob = _customer_of(spark, built, "email", "bob@y.com")
    carol = _customer_of(spark, built, "phone", "+6581112222")
    metrics = {r.customer_id: r for r in _rows(spark, built, "fct_customer_metrics")}
    assert metrics[alice].frequency == 2 and metrics[alice].recency_days == 3
    assert metrics[alice].orders_7d == 1 and metrics[alice].orders_30d == 2
    assert metrics[carol].value_to_date == pytest.approx(5020 * 0.77)
    assert metrics[carol].share_pos == 1.0

    def members(audience: str) -> set[str]:
        return {r.customer_id for r in _rows(spark, built, audience)}

    # Bob abandoned a cart too, but may not be contacted for marketing
    assert members("aud_cart_abandoners_24h") == {alice}
    assert members("aud_high_value_lapsing") == {carol}
    assert members("aud_new_app_users_no_purchase") == {bob}


def test_incremental_build_loads_new_events_and_rekeys_merged_customers(spark, built) -> None:  # type: ignore[no-untyped-def]
    bob_before = _customer_of(spark, built, "email", "bob@y.com")
    dave_before = _customer_of(spark, built, "email", "dave@z.com")
    assert bob_before != dave_before
    # Bob's app now says he is dave@z.com too: the two profiles merge
    append_events(
        spark,
        built,
        [
            event(
                "e7",
                ago(hours=1),
                kind="identify",
                user_id="u2",
                device_id="d2",
                channel="app",
                market="MY",
                traits={"email": "dave@z.com"},
            ),
        ],
    )
    run_identity(spark, built)
    run_dbt(built, ["build"], as_of=AS_OF_TEXT, spark=spark)

    survivor = _customer_of(spark, built, "email", "bob@y.com")
    assert survivor == _customer_of(spark, built, "email", "dave@z.com")
    retired = ({bob_before, dave_before} - {survivor}).pop()
    bridge = {
        r.customer_id: r.current_customer_id for r in _rows(spark, built, "bridge_customer_ids")
    }
    assert bridge[retired] == survivor
    events = {r.event_id: r.customer_id for r in _rows(spark, built, "fct_events")}
    assert events["e7"] == survivor and events["e6"] == survivor
    assert retired not in set(events.values())

    merge = (
        DeltaTable.forPath(spark, built.table_path("gold", "fct_events")).history(1).collect()[0]
    )
    metrics = merge.operationMetrics
    assert merge.operation == "MERGE"
    assert int(metrics["numTargetRowsInserted"]) == 1  # only e7 is new
    assert int(metrics["numTargetRowsUpdated"]) <= 2  # re-keyed: Bob's events if he was retired


def test_missing_source_column_fails_staging_and_writes_nothing_downstream(spark, built) -> None:  # type: ignore[no-untyped-def]
    path = built.table_path("bronze", "crm")
    version_before = DeltaTable.forPath(spark, built.table_path("gold", "dim_customers")).history(1)
    version_before = version_before.collect()[0].version
    crm = spark.read.format("delta").load(path).drop("mobile")
    crm.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
    spark.sql("refresh table bronze.crm")
    with pytest.raises(DbtFailed) as failure:
        run_dbt(built, ["build"], as_of=AS_OF_TEXT, spark=spark)
    message = str(failure.value)
    assert "stg_crm__contacts" in message and "mobile" in message
    version_after = DeltaTable.forPath(spark, built.table_path("gold", "dim_customers")).history(1)
    assert version_after.collect()[0].version == version_before
