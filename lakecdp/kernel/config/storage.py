"""Where data lives and what computes on it: the lakehouse, Spark, the catalog, the SQL endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from lakecdp.kernel.config.paths import LocalPath, join_path
from lakecdp.kernel.config.section import Section

LAYERS = ("bronze", "silver", "gold", "ops")


class LakehouseConfig(Section):
    root: LocalPath = ".lakehouse"
    landing: LocalPath | None = Field(
        default=None, description="Landing zone; defaults to <root>/landing."
    )

    @property
    def landing_root(self) -> str:
        return self.landing or join_path(self.root, "landing")

    @property
    def tables_root(self) -> str:
        return join_path(self.root, "tables")

    @property
    def checkpoints_root(self) -> str:
        return join_path(self.root, "_checkpoints")

    @property
    def warehouse(self) -> str:
        return join_path(self.root, "warehouse")


class SparkConfig(Section):
    master: str = "local[2]"
    app_name: str = "lakecdp"
    driver_memory: str = "4g"
    shuffle_partitions: int = Field(default=8, ge=1)
    jars_dir: LocalPath = ".cache/jars"
    ui_enabled: bool = False
    conf: dict[str, str] = Field(default_factory=dict)


class CatalogConfig(Section):
    """How processes share table names. Tables are always addressed by location; the catalog
    only maps names to locations (see docs/catalog.md)."""

    kind: Literal["embedded", "hive-postgres"] = "embedded"
    metastore_url: str | None = None
    metastore_user: str | None = None
    metastore_password: str | None = None

    @model_validator(mode="after")
    def _metastore_needs_url(self) -> CatalogConfig:
        if self.kind == "hive-postgres" and not self.metastore_url:
            raise ValueError("catalog.kind 'hive-postgres' needs catalog.metastore_url")
        return self


class SqlConfig(Section):
    """The analysts' SQL endpoint (`lakecdp sql serve`): a HiveServer2 (Spark Thrift) server.

    It always runs on the shared hive-postgres catalog (docs/catalog.md), whatever
    `catalog.kind` says, so that jobs, dbt and analysts' tools see the same names.
    """

    host: str = Field(default="localhost", description="address the Thrift server binds to")
    port: int = Field(default=10000, ge=1, le=65535)
    rescan_seconds: float = Field(
        default=30.0, gt=0, description="how often new table folders get their catalog names"
    )
