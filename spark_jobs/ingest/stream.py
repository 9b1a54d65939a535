"""Micro-batch ingestion: collector landing segments -> bronze.events, refusals -> ops.quarantine.

Exactly once, end to end: the file source's checkpoint records which segments each batch read;
bronze.events gets only message ids it does not hold yet (a re-sent event is stored once), and
every append carries txnAppId/txnVersion, so Delta skips a replayed batch id. A stream id kept in
the checkpoint folder makes those txnAppIds unique to this checkpoint, so a reset checkpoint
never skips new data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import StringType, StructField, StructType

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from lakecdp.kernel.tables import path_exists
from spark_jobs.ingest.event_rules import parse_event_lines, to_bronze_events
from spark_jobs.ingest.quarantine import QUARANTINE_TABLE, only_new_refusals, to_quarantine

EVENTS_TABLE = ("bronze", "events")
BATCHES_TABLE = ("ops", "stream_batches")
EVENTS_QUERY = "bronze_events"
# No identifier among them: per-file min/max values live in the Delta log, which an erasure
# cannot rewrite (docs/governance.md).
EVENTS_STATS_COLUMNS = (
    "message_id",
    "type",
    "event",
    "market",
    "event_ts",
    "received_at",
    "event_date",
    "_batch_id",
)
REJECTED_QUERY = "collector_rejections"

REJECTED_SCHEMA = StructType(
    [
        StructField(name, StringType())
        for name in ("reason", "detail", "source", "endpoint", "receivedAt", "raw")
    ]
)


def _stream_id(config: ProjectConfig, query: str) -> str:
    """A per-checkpoint id; recreated with the checkpoint, so txnAppIds never collide."""
    folder = Path(config.checkpoint_path(query))
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "_lakecdp_stream_id"
    if not marker.exists():
        marker.write_text(f"{query}-{uuid.uuid4()}")
    return marker.read_text().strip()


def _append_once(df: DataFrame, path: str, app_id: str, version: int) -> None:
    """An append Delta skips when (app_id, version) has committed already: the exactly-once write
    of a micro-batch, so not `Table.append` (no transaction ids; it registers on every call)."""
    (
        df.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", version)
        .save(path)
    )


def dedupe_by_message_id(events: DataFrame) -> DataFrame:
    """One row per message id within a batch (copies of a re-sent event are the same event)."""
    return events.dropDuplicates(["message_id"])


def append_new_events(
    spark: SparkSession, config: ProjectConfig, events: DataFrame, app_id: str, batch_id: int
) -> None:
    """Append the events whose message id bronze does not hold yet, once per batch id.

    Equivalent to an insert-only MERGE on message_id for this table's single writer (the
    checkpointed stream): an anti-join on the message_id column, then an append that Delta
    skips if this batch id was already committed (a replay after a crash).
    """
    bronze = Table(spark, config, *EVENTS_TABLE)
    if bronze.exists():
        known = bronze.read().select("message_id")
        events = events.join(known, "message_id", "left_anti")
    else:
        # Created with file statistics on the columns queries filter on, not on the long JSON
        # texts (traits, properties, context) that Delta would otherwise profile on every write.
        events.limit(0).write.format("delta").option(
            "delta.dataSkippingStatsColumns", ",".join(EVENTS_STATS_COLUMNS)
        ).save(bronze.path)
    _append_once(events, bronze.path, app_id, batch_id)
    bronze.register()


def process_event_batch(
    spark: SparkSession, config: ProjectConfig, lines: DataFrame, batch_id: int, stream_id: str
) -> None:
    """One micro-batch of raw landing lines (`value`, `_landing_file`) into bronze and ops."""
    run_id = f"{stream_id}:{batch_id}"
    parsed = parse_event_lines(lines).persist()
    try:
        # One pass over the raw lines fills the cache and counts; every write below reads it.
        counts = parsed.agg(
            F.count("*").alias("lines"),
            F.count_if(F.col("reason").isNull()).alias("accepted"),
            F.count_if(F.col("reason").isNotNull()).alias("quarantined"),
        ).collect()[0]
        events = dedupe_by_message_id(
            to_bronze_events(parsed.where("reason is null"), keep=("_landing_file",))
        ).select("*", F.current_timestamp().alias("_ingested_at"), F.lit(run_id).alias("_batch_id"))
        append_new_events(spark, config, events, f"{stream_id}:e", batch_id)
        refused = to_quarantine(
            parsed.where("reason is not null"),
            source=F.col("m._source"),
            origin="stream",
            location=F.col("_landing_file"),
            reason=F.col("reason"),
            detail=F.lit("refused by the event contract at ingestion"),
            raw_payload=F.col("value"),
            run_id=run_id,
            received_at=F.try_to_timestamp(F.col("m.receivedAt")),
        )
        if counts.quarantined:
            _append_once(refused, config.table_path(*QUARANTINE_TABLE), f"{stream_id}:q", batch_id)
        stats = spark.createDataFrame(
            [
                (
                    EVENTS_QUERY,
                    stream_id,
                    batch_id,
                    run_id,
                    counts.lines,
                    counts.accepted,
                    counts.quarantined,
                )
            ],
            "query string, stream_id string, batch_id long, run_id string, lines long, "
            "accepted long, quarantined long",
        ).withColumn("committed_at", F.current_timestamp())
        _append_once(stats, config.table_path(*BATCHES_TABLE), f"{stream_id}:b", batch_id)
    finally:
        parsed.unpersist()


def process_rejected_batch(
    spark: SparkSession, config: ProjectConfig, lines: DataFrame, batch_id: int, stream_id: str
) -> None:
    """Records the collector refused (already with their reason) into ops.quarantine, once:
    a client that re-sends the same bad record does not add a second row."""
    parsed = lines.where(F.trim("value") != "").withColumn(
        "r", F.from_json("value", REJECTED_SCHEMA)
    )
    refused = to_quarantine(
        parsed,
        source=F.col("r.source"),
        origin="collector",
        location=F.concat(F.lit("collector:/v1/"), F.coalesce(F.col("r.endpoint"), F.lit("?"))),
        reason=F.coalesce(F.col("r.reason"), F.lit("malformed_json")),
        detail=F.col("r.detail"),
        raw_payload=F.coalesce(F.col("r.raw"), F.col("value")),
        run_id=f"{stream_id}:{batch_id}",
        received_at=F.try_to_timestamp(F.col("r.receivedAt")),
    )
    path = config.table_path(*QUARANTINE_TABLE)
    _append_once(only_new_refusals(spark, config, refused), path, f"{stream_id}:q", batch_id)


def _landing_lines(spark: SparkSession, folder: str, max_files: int) -> DataFrame:
    return (
        spark.readStream.format("text")
        .option("maxFilesPerTrigger", max_files)
        .load(folder)
        .select("value", F.col("_metadata.file_path").alias("_landing_file"))
    )


@dataclass(frozen=True)
class StreamOptions:
    available_now: bool = False
    trigger_seconds: float | None = None
    timeout_seconds: float | None = None


def start_streams(
    spark: SparkSession, config: ProjectConfig, options: StreamOptions
) -> list[StreamingQuery]:
    """Start both micro-batch queries; each keeps its own checkpoint."""
    for folder in (config.events_landing, config.rejected_landing):
        if not path_exists(spark, folder):
            Path(folder).mkdir(parents=True, exist_ok=True)
    seconds = options.trigger_seconds or config.streaming.trigger_seconds
    trigger = (
        {"availableNow": True}
        if options.available_now
        else {"processingTime": f"{seconds} seconds"}
    )
    events_id = _stream_id(config, EVENTS_QUERY)
    rejected_id = _stream_id(config, REJECTED_QUERY)
    max_files = config.streaming.max_files_per_trigger
    events_query = (
        _landing_lines(spark, config.events_landing, max_files)
        .writeStream.queryName(EVENTS_QUERY)
        .option("checkpointLocation", config.checkpoint_path(EVENTS_QUERY))
        .foreachBatch(lambda df, bid: process_event_batch(spark, config, df, bid, events_id))
        .trigger(**trigger)
        .start()
    )
    rejected_query = (
        _landing_lines(spark, config.rejected_landing, max_files)
        .writeStream.queryName(REJECTED_QUERY)
        .option("checkpointLocation", config.checkpoint_path(REJECTED_QUERY))
        .foreachBatch(lambda df, bid: process_rejected_batch(spark, config, df, bid, rejected_id))
        .trigger(**trigger)
        .start()
    )
    return [events_query, rejected_query]


def run_streams(spark: SparkSession, config: ProjectConfig, options: StreamOptions) -> None:
    """Run until the data available now is in (available-now), the timeout, or a failure."""
    queries = start_streams(spark, config, options)
    try:
        if options.available_now:
            for query in queries:
                query.awaitTermination()
        else:
            spark.streams.awaitAnyTermination(
                int(options.timeout_seconds) if options.timeout_seconds else None
            )
    finally:
        for query in queries:
            if query.isActive:
                query.stop()
    for query in queries:
        if query.exception() is not None:
            raise RuntimeError(f"stream {query.name} failed: {query.exception()}")
    for table in (Table(spark, config, *QUARANTINE_TABLE), Table(spark, config, *BATCHES_TABLE)):
        if table.exists():
            table.register()
