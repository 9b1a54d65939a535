"""`lakecdp features push`: micro-batch signals to the online store within seconds of the event.

A Structured Streaming query on bronze.events (checkpointed, so each event is pushed once):
each micro-batch resolves its events to customers through silver.id_map with the identity
rules' own normalizers, recomputes those customers' activity over the 30 minutes before their
newest event (a bounded read of bronze.events), and pushes it to Feast's push source. Batch
materialization then only has to carry what the stream did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.rules import IdentityRules
from lakecdp.identity.spark_normalizers import (
    event_observations,
    normalize_observations,
    phone_regions,
)
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from spark_jobs.features.job import CART_EVENTS, VIEW_EVENTS

ORDER_EVENTS = ("order_completed",)
WINDOW = timedelta(minutes=30)


def resolve_events(events: DataFrame, id_map: DataFrame, config: ProjectConfig) -> DataFrame:
    """message_id -> customer_id, by the highest-priority identifier of the event that maps."""
    rules = IdentityRules.from_config(config)
    priority = F.create_map(
        *[x for name, r in rules.types.items() for x in (F.lit(name), F.lit(r.priority))]
    )
    observed = normalize_observations(
        event_observations(events, config), rules, phone_regions(config)
    ).where(F.col("value").isNotNull())
    return (
        observed.join(id_map.select("id_type", "value", "customer_id"), ["id_type", "value"])
        .groupBy(F.col("record_id").alias("message_id"))
        .agg(F.max_by("customer_id", priority[F.col("id_type")]).alias("customer_id"))
    )


def recent_activity(events: DataFrame) -> DataFrame:
    """Per customer, as of their newest event: views in the 30 minutes before it, an open cart
    (the last commerce event is a cart event), the last channel."""
    name = F.coalesce("event", "name")
    commerce = F.when(name.isin(*CART_EVENTS), 1).when(name.isin(*ORDER_EVENTS), 0)
    newest = events.groupBy("customer_id").agg(F.max("event_ts").alias("last_event_at"))
    return (
        events.join(newest, "customer_id")
        .groupBy("customer_id", "last_event_at")
        .agg(
            F.count(
                F.when(
                    name.isin(*VIEW_EVENTS)
                    & (F.col("event_ts") > F.col("last_event_at") - F.expr("interval 30 minutes")),
                    1,
                )
            ).alias("views_30m"),
            F.max_by(commerce, F.when(commerce.isNotNull(), F.col("event_ts"))).alias("open_cart"),
            F.max_by("channel", "event_ts").alias("last_channel"),
        )
        .select(
            "customer_id",
            F.col("last_event_at").alias("event_timestamp"),
            F.col("views_30m").cast("long"),
            F.coalesce("open_cart", F.lit(0)).cast("long").alias("open_cart"),
            "last_channel",
            "last_event_at",
        )
    )


@dataclass
class PushStats:
    batches: int = 0
    customers: int = 0
    waiting_for: str | None = None  # the table the push needs and does not find yet


def push_batch(
    spark: SparkSession, config: ProjectConfig, batch: DataFrame, store: Any, stats: PushStats
) -> None:
    from lakecdp.decisioning.feature_store import push_activity

    oldest = batch.agg(F.min("event_ts")).first()[0]
    if oldest is None:
        return
    id_map = Table(spark, config, "silver", "id_map").read()
    # The window holds the micro-batch's own events (they are in bronze.events already):
    # resolve it once and find the batch's customers in it.
    recent = (
        Table(spark, config, "bronze", "events")
        .read()
        .where(F.col("event_ts") >= F.lit(oldest - WINDOW))
    )
    in_window = recent.join(resolve_events(recent, id_map, config), "message_id").persist()
    batch_customers = (
        in_window.join(batch.select("message_id"), "message_id", "left_semi")
        .select("customer_id")
        .distinct()
    )
    resolved = in_window.join(batch_customers, "customer_id")
    rows = recent_activity(resolved).toPandas()  # one row per customer of this micro-batch
    in_window.unpersist()
    if not rows.empty:
        push_activity(store, rows)
    stats.batches += 1
    stats.customers += len(rows)


def run_activity_push(
    spark: SparkSession,
    config: ProjectConfig,
    *,
    available_now: bool = False,
    trigger_seconds: float | None = None,
) -> PushStats:
    from lakecdp.decisioning.feature_store import apply_definitions

    # On a new lakehouse the micro-batch runs before the first identity run: nothing can be
    # resolved to a customer yet, so the stream is not started and keeps every event for the
    # first push after identity has run.
    for layer, name in (("bronze", "events"), ("silver", "id_map")):
        if not Table(spark, config, layer, name).exists():
            return PushStats(waiting_for=f"{layer}.{name}")
    store = apply_definitions(config)
    stats = PushStats()
    writer = (
        spark.readStream.format("delta")
        # an erasure deletes rows of bronze.events: the push skips those commits (they add
        # nothing to push; the erasure clears the online store itself) instead of failing
        .option("skipChangeCommits", "true")
        .load(config.table_path("bronze", "events"))
        .writeStream.option("checkpointLocation", config.checkpoint_path("activity_push"))
        .foreachBatch(lambda df, _id: push_batch(spark, config, df, store, stats))
    )
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        seconds = trigger_seconds or config.streaming.trigger_seconds
        writer = writer.trigger(processingTime=f"{seconds} seconds")
    query = writer.start()
    query.awaitTermination()
    return stats
