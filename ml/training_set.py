"""Point-in-time training sets: labels from gold.fct_orders, features through Feast.

Each row is (customer, cutoff): the customer's features as served at the cutoff (Feast's
point-in-time join over the snapshots) and whether they bought within the horizon after it.
Only cutoffs whose horizon has fully passed by the as-of time are used, so no label is cut short.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from feature_repo.feature_services import PROPENSITY_SERVICE
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from spark_jobs.features.job import SNAPSHOTS, orders_for_features
from spark_jobs.features.transactions import FEATURE_COLUMNS, cutoff_frame, purchase_labels

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore
    from pyspark.sql import DataFrame, SparkSession


class NotEnoughHistory(RuntimeError):
    """No snapshot is old enough for its label horizon to have passed, or one class is absent."""


def built_cutoffs(snapshots: DataFrame, config: ProjectConfig, as_of: datetime) -> list[datetime]:
    """The snapshot times the feature tables hold whose label horizon has passed by `as_of`.
    Read from the table rather than recomputed from `as_of`: the features may have been built
    as of another time (the daily run's interval end) than the one training runs as of."""
    horizon = timedelta(days=config.models.horizon_days)
    built = [r.feature_ts for r in snapshots.select("feature_ts").distinct().collect()]
    return sorted(ts for ts in built if ts + horizon <= as_of)


def training_frame(
    spark: SparkSession, config: ProjectConfig, store: FeatureStore, as_of: datetime
) -> pd.DataFrame:
    """customer_id, event_timestamp, label and FEATURE_COLUMNS (NaN where unknown)."""
    snapshots = Table(spark, config, *SNAPSHOTS).read()
    cutoffs = built_cutoffs(snapshots, config, as_of)
    if not cutoffs:
        raise NotEnoughHistory(
            f"no feature snapshot is {config.models.horizon_days} days before {as_of:%Y-%m-%d}: "
            "more history (features.snapshots) or a shorter models.horizon_days is needed"
        )
    frame = cutoff_frame(spark, cutoffs)
    entities = snapshots.join(F.broadcast(frame), "feature_ts").select("customer_id", "feature_ts")
    labels = purchase_labels(orders_for_features(spark, config), frame, config.models.horizon_days)
    entity_df = (
        entities.join(labels, ["customer_id", "feature_ts"], "left")
        .select(
            "customer_id",
            F.col("feature_ts").alias("event_timestamp"),
            F.coalesce("label", F.lit(0)).cast("int").alias("label"),
        )
        .orderBy(F.rand(config.models.seed))
        .limit(config.models.max_training_rows)
    )
    features = store.get_historical_features(
        entity_df=entity_df, features=store.get_feature_service(PROPENSITY_SERVICE)
    ).to_df()
    if features.empty or features["label"].nunique() < 2:
        raise NotEnoughHistory(
            f"{len(features)} training rows with labels {sorted(features['label'].unique())}: "
            "both buyers and non-buyers are needed"
        )
    columns = ["customer_id", "event_timestamp", "label", *FEATURE_COLUMNS]
    return features[columns].astype({c: "float64" for c in FEATURE_COLUMNS})
