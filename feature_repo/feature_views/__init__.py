"""Feature views, one module per subject."""

from __future__ import annotations

from feast import FeatureView

from feature_repo.data_sources import DataSources
from feature_repo.feature_views.activity import customer_activity
from feature_repo.feature_views.customer import customer_profile, customer_transactions
from feature_repo.feature_views.identity import identifier_lookup
from lakecdp.kernel.config import ProjectConfig


def feature_views(config: ProjectConfig, sources: DataSources) -> dict[str, FeatureView]:
    views = [
        customer_transactions(config, sources),
        customer_profile(config, sources),
        customer_activity(config, sources),
        identifier_lookup(config, sources),
    ]
    return {view.name: view for view in views}
