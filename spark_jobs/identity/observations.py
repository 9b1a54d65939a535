"""Identifier observations: every (record, identifier) pair that bronze holds, normalized.

Each declared source column of an identifier type, and each configured event field, becomes one
row per record: `source, record_id, record_ts, market, id_type, raw_value`. Normalization runs
the same Python normalizers as the standalone resolver (a vectorized pandas UDF: phone parsing
has no built-in column function), so both give the same normal forms and the same reasons.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakecdp.config import EVENT_COLUMNS, ProjectConfig, SourceConfig
from lakecdp.identity.rules import IdentityRules
from lakecdp.tables import is_delta_table

OBSERVATION_COLUMNS = ("source", "record_id", "record_ts", "market", "id_type", "raw_value")
NORMALIZED = StructType([StructField("value", StringType()), StructField("reason", StringType())])


def event_field(field: str) -> Column:
    """A bronze.events column, or a path into one of its JSON columns (`traits.email`)."""
    if field in EVENT_COLUMNS:
        return F.col(field)
    root, _, path = field.partition(".")
    return F.get_json_object(F.col(root), f"$.{path}")


def record_id_column(source: SourceConfig) -> Column:
    """The record's id; a source without one is keyed by a hash of its declared columns."""
    if source.record_id:
        return F.col(source.record_id).cast("string")
    return F.sha2(F.to_json(F.struct(*source.declared_columns)), 256)


def _since(df: DataFrame, watermark: datetime | None) -> DataFrame:
    return df if watermark is None else df.where(F.col("_ingested_at") > F.lit(watermark))


def bronze_tables(spark: SparkSession, config: ProjectConfig) -> list[str]:
    """The bronze tables identity reads that exist so far (sources, then `events`)."""
    names = [*config.sources, "events"]
    return [n for n in names if is_delta_table(spark, config.table_path("bronze", n))]


def read_bronze(
    spark: SparkSession, config: ProjectConfig, table: str, watermark: datetime | None
) -> DataFrame:
    return _since(spark.read.format("delta").load(config.table_path("bronze", table)), watermark)


def source_observations(rows: DataFrame, name: str, source: SourceConfig) -> DataFrame:
    """One row per identifier column of each record of a declared source."""
    base = [
        F.lit(name).alias("source"),
        record_id_column(source).alias("record_id"),
        F.col("_event_ts").alias("record_ts"),
        F.col("_market").alias("market"),
    ]
    stacked = F.explode(
        F.array(
            *[
                F.struct(F.lit(id_type).alias("id_type"), F.col(column).cast("string").alias("raw"))
                for column, id_type in source.identifiers.items()
            ]
        )
    ).alias("i")
    return (
        rows.select(*base, stacked)
        .select(
            "source",
            "record_id",
            "record_ts",
            "market",
            "i.id_type",
            F.col("i.raw").alias("raw_value"),
        )
        .where(F.col("raw_value").isNotNull() & (F.trim("raw_value") != ""))
    )


def event_observations(events: DataFrame, config: ProjectConfig) -> DataFrame:
    """One row per configured identifier field of each event (user id, device, traits.email)."""
    stacked = F.explode(
        F.array(
            *[
                F.struct(F.lit(id_type).alias("id_type"), event_field(field).alias("raw"))
                for field, id_type in config.identity.events.identifiers.items()
            ]
        )
    ).alias("i")
    return (
        events.select(
            F.lit("events").alias("source"),
            F.col("message_id").alias("record_id"),
            F.col("event_ts").alias("record_ts"),
            F.col("market"),
            stacked,
        )
        .select(
            "source",
            "record_id",
            "record_ts",
            "market",
            "i.id_type",
            F.col("i.raw").alias("raw_value"),
        )
        .where(F.col("raw_value").isNotNull() & (F.trim("raw_value") != ""))
    )


def raw_observations(
    spark: SparkSession, config: ProjectConfig, watermarks: dict[str, datetime] | None = None
) -> tuple[DataFrame | None, dict[str, DataFrame]]:
    """Observations from every bronze table (rows ingested after its watermark), and the rows
    read per table (to move the watermarks on)."""
    frames: list[DataFrame] = []
    read: dict[str, DataFrame] = {}
    for table in bronze_tables(spark, config):
        rows = read_bronze(spark, config, table, (watermarks or {}).get(table))
        read[table] = rows
        if table == "events":
            frames.append(event_observations(rows, config))
        else:
            frames.append(source_observations(rows, table, config.sources[table]))
    if not frames:
        return None, read
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out, read


MEMO_LIMIT = 500_000  # normal forms a task keeps (a few hundred bytes each)


def normalize_observations(
    observations: DataFrame, rules: IdentityRules, regions: dict[str, str]
) -> DataFrame:
    """Add `value` (normal form) and `reason` (why there is none), via the shared normalizers.

    The same identifier recurs in most of a customer's records (every event carries the
    anonymous and user id), so each task normalizes a (type, value, market) once: the memo
    lives as long as the task's copy of the function, and is bounded."""
    memo: dict[tuple[object, object, object], tuple[str | None, str | None]] = {}

    @F.pandas_udf(NORMALIZED)  # type: ignore[call-overload]
    def _normalize(id_type: pd.Series, raw: pd.Series, market: pd.Series) -> pd.DataFrame:
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        values: list[str | None] = []
        reasons: list[str | None] = []
        for key in zip(id_type, raw, market, strict=True):
            known = memo.get(key)
            if known is None:
                t, r, m = key
                result = rules.normalize(t, r, regions.get(m) if isinstance(m, str) else None)
                known = memo[key] = (result.value, result.reason)
            values.append(known[0])
            reasons.append(known[1])
        return pd.DataFrame({"value": values, "reason": reasons})

    normalized = _normalize(F.col("id_type"), F.col("raw_value"), F.col("market"))
    return observations.withColumn("_n", normalized).select(
        *observations.columns,
        F.col("_n.value").alias("value"),
        F.col("_n.reason").alias("reason"),
    )


def node_id(id_type: Column, value: Column) -> Column:
    """A node's id: a 64-bit hash of (type, value), the same in every run and process."""
    return F.xxhash64(id_type, value)


def phone_regions(config: ProjectConfig) -> dict[str, str]:
    return {code: market.phone_region for code, market in config.markets.items()}
