"""Recent behaviour: built in batch from fct_events, pushed fresh by the micro-batch."""

from __future__ import annotations

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import Int64, String, UnixTimestamp

from feature_repo.data_sources import DataSources
from feature_repo.entities import customer
from lakecdp.kernel.config import ProjectConfig


def customer_activity(config: ProjectConfig, sources: DataSources) -> FeatureView:
    return FeatureView(
        name="customer_activity",
        entities=[customer],
        ttl=timedelta(days=config.features.ttl_days),
        schema=[
            Field(name="views_30m", dtype=Int64),
            Field(name="open_cart", dtype=Int64),
            Field(name="last_channel", dtype=String),
            Field(name="last_event_at", dtype=UnixTimestamp),
        ],
        source=sources.activity_push,
        online=True,
        description="Views in the last 30 minutes, an open cart, the last channel.",
    )
