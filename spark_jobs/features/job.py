"""`lakecdp features build`: the gold tables Feast serves, read -> transform -> write.

- gold.customer_feature_snapshots: transaction features at weekly cutoffs back from the as-of
  time (point-in-time history for training; the newest snapshot is what is served online).
- gold.customer_activity: recent behaviour from fct_events at the as-of time; the micro-batch
  push keeps it fresh online between batch runs.
- gold.identifier_lookup: every normalized identifier ("email:a@x.com") and every issued
  customer id ("customer_id:cus_..") to the current customer id, so the decision endpoint
  resolves any identifier with one online read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse, Table
from spark_jobs.features.transactions import cutoff_frame, transaction_features

SNAPSHOTS = ("gold", "customer_feature_snapshots")
ACTIVITY = ("gold", "customer_activity")
IDENTIFIER_LOOKUP = ("gold", "identifier_lookup")
VIEW_EVENTS = ("product_viewed", "screen", "page")
CART_EVENTS = ("product_added", "checkout_started", "cart_abandoned")
# What a missing input table (kernel TableMissing) tells the operator to run first.
INPUTS_FIRST = "run identity and `lakecdp dbt build` first"


class FeatureInputMissing(RuntimeError):
    """The gold tables the features need hold no events or orders yet (a missing table raises
    the kernel's TableMissing)."""


@dataclass(frozen=True)
class FeatureBuild:
    as_of: datetime
    cutoffs: list[datetime]
    rows: dict[str, int]


def orders_for_features(spark: SparkSession, config: ProjectConfig) -> DataFrame:
    """gold.fct_orders in the shape the feature code takes (amounts in the reporting currency)."""
    orders = Table(spark, config, "gold", "fct_orders").read(missing_hint=INPUTS_FIRST)
    return orders.select(
        "customer_id", "ordered_at", F.col("amount_reporting").cast("double").alias("amount")
    )


def resolve_as_of(spark: SparkSession, config: ProjectConfig, as_of: str | None) -> datetime:
    """'now', 'latest' (the newest event or order: a replayed world ends in the past) or ISO."""
    text = as_of or config.profiles.as_of
    if text == "now":
        return datetime.now(UTC).replace(tzinfo=None)
    if text == "latest":
        lake = Lakehouse(spark, config)
        events = lake.table("gold", "fct_events").read(missing_hint=INPUTS_FIRST)
        orders = lake.table("gold", "fct_orders").read(missing_hint=INPUTS_FIRST)
        newest = [
            events.agg(F.max("occurred_at")).first()[0],
            orders.agg(F.max("ordered_at")).first()[0],
        ]
        known = [t for t in newest if t is not None]
        if not known:
            raise FeatureInputMissing("as_of 'latest': gold.fct_events and fct_orders are empty")
        return max(known)
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def snapshot_cutoffs(config: ProjectConfig, as_of: datetime) -> list[datetime]:
    every = timedelta(days=config.features.snapshot_every_days)
    return [as_of - k * every for k in range(config.features.snapshots)]


def customer_activity(events: DataFrame, orders: DataFrame, as_of: datetime) -> DataFrame:
    """Recent behaviour per customer at `as_of`: views in the last 30 minutes, an open cart (a
    cart event after the last order), the last channel and event time."""
    at = F.lit(as_of).cast("timestamp")
    seen = events.where(F.col("customer_id").isNotNull() & (F.col("occurred_at") <= at))
    last_orders = (
        orders.where(F.col("ordered_at") <= at)
        .groupBy("customer_id")
        .agg(F.max("ordered_at").alias("last_order_at"))
    )
    per_customer = seen.groupBy("customer_id").agg(
        F.count(
            F.when(
                F.col("event_name").isin(*VIEW_EVENTS)
                & (F.col("occurred_at") > at - F.expr("interval 30 minutes")),
                1,
            )
        ).alias("views_30m"),
        F.max(F.when(F.col("event_name").isin(*CART_EVENTS), F.col("occurred_at"))).alias(
            "last_cart_at"
        ),
        F.max_by("channel", "occurred_at").alias("last_channel"),
        F.max("occurred_at").alias("last_event_at"),
    )
    return per_customer.join(last_orders, "customer_id", "left").select(
        "customer_id",
        F.col("last_event_at").alias("event_timestamp"),
        F.col("views_30m").cast("long").alias("views_30m"),
        (
            F.col("last_cart_at").isNotNull()
            & (F.col("last_order_at").isNull() | (F.col("last_cart_at") > F.col("last_order_at")))
        )
        .cast("long")
        .alias("open_cart"),
        "last_channel",
        "last_event_at",
    )


def identifier_lookup(id_map: DataFrame, customer_ids: DataFrame) -> DataFrame:
    """identifier ("type:value") -> current customer_id, for identifiers and issued ids alike."""
    identifiers = id_map.select(
        F.concat_ws(":", "id_type", "value").alias("identifier"),
        "customer_id",
        F.col("updated_at").cast("timestamp").alias("updated_at"),
    )
    issued = customer_ids.select(
        F.concat(F.lit("customer_id:"), F.col("customer_id")).alias("identifier"),
        F.coalesce("current_customer_id", "customer_id").alias("customer_id"),
        F.current_timestamp().alias("updated_at"),
    )
    return identifiers.unionByName(issued).dropDuplicates(["identifier"])


def _rebuild(table: Table, df: DataFrame) -> int:
    """Overwrite `table` with `df` stamped with its build time; the rows written."""
    table.overwrite(df.withColumn("_built_at", F.current_timestamp()))
    return int(table.read().count())


def build_feature_tables(
    spark: SparkSession, config: ProjectConfig, as_of: str | None = None
) -> FeatureBuild:
    """Rebuild the three feature tables from gold and silver (small, whole-table overwrites:
    each is one row per customer or identifier per snapshot, so a rerun is idempotent)."""
    at = resolve_as_of(spark, config, as_of)
    cutoffs = snapshot_cutoffs(config, at)
    orders = orders_for_features(spark, config)
    snapshots = transaction_features(orders, cutoff_frame(spark, cutoffs))
    lake = Lakehouse(spark, config)
    events = lake.table("gold", "fct_events").read(missing_hint=INPUTS_FIRST)
    rows = {
        "customer_feature_snapshots": _rebuild(lake.table(*SNAPSHOTS), snapshots),
        "customer_activity": _rebuild(lake.table(*ACTIVITY), customer_activity(events, orders, at)),
        "identifier_lookup": _rebuild(
            lake.table(*IDENTIFIER_LOOKUP),
            identifier_lookup(
                lake.table("silver", "id_map").read(missing_hint=INPUTS_FIRST),
                lake.table("silver", "customer_ids").read(missing_hint=INPUTS_FIRST),
            ),
        ),
    }
    return FeatureBuild(as_of=at, cutoffs=cutoffs, rows=rows)
