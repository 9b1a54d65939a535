"""Point-in-time training sets: labels from gold.fct_orders, features through Feast.

Each row is (customer, cutoff): the customer's features as served at the cutoff (Feast's
point-in-time join over the snapshots, the model's feature service) and its label over the
model's horizon after it. Only cutoffs whose horizon has fully passed by the as-of time are used,
so no label is cut short.

Every row carries its split. Customers, not rows, are held out, by a keyed hash of their id: the
same customers are held out on every run and in every training set anyone builds, so a data
scientist who trains on `split == "train"` never trains on a row the gate evaluates with, and a
customer's later snapshots never leak into the evaluation of their earlier ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from lakecdp.kernel.config import ModelConfig, ProjectConfig
from lakecdp.kernel.delta import Table
from ml.evaluation_set import EvaluationSet, write_evaluation_set
from spark_jobs.features.job import SNAPSHOTS, orders_for_features
from spark_jobs.features.transactions import cutoff_frame, purchase_labels

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore
    from pyspark.sql import DataFrame, SparkSession

TRAIN, HOLDOUT = "train", "holdout"


class NotEnoughHistory(RuntimeError):
    """No snapshot is old enough for its label horizon to have passed, or one class is absent."""


@dataclass(frozen=True)
class TrainingSet:
    model: str
    as_of: datetime
    features: tuple[str, ...]
    frame: pd.DataFrame  # customer_id, event_timestamp, label, split, *features
    evaluation: EvaluationSet | None  # None when no registered model has these inputs and label

    def part(self, split: str) -> pd.DataFrame:
        return self.frame[self.frame["split"] == split]


def held_out(customer_id: str, share: float, seed: int) -> bool:
    """Whether the customer is in the gate's held-out share: a keyed hash, stable across runs."""
    digest = hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def service_features(store: FeatureStore, service: str) -> tuple[str, ...]:
    """A feature service's features in its order: the model's inputs."""
    found = store.get_feature_service(service)
    return tuple(f.name for view in found.feature_view_projections for f in view.features)


def built_cutoffs(snapshots: DataFrame, horizon_days: int, as_of: datetime) -> list[datetime]:
    """The snapshot times the feature tables hold whose label horizon has passed by `as_of`.
    Read from the table rather than recomputed from `as_of`: the features may have been built
    as of another time (the daily run's interval end) than the one training runs as of."""
    horizon = timedelta(days=horizon_days)
    built = [r.feature_ts for r in snapshots.select("feature_ts").distinct().collect()]
    return sorted(ts for ts in built if ts + horizon <= as_of)


def training_frame(
    spark: SparkSession,
    config: ProjectConfig,
    store: FeatureStore,
    as_of: datetime,
    spec: ModelConfig | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """customer_id, event_timestamp, label, split and the features of `spec`'s feature service
    (NaN where unknown); `spec` defaults to the primary registered model's."""
    name = name or config.models.registered_model
    spec = spec or config.models.model(name)
    snapshots = Table(spark, config, *SNAPSHOTS).read()
    cutoffs = built_cutoffs(snapshots, spec.horizon_days, as_of)
    if not cutoffs:
        raise NotEnoughHistory(
            f"{name}: no feature snapshot is {spec.horizon_days} days before {as_of:%Y-%m-%d}: "
            f"more history (features.snapshots) or a shorter "
            f"models.registered.{name}.horizon_days is needed"
        )
    frame = cutoff_frame(spark, cutoffs)
    entities = snapshots.join(F.broadcast(frame), "feature_ts").select("customer_id", "feature_ts")
    labels = purchase_labels(orders_for_features(spark, config), frame, spec.horizon_days)
    bought = F.coalesce("label", F.lit(0)).cast("int")
    entity_df = (
        entities.join(labels, ["customer_id", "feature_ts"], "left")
        .select(
            "customer_id",
            F.col("feature_ts").alias("event_timestamp"),
            (bought if spec.label == "purchase" else 1 - bought).alias("label"),
        )
        .orderBy(F.rand(config.models.seed))
        .limit(config.models.max_training_rows)
    )
    features = service_features(store, spec.feature_service)
    joined = store.get_historical_features(
        entity_df=entity_df, features=store.get_feature_service(spec.feature_service)
    ).to_df()
    if joined.empty or joined["label"].nunique() < 2:
        raise NotEnoughHistory(
            f"{name}: {len(joined)} training rows with labels "
            f"{sorted(joined['label'].unique())}: both classes are needed"
        )
    share, seed = config.models.holdout_share, config.models.seed
    joined["split"] = [
        HOLDOUT if held_out(str(c), share, seed) else TRAIN for c in joined["customer_id"]
    ]
    columns = ["customer_id", "event_timestamp", "label", "split", *features]
    out = joined[columns].astype({c: "float64" for c in features})
    return out.sort_values(["event_timestamp", "customer_id"], ignore_index=True)


def registered_for(config: ProjectConfig, spec: ModelConfig) -> str | None:
    """The registered model whose inputs and label `spec` describes, if any."""
    for name, model in config.models.registered.items():
        same = (model.feature_service, model.label, model.horizon_days)
        if same == (spec.feature_service, spec.label, spec.horizon_days):
            return name
    return None


def build_training_set(
    spark: SparkSession,
    config: ProjectConfig,
    store: FeatureStore,
    as_of: datetime,
    spec: ModelConfig,
    model: str | None = None,
) -> TrainingSet:
    """The training set `spec` describes as of `as_of`. When it is registered model `model`'s
    (or, unnamed, the first registered model's with these inputs, label and horizon), its
    held-out rows become that model's evaluation set (what `lakecdp model evaluate/promote`
    score every candidate on), so the gate judges on the newest labelled data."""
    model = model or registered_for(config, spec)
    label = model or f"{spec.feature_service}/{spec.label}/{spec.horizon_days}d"
    frame = training_frame(spark, config, store, as_of, spec, label)
    features = service_features(store, spec.feature_service)
    for split in (TRAIN, HOLDOUT):
        if frame.loc[frame["split"] == split, "label"].nunique() < 2:
            raise NotEnoughHistory(
                f"{label}: the {split} customers hold one class only "
                f"({len(frame)} rows): more customers or history are needed"
            )
    evaluation = None
    if model is not None:
        from ml.monitor import snapshot_sample

        population = snapshot_sample(spark, config, list(features), as_of, config.models.seed)
        evaluation = write_evaluation_set(
            config,
            model,
            frame[frame["split"] == HOLDOUT],
            features=features,
            as_of=as_of,
            feature_service=spec.feature_service,
            population=population,
        )
    return TrainingSet(label, as_of, features, frame, evaluation)
