"""`lakecdp measure lift --experiment NAME`: conversion of treatment against holdout.

A customer enters the experiment at their first logged decision in it; they converted if they
ordered within the attribution window after it. Both arms are measured the same way (the
holdout got `no_action`, but its decisions are logged too), so the difference is the lift. The
95% interval is the normal approximation for a difference of two proportions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse
from lakecdp.kernel.tables import DECISIONS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Lift:
    experiment: str
    window_days: int
    treatment_customers: int
    treatment_conversions: int
    holdout_customers: int
    holdout_conversions: int

    @property
    def treatment_rate(self) -> float:
        return (
            self.treatment_conversions / self.treatment_customers
            if self.treatment_customers
            else float("nan")
        )

    @property
    def holdout_rate(self) -> float:
        return (
            self.holdout_conversions / self.holdout_customers
            if self.holdout_customers
            else float("nan")
        )

    @property
    def difference(self) -> float:
        return self.treatment_rate - self.holdout_rate

    @property
    def interval(self) -> tuple[float, float]:
        if not (self.treatment_customers and self.holdout_customers):
            return float("nan"), float("nan")
        pt, ph = self.treatment_rate, self.holdout_rate
        se = math.sqrt(
            pt * (1 - pt) / self.treatment_customers + ph * (1 - ph) / self.holdout_customers
        )
        return self.difference - Z_95 * se, self.difference + Z_95 * se

    @property
    def relative_lift(self) -> float:
        return self.difference / self.holdout_rate if self.holdout_rate else float("nan")

    def as_dict(self) -> dict[str, object]:
        low, high = self.interval
        return {
            **self.__dict__,
            "treatment_rate": self.treatment_rate,
            "holdout_rate": self.holdout_rate,
            "difference": self.difference,
            "ci95": [low, high],
            "relative_lift": self.relative_lift,
        }


def measure_lift(
    spark: SparkSession, config: ProjectConfig, experiment: str, window_days: int = 7
) -> Lift:
    lake = Lakehouse(spark, config)
    decisions = (
        lake.table(*DECISIONS)
        .read()
        .where((F.col("experiment") == experiment) & F.col("customer_id").isNotNull())
    )
    ids = lake.table("silver", "customer_ids").read().select("customer_id", "current_customer_id")
    entered = (
        decisions.groupBy("customer_id")
        .agg(F.min_by("arm", "decided_at").alias("arm"), F.min("decided_at").alias("entered_at"))
        .join(ids, "customer_id", "left")
        .select(
            F.coalesce("current_customer_id", "customer_id").alias("customer_id"),
            "arm",
            "entered_at",
        )
    )
    orders = lake.table("gold", "fct_orders").read().select("customer_id", "ordered_at")
    window = F.expr(f"make_interval(0, 0, 0, {int(window_days)})")
    converted = (
        entered.alias("e")
        .join(
            orders.alias("o"),
            (F.col("e.customer_id") == F.col("o.customer_id"))
            & (F.col("o.ordered_at") > F.col("e.entered_at"))
            & (F.col("o.ordered_at") <= F.col("e.entered_at") + window),
        )
        .select("e.customer_id")
        .distinct()
        .withColumn("converted", F.lit(1))
    )
    per_arm = {
        r.arm: (int(r.customers), int(r.conversions))
        for r in entered.join(converted, "customer_id", "left")
        .groupBy("arm")
        .agg(
            F.count("*").alias("customers"),
            F.sum(F.coalesce("converted", F.lit(0))).alias("conversions"),
        )
        .collect()
    }
    t = per_arm.get("treatment", (0, 0))
    h = per_arm.get("holdout", (0, 0))
    return Lift(experiment, window_days, t[0], t[1], h[0], h[1])
