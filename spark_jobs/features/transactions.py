"""Transaction features and purchase labels at cutoffs: the one definition of what the
propensity model sees, used by production snapshots, training and `lakecdp model backtest`.

Only orders strictly before a cutoff count towards its features, and only orders in
[cutoff, cutoff + horizon) towards its label, so any cutoff is point-in-time correct. Inputs are
plain columns (customer_id, ordered_at, amount), so any transaction log can be scored the way
production is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType, TimestampType

# What the model is trained on, in this order (the MLflow signature follows it).
FEATURE_COLUMNS = (
    "recency_days",
    "frequency",
    "purchase_days",
    "monetary",
    "average_order_value",
    "tenure_days",
    "interpurchase_days",
    "orders_30d",
    "orders_90d",
    "value_30d",
    "value_90d",
)
SECONDS_PER_DAY = 86_400.0


def cutoff_frame(spark: SparkSession, cutoffs: Sequence[datetime]) -> DataFrame:
    schema = StructType([StructField("feature_ts", TimestampType(), False)])
    return spark.createDataFrame([(c,) for c in sorted(set(cutoffs))], schema)


def _days(later: str | F.Column, earlier: str | F.Column) -> F.Column:
    later_col = F.col(later) if isinstance(later, str) else later
    earlier_col = F.col(earlier) if isinstance(earlier, str) else earlier
    return (later_col.cast("double") - earlier_col.cast("double")) / SECONDS_PER_DAY


def transaction_features(orders: DataFrame, cutoffs: DataFrame) -> DataFrame:
    """One row per (customer, cutoff) for customers with an order before the cutoff.

    orders: customer_id, ordered_at (timestamp), amount (double, null counts as 0);
    cutoffs: feature_ts. Output: customer_id, feature_ts, last_order_at, FEATURE_COLUMNS.
    """
    before = (
        orders.select("customer_id", "ordered_at", F.coalesce("amount", F.lit(0.0)).alias("amount"))
        .where(F.col("customer_id").isNotNull() & F.col("ordered_at").isNotNull())
        .join(F.broadcast(cutoffs), F.col("ordered_at") < F.col("feature_ts"))
    )
    age = _days("feature_ts", "ordered_at")
    window_aggs = []
    for days in (30, 90):
        window_aggs += [
            F.count(F.when(age <= days, 1)).alias(f"orders_{days}d"),
            F.coalesce(F.sum(F.when(age <= days, F.col("amount"))), F.lit(0.0)).alias(
                f"value_{days}d"
            ),
        ]
    grouped = before.groupBy("customer_id", "feature_ts").agg(
        F.count("*").alias("frequency"),
        F.countDistinct(F.to_date("ordered_at")).alias("purchase_days"),
        F.sum("amount").alias("monetary"),
        F.min("ordered_at").alias("first_order_at"),
        F.max("ordered_at").alias("last_order_at"),
        *window_aggs,
    )
    span = _days("last_order_at", "first_order_at")
    return grouped.select(
        "customer_id",
        "feature_ts",
        "last_order_at",
        _days("feature_ts", "last_order_at").alias("recency_days"),
        F.col("frequency").cast("double").alias("frequency"),
        F.col("purchase_days").cast("double").alias("purchase_days"),
        F.col("monetary").cast("double").alias("monetary"),
        (F.col("monetary") / F.col("frequency")).cast("double").alias("average_order_value"),
        _days("feature_ts", "first_order_at").alias("tenure_days"),
        F.when(F.col("purchase_days") > 1, span / (F.col("purchase_days") - 1))
        .otherwise(_days("feature_ts", "first_order_at"))
        .alias("interpurchase_days"),
        *(F.col(f"orders_{d}d").cast("double").alias(f"orders_{d}d") for d in (30, 90)),
        *(F.col(f"value_{d}d").cast("double").alias(f"value_{d}d") for d in (30, 90)),
    )


def purchase_labels(orders: DataFrame, cutoffs: DataFrame, horizon_days: int) -> DataFrame:
    """customer_id, feature_ts, label (1 if an order falls in [cutoff, cutoff + horizon)).

    Only customers with an order in the window appear; join left and fill 0.
    """
    horizon = F.col("feature_ts") + F.expr(f"make_interval(0, 0, 0, {int(horizon_days)})")
    return (
        orders.where(F.col("customer_id").isNotNull())
        .join(
            F.broadcast(cutoffs),
            (F.col("ordered_at") >= F.col("feature_ts")) & (F.col("ordered_at") < horizon),
        )
        .groupBy("customer_id", "feature_ts")
        .agg(F.lit(1).alias("label"))
    )


def labelled_features(orders: DataFrame, cutoffs: DataFrame, horizon_days: int) -> DataFrame:
    """Features at each cutoff with their label: the training and backtest set."""
    labels = purchase_labels(orders, cutoffs, horizon_days)
    return (
        transaction_features(orders, cutoffs)
        .join(labels, ["customer_id", "feature_ts"], "left")
        .withColumn("label", F.coalesce("label", F.lit(0)).cast("int"))
    )
