"""Sources: Delta tables of the lakehouse read by Spark (the offline store), and the push
source that micro-batch signals reach the online store through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feast import PushSource
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from feast.table_format import DeltaFormat

from lakecdp.kernel.config import ProjectConfig

ACTIVITY_PUSH = "customer_activity_push"


def _delta(config: ProjectConfig, layer: str, table: str, timestamp: str, doc: str) -> SparkSource:
    return SparkSource(
        name=f"{layer}_{table}",
        path=config.table_path(layer, table),
        table_format=DeltaFormat(),
        timestamp_field=timestamp,
        description=doc,
    )


@dataclass(frozen=True)
class DataSources:
    transactions: SparkSource
    profiles: SparkSource
    activity: SparkSource
    activity_push: PushSource
    identifiers: SparkSource

    @classmethod
    def from_config(cls, config: ProjectConfig) -> DataSources:
        activity = _delta(
            config,
            "gold",
            "customer_activity",
            "event_timestamp",
            "Recent behaviour per customer (spark_jobs/features/job.py).",
        )
        return cls(
            transactions=_delta(
                config,
                "gold",
                "customer_feature_snapshots",
                "feature_ts",
                "Transaction features at weekly cutoffs (point in time).",
            ),
            profiles=_delta(
                config,
                "gold",
                "dim_customers",
                "_built_at",
                "The unified profile: market and consent per purpose and channel.",
            ),
            activity=activity,
            activity_push=PushSource(name=ACTIVITY_PUSH, batch_source=activity),
            identifiers=_delta(
                config,
                "gold",
                "identifier_lookup",
                "updated_at",
                "Every identifier and issued customer id to its current customer id.",
            ),
        )

    def all(self) -> list[Any]:
        return [
            self.transactions,
            self.profiles,
            self.activity,
            self.activity_push,
            self.identifiers,
        ]
