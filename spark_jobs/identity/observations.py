"""Identifier observations: every (record, identifier) pair that bronze holds.

Each declared source column of an identifier type, and each configured event field, becomes one
row per record: `source, record_id, record_ts, market, id_type, raw_value`. Their normal forms
come from the identity rules' Spark side (`lakecdp.identity.spark_normalizers`).
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.spark_normalizers import event_observations, identifier_observations
from lakecdp.kernel.config import ProjectConfig, SourceConfig
from lakecdp.kernel.delta import Table

OBSERVATION_COLUMNS = ("source", "record_id", "record_ts", "market", "id_type", "raw_value")


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
    return [n for n in names if Table(spark, config, "bronze", n).exists()]


def read_bronze(
    spark: SparkSession, config: ProjectConfig, table: str, watermark: datetime | None
) -> DataFrame:
    return _since(Table(spark, config, "bronze", table).read(), watermark)


def source_observations(rows: DataFrame, name: str, source: SourceConfig) -> DataFrame:
    """One row per identifier column of each record of a declared source."""
    return identifier_observations(
        rows,
        source=F.lit(name),
        record_id=record_id_column(source),
        record_ts=F.col("_event_ts"),
        market=F.col("_market"),
        identifiers=[(id_type, F.col(column)) for column, id_type in source.identifiers.items()],
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


def node_id(id_type: Column, value: Column) -> Column:
    """A node's id: a 64-bit hash of (type, value), the same in every run and process."""
    return F.xxhash64(id_type, value)
