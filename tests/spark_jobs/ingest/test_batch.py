"""Batch ingestion of declared file sources into real Delta tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from delta.tables import DeltaTable

from lakecdp.kernel.config import ProjectConfig
from spark_jobs.ingest.batch import run_batch_ingest

pytestmark = pytest.mark.spark

CRM_HEADER = (
    "contact_id,updated_at,country,email,mobile,first_name,last_name,date_of_birth,gender,"
    "city,postcode,email_opt_in,sms_opt_in"
)


def crm_row(
    contact: str,
    ts: str = "2026-10-01T09:00:00+08:00",
    email: str = "a@x.com",
    mobile: str = "9123 4567",
    country: str = "SG",
) -> str:
    traits = "Ann,Tan,1990-01-01,F,Singapore,123456,true,false"
    return f"{contact},{ts},{country},{email},{mobile},{traits}"


def write_crm(lake: ProjectConfig, name: str, rows: list[str], header: str = CRM_HEADER) -> Path:
    folder = Path(lake.source_path("crm"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def bronze(spark, lake: ProjectConfig, table: str):  # type: ignore[no-untyped-def]
    return spark.read.format("delta").load(lake.table_path("bronze", table))


def quarantine(spark, lake: ProjectConfig) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = spark.read.format("delta").load(lake.table_path("ops", "quarantine")).collect()
    return sorted((r.source, r.reason) for r in rows)


def test_good_rows_land_in_bronze_and_bad_rows_in_quarantine(spark, spark_lake) -> None:
    lake = spark_lake
    write_crm(
        lake,
        "crm_0001.csv",
        [
            crm_row("c1"),
            crm_row("c2", ts="2026-10-01 09:00:00"),  # no zone: market-local time
            crm_row("c3", ts="not-a-time"),
            crm_row("c4", email="", mobile=""),
            crm_row("c5", country="XX"),
            'c6,2026-10-01T09:00:00Z,SG,"broken quote,a@b.c',
            "c7,2026-10-01T09:00:00Z,SG,only,five",
        ],
    )
    [result] = run_batch_ingest(spark, lake, ["crm"])
    assert (result.files_new, result.rows_ingested, result.rows_quarantined) == (1, 2, 5)
    rows = {r.contact_id: r for r in bronze(spark, lake, "crm").collect()}
    assert set(rows) == {"c1", "c2"}
    assert rows["c1"].mobile == "9123 4567"  # bronze keeps source values as they came
    assert rows["c1"]._event_ts.isoformat() == "2026-10-01T01:00:00"
    assert rows["c2"]._event_ts.isoformat() == "2026-10-01T01:00:00"  # Asia/Singapore
    assert rows["c1"]._market == "SG" and rows["c1"]._source_file.endswith("crm_0001.csv")
    assert rows["c1"]._ingested_at is not None and rows["c1"]._run_id.startswith("batch-")
    assert quarantine(spark, lake) == [
        ("crm", "invalid_market"),
        ("crm", "invalid_timestamp"),
        ("crm", "malformed_row"),
        ("crm", "malformed_row"),
        ("crm", "no_identifier"),
    ]
    payloads = spark.read.format("delta").load(lake.table_path("ops", "quarantine")).collect()
    assert any(p.raw_payload.startswith("c7,") for p in payloads)
    assert any('"contact_id":"c3"' in p.raw_payload for p in payloads)


def test_rerun_is_a_no_op_and_only_new_files_are_read(spark, spark_lake) -> None:
    lake = spark_lake
    write_crm(lake, "crm_0001.csv", [crm_row("c1"), crm_row("c2")])
    run_batch_ingest(spark, lake, ["crm"])
    version = DeltaTable.forPath(spark, lake.table_path("bronze", "crm")).history(1).collect()[0]
    [again] = run_batch_ingest(spark, lake, ["crm"])
    assert (again.files_new, again.files_skipped) == (0, 1)
    after = DeltaTable.forPath(spark, lake.table_path("bronze", "crm")).history(1).collect()[0]
    assert after.version == version.version
    write_crm(lake, "crm_0002.csv", [crm_row("c3")])
    [third] = run_batch_ingest(spark, lake, ["crm"])
    assert (third.files_new, third.files_skipped, third.rows_ingested) == (1, 1, 1)
    assert bronze(spark, lake, "crm").count() == 3


def test_changed_file_is_reingested_without_duplicates(spark, spark_lake) -> None:
    lake = spark_lake
    path = write_crm(lake, "crm_0001.csv", [crm_row("c1"), crm_row("c2")])
    run_batch_ingest(spark, lake, ["crm"])
    write_crm(lake, "crm_0001.csv", [crm_row("c1"), crm_row("c2"), crm_row("c3")])
    os.utime(path, (1_900_000_000, 1_900_000_000))
    [result] = run_batch_ingest(spark, lake, ["crm"])
    assert result.files_new == 1
    ids = sorted(r.contact_id for r in bronze(spark, lake, "crm").collect())
    assert ids == ["c1", "c2", "c3"]


def test_file_missing_a_declared_column_is_quarantined_whole(spark, spark_lake) -> None:
    lake = spark_lake
    write_crm(lake, "good.csv", [crm_row("c1")])
    write_crm(
        lake, "bad.csv", ["c9,2026-10-01T09:00:00Z,SG"], header="contact_id,updated_at,country"
    )
    [result] = run_batch_ingest(spark, lake, ["crm"])
    assert (result.files_rejected, result.rows_ingested) == (1, 1)
    [row] = spark.read.format("delta").load(lake.table_path("ops", "quarantine")).collect()
    assert row.reason == "missing_columns"
    assert "email" in row.detail and row.location.endswith("bad.csv")
    files = spark.read.format("delta").load(lake.table_path("ops", "ingested_files")).collect()
    assert sorted((Path(f.file_path).name, f.status) for f in files) == [
        ("bad.csv", "rejected"),
        ("good.csv", "ingested"),
    ]


def test_jsonl_and_parquet_sources(spark, spark_lake) -> None:
    lake = spark_lake
    loyalty = Path(lake.source_path("loyalty"))
    loyalty.mkdir(parents=True)
    member = {
        "member_id": "L1",
        "updated_at": "2026-10-02T10:00:00Z",
        "market": "MY",
        "email": "b@x.com",
        "phone": "012-345 6789",
        "first_name": "Bo",
        "last_name": "Lim",
        "date_of_birth": "1985-05-05",
        "tier": "gold",
    }
    (loyalty / "members.jsonl").write_text(
        json.dumps(member)
        + "\n{not json\n"
        + json.dumps({**member, "member_id": "", "email": " ", "phone": None})
        + "\n"
    )
    market = Path(lake.source_path("marketplace"))
    market.mkdir(parents=True)
    table = pa.table(
        {
            "order_id": ["o1", "o2"],
            "order_ts": ["2026-10-03T12:00:00+07:00", "bad"],
            "market": ["TH", "TH"],
            "buyer_id": ["shp_1", "shp_2"],
            "buyer_name": ["C", "D"],
            "postcode": ["10110", "10110"],
            "platform": ["shopee", "shopee"],
            "masked_phone": ["+66****5678", None],
            "amount": [12.5, 3.0],
            "currency": ["THB", "THB"],
            "item_count": pa.array([1, 2], pa.int64()),
        }
    )
    pq.write_table(table, market / "orders.parquet")
    results = {r.source: r for r in run_batch_ingest(spark, lake, ["loyalty", "marketplace"])}
    assert (results["loyalty"].rows_ingested, results["loyalty"].rows_quarantined) == (1, 2)
    assert (results["marketplace"].rows_ingested, results["marketplace"].rows_quarantined) == (1, 1)
    [order] = bronze(spark, lake, "marketplace").collect()
    assert order.amount == "12.5" and order._event_ts.isoformat() == "2026-10-03T05:00:00"
    assert sorted(r for _, r in quarantine(spark, lake)) == [
        "invalid_timestamp",
        "malformed_row",
        "no_identifier",
    ]


def test_unknown_source_is_a_clear_error(spark, spark_lake) -> None:
    with pytest.raises(ValueError, match=r"unknown source.*nope"):
        run_batch_ingest(spark, spark_lake, ["nope"])
