"""Which model version the `champion` alias points at, read from MLflow's registry store.

MLflow's client costs the endpoint seconds of imports and a store set-up (schema checks) before
the first answer. With a database-backed registry (SQLite by default, PostgreSQL or MySQL by
configuration: any URI MLflow's SQLAlchemy store takes) the answer is two indexed queries on
MLflow's own tables, so that is what runs: stdlib sqlite3 for SQLite, SQLAlchemy for the rest.
A tracking server (http, databricks, ...) or a schema these queries do not fit goes through
MlflowClient, as before. tests/ml/test_champion_registry.py checks the answers agree.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

# MLflow's single-tenant workspace (mlflow.utils.workspace_utils.DEFAULT_WORKSPACE_NAME).
WORKSPACE = "default"
DELETED_STAGE = "Deleted_Internal"  # how MLflow's SQL store marks a deleted version
_ALIAS_SQL = """
select mv.version, mv.storage_location, mv.source
from registered_model_aliases a
join model_versions mv
  on mv.workspace = a.workspace and mv.name = a.name and mv.version = a.version
where a.workspace = :workspace and a.name = :name and a.alias = :alias
  and mv.current_stage <> :deleted
"""
_TAGS_SQL = """
select key, value from model_version_tags
where workspace = :workspace and name = :name and version = :version
"""
SQL_DIALECTS = ("sqlite", "postgresql", "mysql", "mssql")
# How MLflow's client says the model (RESOURCE_DOES_NOT_EXIST) or alias (INVALID_PARAMETER_VALUE)
# does not exist.
NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    location: str  # where its files are: MLflow's download URI (storage location, else source)
    tags: dict[str, str]


class Registry(Protocol):
    def alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version `alias` points at, or None when the model or alias does not exist."""
        ...


class SqlRegistry:
    """MLflow's SQL registry tables, queried directly."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._engine: Any = None

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        if self.uri.startswith("sqlite:"):
            path = self.uri.removeprefix("sqlite:///")
            if not os.path.exists(path):
                return None  # nothing tracked yet, so nothing registered
            uri = f"{Path(path).absolute().as_uri()}?mode=ro"
            db = sqlite3.connect(uri, uri=True, timeout=10)
            try:
                return self._answer(name, alias, lambda sql, p: db.execute(sql, p).fetchall())
            finally:
                db.close()
        from sqlalchemy import create_engine, text

        if self._engine is None:
            self._engine = create_engine(self.uri, pool_pre_ping=True)
        with self._engine.connect() as conn:
            return self._answer(
                name, alias, lambda sql, p: [tuple(r) for r in conn.execute(text(sql), p)]
            )

    @staticmethod
    def _answer(name: str, alias: str, query: Any) -> ModelVersion | None:
        rows = query(
            _ALIAS_SQL,
            {"workspace": WORKSPACE, "name": name, "alias": alias, "deleted": DELETED_STAGE},
        )
        if not rows:
            return None
        version, storage_location, source = rows[0]
        tags = query(_TAGS_SQL, {"workspace": WORKSPACE, "name": name, "version": version})
        return ModelVersion(
            name, str(version), storage_location or source, {str(k): str(v) for k, v in tags}
        )


class MlflowRegistry:
    """Any registry MLflow's client reaches (tracking servers); imports MLflow on first use."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._client: Any = None

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        try:
            found = self._client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            if exc.error_code not in NOT_FOUND_CODES:
                raise  # a registry that does not answer is not "no champion"
            log.info("no %s@%s in %s: %s", name, alias, self.uri, exc)
            return None
        location = self._client.get_model_version_download_uri(name, found.version)
        return ModelVersion(name, str(found.version), location, dict(found.tags or {}))


class FallbackRegistry:
    """The SQL registry, and MLflow's client if its schema does not fit our queries (a newer or
    older MLflow), said once in the log."""

    def __init__(self, uri: str) -> None:
        self.sql = SqlRegistry(uri)
        self.client = MlflowRegistry(uri)
        self._use_client = False

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        if not self._use_client:
            try:
                return self.sql.alias(name, alias)
            except Exception as exc:  # the schema, not the data: decide once
                if not _schema_mismatch(exc):
                    raise
                log.warning(
                    "MLflow registry at %s read through MlflowClient: %s", self.sql.uri, exc
                )
                self._use_client = True
        return self.client.alias(name, alias)


def _schema_mismatch(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "no such" in str(exc)
    return type(exc).__name__ in ("ProgrammingError", "OperationalError") and (
        "column" in str(exc) or "relation" in str(exc) or "table" in str(exc)
    )


def registry_for(uri: str) -> Registry:
    dialect = uri.split(":", 1)[0].split("+", 1)[0]
    if dialect in SQL_DIALECTS:
        return FallbackRegistry(uri)
    return MlflowRegistry(uri)
