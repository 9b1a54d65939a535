"""Tiny stage tables written as Delta at their lakehouse locations, for the gate tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.kernel.config import ProjectConfig
from spark_jobs.ingest.event_rules import parse_event_lines, to_bronze_events

ID_MAP_SCHEMA = (
    "node long, id_type string, value string, customer_id string, component long, "
    "updated_at timestamp, run_id string"
)


def hours_ago(hours: float) -> datetime:
    """Naive local time, as Spark hands timestamps to Python."""
    return datetime.now() - timedelta(hours=hours)


def save(frame: DataFrame, config: ProjectConfig, layer: str, table: str) -> None:
    frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(
        config.table_path(layer, table)
    )


def write_crm(
    spark: SparkSession, config: ProjectConfig, rows: list[dict[str, Any]], drop: Iterable[str] = ()
) -> None:
    """bronze.crm as batch ingestion writes it: declared columns as text plus metadata."""
    declared = config.sources["crm"].declared_columns
    schema = ", ".join(
        [f"{c} string" for c in declared]
        + [
            "_event_ts timestamp, _market string, _source string, _source_file string",
            "_ingested_at timestamp, _run_id string",
        ]
    )
    defaults = {
        "_event_ts": hours_ago(2),
        "_market": "SG",
        "_source": "crm",
        "_source_file": "file:/landing/crm/a.csv",
        "_ingested_at": hours_ago(1),
        "_run_id": "run-1",
    }
    data = [tuple({**defaults, **row}.get(c) for c in [*declared, *defaults]) for row in rows]
    save(spark.createDataFrame(data, schema).drop(*drop), config, "bronze", "crm")


def write_events(
    spark: SparkSession, config: ProjectConfig, messages: list[dict[str, Any]]
) -> None:
    """bronze.events through the ingestion's own envelope transform (the real column contract)."""
    received = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    lines = [
        json.dumps(
            {"type": "track", "event": "viewed", "receivedAt": received, "_source": "web", **m}
        )
        for m in messages
    ]
    parsed = parse_event_lines(spark.createDataFrame([(line,) for line in lines], "value string"))
    events = to_bronze_events(parsed.where("reason is null")).select(
        "*", F.current_timestamp().alias("_ingested_at"), F.lit("s:0").alias("_batch_id")
    )
    save(events, config, "bronze", "events")


def write_id_map(
    spark: SparkSession, config: ProjectConfig, rows: list[tuple[str, str, str | None]]
) -> None:
    """silver.id_map from (id_type, value, customer_id) rows."""
    at = hours_ago(1)
    data = [(i, t, v, c, 0, at, "run-1") for i, (t, v, c) in enumerate(rows)]
    save(spark.createDataFrame(data, ID_MAP_SCHEMA), config, "silver", "id_map")


def write_dim_customers(
    spark: SparkSession,
    config: ProjectConfig,
    customers: list[str | None],
    *,
    consent: dict[tuple[str, str], str | None] | None = None,
    built_at: datetime | None = None,
) -> None:
    """gold.dim_customers: every consent 'unknown' except `consent` (customer, column) -> value."""
    columns = [f"consent_{p}_{c}" for p in config.consent.purposes for c in config.consent.channels]
    schema = ", ".join(
        ["customer_id string", *(f"{c} string" for c in columns), "_built_at timestamp"]
    )
    overrides = consent or {}
    at = built_at or hours_ago(1)
    data = [
        (cid, *(overrides.get((cid or "", c), "unknown") for c in columns), at) for cid in customers
    ]
    save(spark.createDataFrame(data, schema), config, "gold", "dim_customers")
