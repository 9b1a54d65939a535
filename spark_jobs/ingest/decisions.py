"""`lakecdp ingest decisions`: sealed decision-log segments into bronze.decisions, so outcomes
(orders after a decision) can be measured per experiment arm.

Idempotent: rows are merged on decision_id, so re-reading a segment adds nothing. A line that
is not a decision (torn, edited, no decision_id) goes to ops.quarantine with its reason.
"""

from __future__ import annotations

import uuid

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakecdp.config import ProjectConfig
from lakecdp.tables import is_delta_table, path_exists
from spark_jobs.quarantine import QUARANTINE_TABLE, only_new_refusals, to_quarantine

DECISIONS = ("bronze", "decisions")
DECISION_SCHEMA = StructType(
    [
        StructField("decision_id", StringType()),
        StructField("customer_id", StringType()),
        StructField("action", StringType()),
        StructField("action_kind", StringType()),
        StructField("channel", StringType()),
        StructField("score", DoubleType()),
        StructField("model_version", StringType()),
        StructField("experiment", StringType()),
        StructField("arm", StringType()),
        StructField("fallback", BooleanType()),
        StructField("reasons", ArrayType(StringType())),
        StructField("decided_at", TimestampType()),
        StructField("request_channel", StringType()),
        StructField("market", StringType()),
        StructField("identifier_type", StringType()),
        StructField("context", StringType()),
        StructField("_corrupt_record", StringType()),
    ]
)


def read_decision_log(spark: SparkSession, folder: str) -> DataFrame | None:
    """Sealed segments only (`_open/` is never read); None when there are none yet."""
    if not path_exists(spark, folder):
        return None
    files = f"{folder.rstrip('/')}/*.jsonl"
    try:
        return (
            spark.read.schema(DECISION_SCHEMA)
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", "_corrupt_record")
            .json(files)
            .withColumn("_source_file", F.input_file_name())
        )
    except Exception as exc:  # no file matches the glob yet
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            return None
        raise


def ingest_decisions(spark: SparkSession, config: ProjectConfig) -> dict[str, int]:
    raw = read_decision_log(spark, config.decision_log_dir)
    if raw is None:
        return {"decisions": 0, "quarantined": 0}
    raw = raw.cache()
    bad = raw.where(F.col("_corrupt_record").isNotNull() | F.col("decision_id").isNull())
    good = (
        raw.where(F.col("_corrupt_record").isNull() & F.col("decision_id").isNotNull())
        .drop("_corrupt_record")
        .withColumn("_ingested_at", F.current_timestamp())
        .dropDuplicates(["decision_id"])
    )
    path = config.table_path(*DECISIONS)
    before = spark.read.format("delta").load(path).count() if is_delta_table(spark, path) else 0
    if not is_delta_table(spark, path):
        good.limit(0).write.format("delta").save(path)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(good.alias("s"), "t.decision_id = s.decision_id")
        .whenNotMatchedInsertAll()
        .execute()
    )
    quarantine_path = config.table_path(*QUARANTINE_TABLE)
    refused = to_quarantine(
        bad,
        source=F.lit("decisions"),
        origin="decision_log",
        location=F.col("_source_file"),
        reason=F.when(F.col("_corrupt_record").isNotNull(), F.lit("malformed_json")).otherwise(
            F.lit("missing_decision_id")
        ),
        detail=F.lit(None),
        raw_payload=F.coalesce("_corrupt_record", F.to_json(F.struct("*"))),
        run_id=f"decisions-{uuid.uuid4().hex[:12]}",
    )
    new_refusals = only_new_refusals(spark, refused, quarantine_path)
    quarantined = new_refusals.count()
    if quarantined:
        new_refusals.write.format("delta").mode("append").save(quarantine_path)
    after = spark.read.format("delta").load(path).count()
    raw.unpersist()
    return {"decisions": after - before, "quarantined": quarantined}
