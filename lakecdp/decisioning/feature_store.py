"""Feast operations on this lakehouse: the store's configuration from lakecdp.yaml, apply,
materialize (incremental, after each batch run) and push (micro-batch signals).

The offline store is Spark over the Delta tables; Feast finds the platform's active session, so
it reads with the same Delta, catalog and cluster settings as every job. The online store is
SQLite under <lakehouse>/feast or Redis (`features.online_store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lakecdp.kernel.config import ProjectConfig, join_path

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore
    from pyspark.sql import SparkSession

REPO_DIR = Path(__file__).resolve().parents[2] / "feature_repo"


def online_store_settings(config: ProjectConfig) -> dict[str, Any]:
    if config.features.online_store == "redis":
        return {"type": "redis", "connection_string": config.features.redis_url}
    return {"type": "sqlite", "path": join_path(config.features_root, "online.db")}


# The platform's Spark settings Feast's own session needs to read the Delta sources when no
# platform session runs (the Feast CLI, `feast serve`); no credentials.
FEAST_SPARK_KEYS = (
    "spark.master",
    "spark.driver.memory",
    "spark.jars",
    "spark.driver.extraClassPath",
    "spark.sql.extensions",
    "spark.sql.catalog.spark_catalog",
    "spark.sql.warehouse.dir",
    "spark.sql.session.timeZone",
    "spark.ui.enabled",
)


def feast_spark_conf(config: ProjectConfig) -> dict[str, str]:
    from lakecdp.kernel.spark import spark_conf

    settings = spark_conf(config)
    return {key: settings[key] for key in FEAST_SPARK_KEYS if key in settings}


def store_settings(config: ProjectConfig) -> dict[str, Any]:
    """feature_store.yaml of this lakehouse, as a mapping."""
    return {
        "project": config.features.project,
        "provider": "local",
        "registry": {
            "registry_type": "file",
            "path": join_path(config.features_root, "registry.db"),
            "cache_ttl_seconds": 60,
        },
        "offline_store": {"type": "spark", "spark_conf": feast_spark_conf(config)},
        "online_store": online_store_settings(config),
        "entity_key_serialization_version": 3,
    }


def feature_store(config: ProjectConfig) -> FeatureStore:
    """The lakehouse's FeatureStore; writes its resolved feature_store.yaml for `feast serve`."""
    from feast import FeatureStore, RepoConfig

    _filter_feast_warnings()
    root = Path(config.features_root)
    root.mkdir(parents=True, exist_ok=True)
    settings = store_settings(config)
    (root / "feature_store.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return FeatureStore(config=RepoConfig(repo_path=root, **settings))


def _filter_feast_warnings() -> None:
    """Feast modules call `warnings.simplefilter("once", RuntimeWarning)` when imported, which
    puts their warnings in front of every filter set before: import the ones we use (the Spark
    offline store marks itself alpha on every call; the version is pinned and tested), then
    set ours again."""
    import feast.infra.offline_stores.contrib.spark_offline_store.spark  # noqa: F401

    from lakecdp.kernel.run_log import filter_known_warnings

    filter_known_warnings()


def apply_definitions(config: ProjectConfig) -> FeatureStore:
    """Register the feature repository's definitions (idempotent)."""
    from feature_repo import definitions

    store = feature_store(config)
    store.apply(definitions(config))
    return store


@dataclass(frozen=True)
class Materialized:
    end: datetime
    views: list[str]


def materialize(
    spark: SparkSession, config: ProjectConfig, end: datetime | None = None
) -> Materialized:
    """Copy what changed since the last materialization into the online store.

    `end` defaults to now; Feast keeps each view's high-water mark, so a rerun copies nothing
    new. `spark` is the platform session the offline store reads with (it must be active).
    """
    from datetime import UTC

    del spark  # Feast's Spark offline store reads with the active session: this one.
    store = apply_definitions(config)
    until = end or datetime.now(UTC)
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    views = [v.name for v in store.list_feature_views() if v.online]
    store.materialize_incremental(end_date=until, feature_views=views)
    return Materialized(end=until, views=views)


def push_activity(store: FeatureStore, rows: pd.DataFrame) -> None:
    """Micro-batch signals (views, open cart, last channel) straight to the online store."""
    from feast.data_source import PushMode

    from feature_repo.data_sources import ACTIVITY_PUSH

    store.push(ACTIVITY_PUSH, rows, to=PushMode.ONLINE)
