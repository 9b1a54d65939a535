"""Audience syncs into a real PostgreSQL table: diff-based, exactly once, consent-gated,
mirror deletes only what the sync created, guards and alerts, and run history that reconciles.

The audience and the profile are small gold Delta tables written by the test; the destination
is the project's PostgreSQL (database lakecdp_activation, `make services`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pyspark.sql import functions as F

from lakecdp.activation.changes import idempotency_key
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse
from spark_jobs.activation.plan import CHANGELOG, REJECTIONS, RUNS, STATE, plan_sync
from spark_jobs.activation.run import SyncAlert, SyncRefused, _changes, run_sync
from tests.conftest import make_config

pytestmark = pytest.mark.spark

DSN = "postgresql://lakecdp:lakecdp@localhost:5432/lakecdp_activation"
PROFILE_SCHEMA = "customer_id string, market string, consent_marketing_email string"
AUDIENCE_SCHEMA = "customer_id string, email string, value_to_date double, tier string"


@pytest.fixture
def pg_table() -> Iterator[str]:
    table = f"t_{uuid.uuid4().hex[:10]}"
    yield table
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"drop table if exists public.{table}")


def _config(root: Path, table: str, mode: str = "mirror", **extra: Any) -> ProjectConfig:
    sync = {
        "source": "aud_test",
        "primary_key": "customer_id",
        "mode": mode,
        "destination": "crm_db",
        "mapping": {
            "email": {"column": "email", "transform": ["trim", "lower"]},
            "value": "value_to_date",
            "market": "profile.market",
            "list": {"constant": "win_back"},
        },
        "consent": {"purpose": "marketing", "channel": "email"},
        **extra,
    }
    destination = {"type": "postgres", "dsn": DSN, "table": table}
    return make_config(
        root,
        LAKECDP__DESTINATIONS__CRM_DB=json.dumps(destination),
        LAKECDP__SYNCS__WIN_BACK=json.dumps(sync),
    )


def _write(spark, config: ProjectConfig, audience: list[tuple], profile: list[tuple]) -> None:  # type: ignore[no-untyped-def,type-arg]
    lake = Lakehouse(spark, config)
    lake.table("gold", "aud_test").overwrite(spark.createDataFrame(audience, AUDIENCE_SCHEMA))
    lake.table("gold", "dim_customers").overwrite(spark.createDataFrame(profile, PROFILE_SCHEMA))


def _rows(table: str) -> dict[str, tuple]:  # type: ignore[type-arg]
    with psycopg.connect(DSN) as conn:
        return {
            r[0]: r[1:]
            for r in conn.execute(
                f"select customer_id, email, value, market, list, _lakecdp_sync from {table}"
            ).fetchall()
        }


def _synced_at(table: str) -> dict[str, object]:
    """When the sync last wrote each row (set on every insert and update)."""
    with psycopg.connect(DSN) as conn:
        rows = conn.execute(f"select customer_id, _lakecdp_synced_at from {table}").fetchall()
    return dict(rows)


AUDIENCE = [
    ("c1", " Ann@Example.COM ", 120.0, "gold"),
    ("c2", "bob@example.com", 80.0, "silver"),
    ("c3", "cy@example.com", 50.0, "gold"),
]
PROFILE = [("c1", "SG", "granted"), ("c2", "MY", "granted"), ("c3", "SG", "denied")]


def test_first_run_sends_consented_rows_mapped_and_a_rerun_sends_nothing(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table)
    _write(spark, config, AUDIENCE, PROFILE)

    first = run_sync(spark, config, "win_back")
    assert first.status == "succeeded"
    assert (first.counts["insert"], first.counts["accepted"], first.counts["unconsented"]) == (
        2,
        2,
        1,
    )
    assert _rows(pg_table) == {
        "c1": ("ann@example.com", 120.0, "SG", "win_back", "win_back"),
        "c2": ("bob@example.com", 80.0, "MY", "win_back", "win_back"),
    }
    written_at = _synced_at(pg_table)

    again = run_sync(spark, config, "win_back")
    assert again.counts["sent"] == 0 and again.counts.get("requests", 0) == 0
    assert _synced_at(pg_table) == written_at  # 0 calls, 0 writes

    # A change in an unmapped column (tier) is not a change.
    _write(spark, config, [(k, e, v, "platinum") for k, e, v, _ in AUDIENCE], PROFILE)
    assert plan_sync(spark, config, "win_back").total == 0


def test_k_changed_values_make_k_updates_and_a_new_null_field_resends_nothing(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table)
    _write(spark, config, AUDIENCE, PROFILE)
    run_sync(spark, config, "win_back")
    changed = [("c1", "ann@example.com", 999.0, "gold"), *AUDIENCE[1:]]
    _write(spark, config, changed, PROFILE)
    plan = plan_sync(spark, config, "win_back")
    assert (plan.counts["insert"], plan.counts["update"], plan.counts["delete"]) == (0, 1, 0)
    run_sync(spark, config, "win_back")
    assert _rows(pg_table)["c1"][1] == 999.0

    # A mapped field that is null for everyone leaves every payload as it was.
    extended = _config(
        tmp_path / "lake",
        pg_table,
        mapping={
            "email": {"column": "email", "transform": ["trim", "lower"]},
            "value": "value_to_date",
            "market": "profile.market",
            "list": {"constant": "win_back"},
            "nickname": "nickname",
        },
    )
    lake = Lakehouse(spark, config)
    audience = spark.createDataFrame(changed, AUDIENCE_SCHEMA).withColumn(
        "nickname", F.lit(None).cast("string")
    )
    lake.table("gold", "aud_test").overwrite(audience)
    assert plan_sync(spark, extended, "win_back").total == 0


def test_consent_withdrawal_and_leaving_the_audience_delete_only_rows_the_sync_created(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table)
    _write(spark, config, AUDIENCE, PROFILE)
    run_sync(spark, config, "win_back")
    with psycopg.connect(DSN, autocommit=True) as conn:  # another writer's row
        conn.execute(
            f"insert into {pg_table} (customer_id, email) values ('other', 'keep@example.com')"
        )
    withdrawn = [("c1", "SG", "withdrawn"), *PROFILE[1:]]
    _write(spark, config, AUDIENCE[1:], withdrawn)  # c1 leaves too; c2 stays
    result = run_sync(spark, config, "win_back", force=True)  # 50% deleted: above the guard
    assert result.counts["delete"] == 1
    assert set(_rows(pg_table)) == {"c2", "other"}

    # Consent withdrawn removes the person in upsert mode as well (no mirror).
    upsert = _config(tmp_path / "lake", pg_table, mode="upsert")
    _write(spark, upsert, AUDIENCE[1:], [("c2", "MY", "withdrawn")])
    run_sync(spark, upsert, "win_back", force=True)
    assert set(_rows(pg_table)) == {"other"}


def test_guards_refuse_an_empty_source_and_mass_deletes_unless_forced(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table)
    _write(spark, config, [], PROFILE)
    with pytest.raises(SyncRefused, match="source is empty"):
        run_sync(spark, config, "win_back")
    _write(spark, config, AUDIENCE, PROFILE)
    run_sync(spark, config, "win_back")
    _write(spark, config, AUDIENCE[2:], PROFILE)  # both sent rows leave: 100% deleted
    with pytest.raises(SyncRefused, match="shrank by 67%"):
        run_sync(spark, config, "win_back")
    assert set(_rows(pg_table)) == {"c1", "c2"}  # nothing sent
    runs = Lakehouse(spark, config).table(*RUNS).read().orderBy("finished_at").collect()
    assert [r.status for r in runs] == ["refused", "succeeded", "refused"]
    run_sync(spark, config, "win_back", force=True)
    assert _rows(pg_table) == {}


def test_rows_postgres_refuses_are_isolated_rejected_and_retried_next_run(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table, alerts={"max_rejected_share": 0.5})
    _write(spark, config, AUDIENCE, PROFILE)
    run_sync(spark, config, "win_back")
    with psycopg.connect(DSN, autocommit=True) as conn:  # the destination narrows a column
        conn.execute(
            f"alter table {pg_table} add constraint short_email check (length(email) < 16)"
        )
    audience = [
        ("c1", "ann@example.com", 1.0, "gold"),
        ("c2", "a-much-longer-address@example.com", 2.0, "gold"),
    ]
    _write(spark, config, audience, PROFILE)
    result = run_sync(spark, config, "win_back", force=True)
    assert (result.counts["accepted"], result.counts["rejected"]) == (1, 1)
    lake = Lakehouse(spark, config)
    rejection = lake.table(*REJECTIONS).read().where(F.col("run_id") == result.run_id).collect()
    assert [(r.key, "CheckViolation" in r.reason) for r in rejection] == [("c2", True)]
    assert "a-much-longer" not in rejection[0].reason  # reasons never carry values
    # The rejected row is planned again, unchanged, on the next run.
    assert plan_sync(spark, config, "win_back").counts["update"] == 1

    strict = _config(tmp_path / "lake", pg_table, alerts={"max_rejected_share": 0.2})
    with pytest.raises(SyncAlert, match=r"rejected 100\.0% of 1 rows"):
        run_sync(spark, strict, "win_back")


def test_run_counts_reconcile_with_the_changelog_and_state_holds_what_was_accepted(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table)
    _write(spark, config, AUDIENCE, PROFILE)
    run_sync(spark, config, "win_back")
    _write(spark, config, [("c1", "new@example.com", 1.0, "x"), AUDIENCE[1]], PROFILE)
    run_sync(spark, config, "win_back", force=True)
    lake = Lakehouse(spark, config)
    runs = lake.table(*RUNS).read().collect()
    changelog = lake.table(*CHANGELOG).read()
    for run in runs:
        logged = changelog.where(F.col("run_id") == run.run_id)
        by_status = {r.status: r["count"] for r in logged.groupBy("status").count().collect()}
        assert run.sent == logged.count()
        assert run.accepted == by_status.get("accepted", 0)
        assert run.sent == run.planned_inserts + run.planned_updates + run.planned_deletes
    state = {r.key: r for r in lake.table(*STATE).read().collect()}
    destination = _rows(pg_table)
    assert set(state) == set(destination)
    assert all(s.created and s.last_status == "accepted" for s in state.values())


def test_a_profile_list_maps_its_first_element_and_an_empty_list_maps_to_null(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    mapping = {"email": {"column": "profile.emails", "transform": ["first", "trim", "lower"]}}
    config = _config(tmp_path / "lake", pg_table, mapping=mapping, consent=None)
    lake = Lakehouse(spark, config)
    lake.table("gold", "aud_test").overwrite(spark.createDataFrame(AUDIENCE[:2], AUDIENCE_SCHEMA))
    profile = spark.createDataFrame(
        [("c1", "SG", [" Ann@Example.COM ", "b@example.com"]), ("c2", "MY", [])],
        "customer_id string, market string, emails array<string>",
    )
    lake.table("gold", "dim_customers").overwrite(profile)
    result = run_sync(spark, config, "win_back")
    assert result.counts["accepted"] == 2
    with psycopg.connect(DSN) as conn:
        rows = dict(conn.execute(f"select customer_id, email from {pg_table}").fetchall())
    assert rows == {"c1": "ann@example.com", "c2": None}


def test_idempotency_keys_computed_in_spark_are_the_documented_sha256(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table)
    _write(spark, config, AUDIENCE, PROFILE)
    run_sync(spark, config, "win_back")
    # c1 withdraws (a delete of a tracked key), c3 grants (an insert of an untracked one).
    _write(spark, config, AUDIENCE, [("c1", "SG", "denied"), PROFILE[1], ("c3", "SG", "granted")])
    chunks = list(_changes(plan_sync(spark, config, "win_back")))
    seen = {
        c.key: (c.op, tracked, c.idempotency_key, c.payload_hash)
        for chunk in chunks
        for c, tracked in zip(chunk.changes, chunk.tracked, strict=True)
    }
    assert {k: v[:2] for k, v in seen.items()} == {"c1": ("delete", True), "c3": ("upsert", False)}
    for key, (_, _, sent_key, payload_hash) in seen.items():
        assert sent_key == idempotency_key("win_back", key, payload_hash)
    assert len(seen["c3"][3]) == 64 and seen["c1"][3] == ""


def test_delivery_from_the_executors_loads_postgres_and_a_rerun_sends_nothing(
    spark, tmp_path: Path, pg_table: str
) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path / "lake", pg_table, deliver_in="executors")
    _write(spark, config, AUDIENCE, PROFILE)
    first = run_sync(spark, config, "win_back")
    assert (first.counts["insert"], first.counts["accepted"]) == (2, 2)
    assert _rows(pg_table) == {
        "c1": ("ann@example.com", 120.0, "SG", "win_back", "win_back"),
        "c2": ("bob@example.com", 80.0, "MY", "win_back", "win_back"),
    }
    _write(spark, config, AUDIENCE[1:], [*PROFILE[:2], ("c3", "SG", "granted")])
    second = run_sync(spark, config, "win_back", force=True)
    assert (second.counts["insert"], second.counts["delete"]) == (1, 1)
    assert set(_rows(pg_table)) == {"c2", "c3"}
    assert run_sync(spark, config, "win_back").counts["sent"] == 0
