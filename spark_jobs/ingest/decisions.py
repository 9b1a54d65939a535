"""`lakecdp ingest decisions`: sealed decision-log segments into bronze.decisions, so outcomes
(orders after a decision) can be measured per experiment arm.

Incremental and idempotent: each sealed segment read is recorded in ops.ingested_files (as the
batch sources are), so a run reads only segments it has not seen, and rows are merged on
decision_id, so a segment read twice (a crash before it was recorded) adds nothing. A line that
is not a decision (torn, edited, no decision_id) goes to ops.quarantine with its reason.
"""

from __future__ import annotations

import uuid

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from lakecdp.kernel.tables import DECISIONS, list_files
from spark_jobs.ingest.batch import INGESTED_FILES_SCHEMA, known_files, record_files
from spark_jobs.ingest.quarantine import QUARANTINE_TABLE, only_new_refusals, to_quarantine

DECISION_SCHEMA = StructType(
    [
        StructField("decision_id", StringType()),
        StructField("customer_id", StringType()),
        StructField("action", StringType()),
        StructField("action_kind", StringType()),
        StructField("channel", StringType()),
        StructField("score", DoubleType()),
        StructField("model_version", StringType()),
        StructField("scores", MapType(StringType(), DoubleType())),
        StructField("model_versions", MapType(StringType(), StringType())),
        StructField("experiment", StringType()),
        StructField("arm", StringType()),
        StructField("fallback", BooleanType()),
        StructField("reasons", ArrayType(StringType())),
        StructField("decided_at", TimestampType()),
        StructField("request_channel", StringType()),
        StructField("market", StringType()),
        StructField("identifier_type", StringType()),
        StructField("context", StringType()),
        StructField("caller", StringType()),
        StructField("_corrupt_record", StringType()),
    ]
)


SOURCE = "decisions"


def new_segments(spark: SparkSession, config: ProjectConfig) -> list[tuple[str, int, int]]:
    """(path, size, mtime) of sealed segments not ingested yet (`_open/` is never listed)."""
    known = known_files(spark, config)
    return [
        (path, size, mtime)
        for path, size, mtime in list_files(spark, config.decision_log_dir, (".jsonl",))
        if known.get((SOURCE, path)) != (size, mtime)
    ]


def _read_segments(spark: SparkSession, paths: list[str]) -> DataFrame:
    return (
        spark.read.schema(DECISION_SCHEMA)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt_record")
        .json(paths)
        .withColumn("_source_file", F.col("_metadata.file_path"))
    )


def ingest_decisions(spark: SparkSession, config: ProjectConfig) -> dict[str, int]:
    segments = new_segments(spark, config)
    if not segments:
        return {"decisions": 0, "quarantined": 0}
    run_id = f"decisions-{uuid.uuid4().hex[:12]}"
    raw = _read_segments(spark, [p for p, _, _ in segments]).cache()
    is_bad = F.col("_corrupt_record").isNotNull() | F.col("decision_id").isNull()
    bad = raw.where(is_bad)
    good = (
        raw.where(~is_bad)
        .drop("_corrupt_record")
        .withColumn("_ingested_at", F.current_timestamp())
        .dropDuplicates(["decision_id"])
    )
    bronze = Table(spark, config, *DECISIONS)
    if not bronze.exists():  # created empty, so that the merge's own metrics count every insert
        bronze.append(good.limit(0))
    else:  # a table from before the per-model scores
        bronze.add_missing_columns(good.schema)
    bronze.merge(good, ["decision_id"])  # insert-only: a logged decision never changes
    inserted = int(bronze.last_commit_metrics().get("numTargetRowsInserted", 0))
    refused = to_quarantine(
        bad,
        source=F.lit(SOURCE),
        origin="decision_log",
        location=F.col("_source_file"),
        reason=F.when(F.col("_corrupt_record").isNotNull(), F.lit("malformed_json")).otherwise(
            F.lit("missing_decision_id")
        ),
        detail=F.lit(None),
        raw_payload=F.coalesce("_corrupt_record", F.to_json(F.struct("*"))),
        run_id=run_id,
    )
    new_refusals = only_new_refusals(spark, config, refused)
    quarantined = new_refusals.count()
    if quarantined:
        Table(spark, config, *QUARANTINE_TABLE).append(new_refusals)
    per_file = {
        r._source_file: (int(r.ok), int(r.refused))
        for r in raw.groupBy("_source_file")
        .agg(
            F.sum(F.when(is_bad, 0).otherwise(1)).alias("ok"),
            F.sum(F.when(is_bad, 1).otherwise(0)).alias("refused"),
        )
        .collect()
    }
    raw.unpersist()
    record_files(
        spark,
        config,
        spark.createDataFrame(
            [
                (SOURCE, p, size, mtime, "ingested", *per_file.get(p, (0, 0)), None, run_id)
                for p, size, mtime in segments
            ],
            INGESTED_FILES_SCHEMA,
        ),
    )
    return {"decisions": inserted, "quarantined": quarantined}
