"""Quality gates on real Delta tables: clean data passes, each injected defect fails the gate
with a message naming the expectation, the table and the column; data docs are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from expectations.gates import GateFailed, GateResult, run_gate
from lakecdp.kernel.config import ProjectConfig
from tests.conftest import make_config
from tests.expectations.lake_tables import (
    hours_ago,
    write_crm,
    write_dim_customers,
    write_events,
    write_id_map,
)

pytestmark = pytest.mark.spark

CRM_ROW = {
    "contact_id": "C1",
    "updated_at": "2026-10-01 10:00:00",
    "country": "SG",
    "email": "ann@example.com",
    "mobile": "91234567",
}
GOOD_ID_MAP = [
    ("email", "ann@example.com", "cus_a"),
    ("phone", "+6591234567", "cus_a"),
    ("email", "bob@example.com", "cus_b"),
]


def failed(result: GateResult) -> set[tuple[str, str]]:
    """(where, expectation) of every failure: where is table or table.column."""
    return {(o.where, o.expectation) for o in result.failures}


def gate_failure(spark, config: ProjectConfig, stage: str) -> GateFailed:  # type: ignore[no-untyped-def]
    with pytest.raises(GateFailed) as info:
        run_gate(spark, config, stage)
    return info.value


def test_bronze_gate_passes_clean_tables_and_writes_data_docs(spark, lake: ProjectConfig) -> None:  # type: ignore[no-untyped-def]
    write_crm(spark, lake, [CRM_ROW, {**CRM_ROW, "contact_id": "C2"}])
    write_events(spark, lake, [{"messageId": "m1", "userId": "u1"}])

    result = run_gate(spark, lake, "bronze")

    assert result.success, result.failure_message()
    assert set(result.by_table()) == {"bronze.crm", "bronze.events"}
    assert {s.split()[0] for s in result.skipped} == {
        "bronze.pos",
        "bronze.loyalty",
        "bronze.marketplace",
    }
    docs = Path(result.data_docs)
    assert docs == Path(lake.lakehouse.root) / "quality" / "data_docs" / "index.html"
    assert docs.is_file()
    validations = docs.parent / "validations"
    pages = {p.relative_to(validations).parts[:3] for p in validations.rglob("*.html")}
    assert pages == {("bronze", "bronze", "crm"), ("bronze", "bronze", "events")}
    assert "bronze.bronze.events" in docs.read_text()


def test_bronze_gate_fails_on_missing_column_null_id_and_future_timestamps(spark, lake) -> None:  # type: ignore[no-untyped-def]
    future = hours_ago(-72)  # beyond the 24 h tolerance
    write_crm(
        spark,
        lake,
        [CRM_ROW, {**CRM_ROW, "contact_id": None}, {**CRM_ROW, "_event_ts": future}],
        drop=["email"],
    )
    in_three_days = future.astimezone().isoformat()
    write_events(spark, lake, [{"messageId": "m1", "userId": "u1", "timestamp": in_three_days}])

    error = gate_failure(spark, lake, "bronze")

    assert failed(error.result) == {
        ("bronze.crm", "expect_table_columns_to_match_set"),
        ("bronze.crm.contact_id", "expect_column_values_to_not_be_null"),
        ("bronze.crm._event_ts", "expect_column_values_to_be_between"),
        ("bronze.events.event_ts", "expect_column_values_to_be_between"),
    }
    message = str(error)
    assert "quality gate 'bronze' failed: 4 of" in message
    assert "missing columns ['email']" in message
    assert (
        "bronze.crm._event_ts: expect_column_values_to_be_between (timestamp not in the future)"
        in (message)
    )
    assert f"data docs: {error.result.data_docs}" in message
    assert Path(error.result.data_docs).is_file()


def test_identity_gate_passes_a_clean_id_map(spark, lake) -> None:  # type: ignore[no-untyped-def]
    write_id_map(spark, lake, GOOD_ID_MAP)

    result = run_gate(spark, lake, "identity")

    assert result.success, result.failure_message()
    assert result.by_table()["silver.id_map"][0] >= 8


def test_identity_gate_names_each_broken_rule(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = make_config(tmp_path / "lake", LAKECDP__QUALITY__MAX_CLUSTER_SIZE="3")
    write_id_map(
        spark,
        config,
        [
            *GOOD_ID_MAP,
            ("email", "bob@example.com", "cus_c"),  # one identifier, two customers
            ("phone", "91234567", "cus_b"),  # not E.164
            ("email", "Test@Test.com", "cus_b"),  # blocklisted (email list, any case)
            ("user_id", "N/A", "cus_b"),  # blocklisted ('*' list)
            ("phone", "+6577777777", "cus_d"),  # blocklisted pattern: repeated digit
            ("user_id", "u-9", "9"),  # not an issued id
            ("user_id", "u-10", None),
        ],
    )

    error = gate_failure(spark, config, "identity")

    assert failed(error.result) == {
        ("silver.id_map.id_type,value", "expect_compound_columns_to_be_unique"),
        ("silver.id_map.value", "expect_column_values_to_match_regex"),
        ("silver.id_map.value", "expect_column_values_to_not_match_regex_list"),
        ("silver.id_map.customer_id", "expect_column_values_to_match_regex"),
        ("silver.id_map.customer_id", "expect_column_values_to_not_be_null"),
        ("silver.id_map", "unexpected_rows_expectation"),
    }
    by_rule = {o.rule: o for o in error.result.failures}
    assert "'91234567'" in by_rule["phone in E.164"].observed
    assert "+6591234567" not in by_rule["phone in E.164"].observed
    assert "'N/A'" in by_rule["no blocklisted value (*)"].observed
    assert "'Test@Test.com'" in by_rule["no blocklisted value (email)"].observed
    assert "'+6577777777'" in by_rule["no blocklisted value (phone)"].observed
    assert "'cus_b'" in by_rule["cluster size ceiling"].observed
    assert "'cus_a'" not in by_rule["cluster size ceiling"].observed
    message = str(error)
    for rule in (
        "one customer_id per identifier",
        "phone in E.164",
        "no blocklisted value (email)",
        "cluster size ceiling",
        "customer_id format",
    ):
        assert rule in message


def test_gate_fails_when_a_required_table_is_missing(spark, lake) -> None:  # type: ignore[no-untyped-def]
    error = gate_failure(spark, lake, "identity")

    assert failed(error.result) == {("silver.id_map", "delta_table_exists")}
    assert lake.table_path("silver", "id_map") in str(error)


def test_gold_gate_passes_and_the_report_keeps_earlier_gates(spark, lake) -> None:  # type: ignore[no-untyped-def]
    write_id_map(spark, lake, GOOD_ID_MAP)
    write_dim_customers(
        spark, lake, ["cus_a", "cus_b"], consent={("cus_a", "consent_marketing_email"): "granted"}
    )
    run_gate(spark, lake, "identity")

    result = run_gate(spark, lake, "gold")

    assert result.success, result.failure_message()
    assert set(result.by_table()) == {"gold.dim_customers", "silver.id_map"}
    validations = Path(result.data_docs).parent / "validations"
    pages = {p.relative_to(validations).parts[:3] for p in validations.rglob("*.html")}
    assert pages == {
        ("identity", "silver", "id_map"),
        ("gold", "gold", "dim_customers"),
        ("gold", "silver", "id_map"),
    }


def test_gold_gate_fails_on_bad_consent_orphans_duplicates_and_staleness(spark, lake) -> None:  # type: ignore[no-untyped-def]
    write_id_map(spark, lake, [*GOOD_ID_MAP, ("email", "cy@example.com", "cus_orphan")])
    write_dim_customers(
        spark,
        lake,
        ["cus_a", "cus_b", "cus_b"],
        consent={
            ("cus_a", "consent_marketing_sms"): "yes",
            ("cus_b", "consent_analytics_push"): None,
        },
        built_at=hours_ago(48),
    )

    error = gate_failure(spark, lake, "gold")

    assert failed(error.result) == {
        ("gold.dim_customers.customer_id", "expect_column_values_to_be_unique"),
        ("gold.dim_customers.consent_marketing_sms", "expect_column_values_to_be_in_set"),
        ("gold.dim_customers.consent_analytics_push", "expect_column_values_to_not_be_null"),
        ("gold.dim_customers._built_at", "expect_column_max_to_be_between"),
        ("silver.id_map", "unexpected_rows_expectation"),
    }
    orphans = next(o for o in error.result.failures if o.table == "silver.id_map")
    assert "cus_orphan" in orphans.observed and "cus_a" not in orphans.observed
    message = str(error)
    assert "consent_marketing_sms: expect_column_values_to_be_in_set (consent value)" in message
    assert "['yes']" in message
    assert "customer_id in gold.dim_customers" in message


def test_gold_gate_reports_a_missing_dimension_once(spark, lake) -> None:  # type: ignore[no-untyped-def]
    write_id_map(spark, lake, GOOD_ID_MAP)

    error = gate_failure(spark, lake, "gold")

    assert failed(error.result) == {("gold.dim_customers", "delta_table_exists")}
    assert error.result.skipped == ("silver.id_map checks (need gold.dim_customers)",)


def test_unknown_stage_is_refused(spark, lake) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="bronze, identity, gold"):
        run_gate(spark, lake, "silver")
