"""ops.quarantine: every record the platform refused, with where it came from and why.

One schema for every origin (the collector, the event stream, file batches) so that an operator
finds all refused data with one query, and replays it once fixed.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType, TimestampType

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table

QUARANTINE_TABLE = ("ops", "quarantine")

QUARANTINE_SCHEMA = StructType(
    [
        StructField("source", StringType()),
        StructField("origin", StringType(), nullable=False),
        StructField("location", StringType()),
        StructField("reason", StringType(), nullable=False),
        StructField("detail", StringType()),
        StructField("raw_payload", StringType()),
        StructField("received_at", TimestampType()),
        StructField("quarantined_at", TimestampType(), nullable=False),
        StructField("run_id", StringType()),
        StructField("record_key", StringType(), nullable=False),
    ]
)


def to_quarantine(
    df: DataFrame,
    *,
    source: Column,
    origin: str,
    location: Column,
    reason: Column,
    detail: Column,
    raw_payload: Column,
    run_id: str,
    received_at: Column | None = None,
) -> DataFrame:
    """Shape refused rows into the quarantine schema.

    `record_key` hashes what makes a refusal the same refusal (source, reason, payload), so a
    client re-sending the same bad record is quarantined once.
    """
    shaped = df.select(
        source.cast("string").alias("source"),
        F.lit(origin).alias("origin"),
        location.cast("string").alias("location"),
        reason.cast("string").alias("reason"),
        detail.cast("string").alias("detail"),
        raw_payload.cast("string").alias("raw_payload"),
        (received_at if received_at is not None else F.lit(None))
        .cast("timestamp")
        .alias("received_at"),
        F.current_timestamp().alias("quarantined_at"),
        F.lit(run_id).alias("run_id"),
    )
    return shaped.withColumn(
        "record_key",
        F.sha2(
            F.concat_ws(
                "\u0000",
                F.coalesce("source", F.lit("")),
                "reason",
                F.coalesce("raw_payload", F.lit("")),
            ),
            256,
        ),
    )


def only_new_refusals(spark: SparkSession, config: ProjectConfig, refused: DataFrame) -> DataFrame:
    """Drop refusals whose record_key is quarantined already (and repeats within `refused`)."""
    refused = refused.dropDuplicates(["record_key"])
    quarantine = Table(spark, config, *QUARANTINE_TABLE)
    if not quarantine.exists():
        return refused
    known = quarantine.read().select("record_key")
    return refused.join(known, "record_key", "left_anti").select(*QUARANTINE_SCHEMA.fieldNames())
