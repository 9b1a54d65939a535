"""Identity in the online store: any identifier to its current customer id, one read."""

from __future__ import annotations

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import String

from feature_repo.data_sources import DataSources
from feature_repo.entities import identifier
from lakecdp.kernel.config import ProjectConfig


def identifier_lookup(config: ProjectConfig, sources: DataSources) -> FeatureView:
    return FeatureView(
        name="identifier_lookup",
        entities=[identifier],
        ttl=timedelta(days=3650),
        schema=[Field(name="customer_id", dtype=String)],
        source=sources.identifiers,
        online=True,
        description="Normalized identifier or issued customer id -> current customer id.",
    )
