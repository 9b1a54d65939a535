"""The Feast feature repository (Feast template layout).

Definitions are built from the project configuration, because their sources are Delta folders of
*this* lakehouse: `definitions(config)` returns every Feast object, which `lakecdp features apply`
registers (programmatically, so tests and clusters get their own paths). Feature logic lives in
Spark (spark_jobs/features/) and dbt, never here.
"""

from __future__ import annotations

from typing import Any

from lakecdp.kernel.config import ProjectConfig


def definitions(config: ProjectConfig) -> list[Any]:
    """Every entity, source, feature view and feature service of the repository."""
    from feature_repo.data_sources import DataSources
    from feature_repo.entities import customer, identifier
    from feature_repo.feature_services import feature_services
    from feature_repo.feature_views import feature_views

    sources = DataSources.from_config(config)
    views = feature_views(config, sources)
    return [customer, identifier, *sources.all(), *views.values(), *feature_services(views)]
