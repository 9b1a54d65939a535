"""The Feast feature repository (Feast template layout).

Definitions are built from the project configuration, because their sources are Delta folders of
*this* lakehouse: `repository(config)` builds every Feast object once; `lakecdp features apply`
registers `definitions(config)` (programmatically, so tests and clusters get their own paths)
and `repo.py` names the same objects at module level for Feast's own CLI. Feature logic lives in
Spark (spark_jobs/features/) and dbt, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakecdp.kernel.config import ProjectConfig

if TYPE_CHECKING:
    from feast import Entity, FeatureService, FeatureView, Project

    from feature_repo.data_sources import DataSources

PROJECT_DESCRIPTION = "Unified customer features: transactions, profile and consent, live activity."


@dataclass(frozen=True)
class Repository:
    """Every object of the repository, by kind."""

    project: Project
    entities: list[Entity]
    sources: DataSources
    views: dict[str, FeatureView]
    services: list[FeatureService]

    def all(self) -> list[Any]:
        return [
            self.project,
            *self.entities,
            *self.sources.all(),
            *self.views.values(),
            *self.services,
        ]


def repository(config: ProjectConfig) -> Repository:
    """The project, entities, sources, feature views and services built from `config`."""
    from feast import Project

    from feature_repo.data_sources import DataSources
    from feature_repo.entities import customer, identifier
    from feature_repo.feature_services import feature_services
    from feature_repo.feature_views import feature_views

    sources = DataSources.from_config(config)
    views = feature_views(config, sources)
    return Repository(
        project=Project(name=config.features.project, description=PROJECT_DESCRIPTION),
        entities=[customer, identifier],
        sources=sources,
        views=views,
        services=list(feature_services(views)),
    )


def definitions(config: ProjectConfig) -> list[Any]:
    """Every object `feast apply` registers: the project, entities, sources, views, services."""
    return repository(config).all()
