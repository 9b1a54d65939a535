"""What we know of a customer: transaction features (the model's inputs) and the profile
fields the decision rules need (market, consent per purpose and channel)."""

from __future__ import annotations

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import Float64, String, UnixTimestamp

from feature_repo.data_sources import DataSources
from feature_repo.entities import customer
from lakecdp.kernel.config import ProjectConfig
from spark_jobs.features.transactions import FEATURE_COLUMNS


def consent_features(config: ProjectConfig) -> list[str]:
    return [
        f"consent_{purpose}_{channel}"
        for purpose in config.consent.purposes
        for channel in config.consent.channels
    ]


def customer_transactions(config: ProjectConfig, sources: DataSources) -> FeatureView:
    return FeatureView(
        name="customer_transactions",
        entities=[customer],
        ttl=timedelta(days=config.features.ttl_days),
        schema=[
            *(Field(name=c, dtype=Float64) for c in FEATURE_COLUMNS),
            Field(name="last_order_at", dtype=UnixTimestamp),
        ],
        source=sources.transactions,
        online=True,
        description="Recency, frequency, value and windows at each snapshot (purchase model).",
    )


def customer_profile(config: ProjectConfig, sources: DataSources) -> FeatureView:
    return FeatureView(
        name="customer_profile",
        entities=[customer],
        ttl=timedelta(days=config.features.ttl_days),
        schema=[
            Field(name="market", dtype=String),
            *(Field(name=c, dtype=String) for c in consent_features(config)),
        ],
        source=sources.profiles,
        online=True,
        description="Market and consent state (granted, denied, unknown) from gold.dim_customers.",
    )
