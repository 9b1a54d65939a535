"""Feast's online store read directly, in Feast's own storage format (SQLite or Redis).

`FeatureStore.get_online_features` brings the whole Feast SDK into the process (about ten
seconds of imports: pandas, pyarrow, SQLAlchemy, ...) and builds protobuf responses per request;
the decision endpoint needs neither. This module reads what Feast wrote the way Feast reads it
(feast/infra/online_stores/sqlite.py and redis.py, key_encoding_utils.py: entity key
serialization version 3), with Feast's own generated protobuf modules for the values, and returns
what `get_online_features(...).to_dict()` returns, without the join keys.
tests/decisioning/test_online_reader.py holds it to that on SQLite and on a real Redis.

Feature services and views come from Feast's registry file, re-read when it changes, as the SDK
does. Out of scope, refused with the reason rather than read wrong: on-demand feature views,
online feature view versioning, entity key serialization other than version 3, and Redis
cluster or sentinel.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lakecdp.decisioning.feast_protos import proto_module
from lakecdp.kernel.feast_keys import (
    SERIALIZATION_VERSION,
    FeastFormatError,
    entity_key,
    redis_connection_kwargs,
)

# Feast's null timestamp: numpy's NaT as an int64 (feast.type_map.NULL_TIMESTAMP_INT_VALUE).
NULL_TIMESTAMP = -(2**63)


@dataclass(frozen=True)
class ViewRead:
    """One feature view as a read needs it: its join keys (with their value types) and the
    features to return, in the order Feast returns them."""

    name: str
    join_keys: tuple[tuple[str, int], ...]
    features: tuple[str, ...]


class FeastRegistry:
    """Feast's file registry (registry.db, a serialized Registry proto) of one project, parsed
    again whenever the file changes (`feast apply` rewrites it whole)."""

    def __init__(self, path: str, project: str) -> None:
        self.path = Path(path)
        self.project = project
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._views: dict[str, ViewRead] = {}
        self._services: dict[str, tuple[ViewRead, ...]] = {}

    def service(self, name: str) -> tuple[ViewRead, ...]:
        """The views of feature service `name`, each with the features the service selects."""
        self._refresh()
        try:
            return self._services[name]
        except KeyError:
            raise FeastFormatError(
                f"feature service {name!r} is not in {self.path} (project {self.project}); "
                "run `lakecdp features apply`"
            ) from None

    def view(self, name: str) -> ViewRead:
        self._refresh()
        try:
            return self._views[name]
        except KeyError:
            raise FeastFormatError(
                f"feature view {name!r} is not in {self.path} (project {self.project})"
            ) from None

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise FeastFormatError(
                f"no Feast registry at {self.path}: run `lakecdp features apply`"
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._parse(self.path.read_bytes())
                self._stamp = stamp

    def _parse(self, data: bytes) -> None:
        registry = proto_module("feast.core.Registry_pb2").Registry.FromString(data)
        entities = {
            e.spec.name: e.spec for e in registry.entities if e.spec.project == self.project
        }
        views: dict[str, ViewRead] = {}
        for view in (*registry.feature_views, *registry.stream_feature_views):
            spec = view.spec
            if spec.project != self.project:
                continue
            keys = [(c.name, c.value_type) for c in spec.entity_columns]
            if not keys:
                keys = [
                    (entities[e].join_key, entities[e].value_type)
                    for e in spec.entities
                    if e in entities and entities[e].join_key != "__dummy_id"
                ]
            views[spec.name] = ViewRead(
                spec.name, tuple(sorted(keys)), tuple(f.name for f in spec.features)
            )
        services: dict[str, tuple[ViewRead, ...]] = {}
        for service in registry.feature_services:
            if service.spec.project != self.project:
                continue
            reads = []
            for projection in service.spec.features:
                view = views.get(projection.feature_view_name)
                if view is None:
                    raise FeastFormatError(
                        f"feature service {service.spec.name!r} reads "
                        f"{projection.feature_view_name!r}, which is not a feature view "
                        "(on-demand views are not read here)"
                    )
                if projection.join_key_map:
                    raise FeastFormatError(
                        f"feature service {service.spec.name!r} maps the join keys of "
                        f"{view.name!r}; not read here"
                    )
                features = tuple(c.name for c in projection.feature_columns) or view.features
                reads.append(ViewRead(view.name, view.join_keys, features))
            services[service.spec.name] = tuple(reads)
        self._views, self._services = views, services


def python_value(data: bytes | None) -> Any:
    """A serialized feast Value as `OnlineResponse.to_dict()` returns it (scalar and list types:
    what feature views of this project hold)."""
    if not data:
        return None
    value = proto_module("feast.types.Value_pb2").Value.FromString(data)
    kind = value.WhichOneof("val")
    if kind is None:
        return None
    if kind == "unix_timestamp_val":
        seconds = value.unix_timestamp_val
        return None if seconds == NULL_TIMESTAMP else datetime.fromtimestamp(seconds, tz=UTC)
    if kind.endswith("_list_val") and kind not in ("json_list_val", "map_list_val"):
        items = list(getattr(value, kind).val)
        if kind == "unix_timestamp_list_val":
            return [
                None if s == NULL_TIMESTAMP else datetime.fromtimestamp(s, tz=UTC) for s in items
            ]
        return items
    if kind in ("bytes_val", "string_val", "int32_val", "int64_val", "double_val", "float_val"):
        return getattr(value, kind)
    if kind == "bool_val":
        return value.bool_val
    raise FeastFormatError(f"feast value of kind {kind} is not read here")


class OnlineReader(Protocol):
    """Reads one entity's features of some views; `check` raises when the store is not there."""

    def read(self, views: Sequence[ViewRead], entity: Mapping[str, Any]) -> dict[str, Any]: ...
    def check(self, views: Sequence[ViewRead]) -> None: ...
    def close(self) -> None: ...


class SqliteReader:
    """Feast's SQLite online store: one table `<project>_<view>` per view, a row per (entity
    key, feature) holding the serialized Value. Opened read-only, so a store that does not exist
    yet is reported as missing rather than created empty."""

    def __init__(self, path: str, project: str) -> None:
        self.path = path
        self.project = project
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            if not os.path.exists(self.path):
                raise FeastFormatError(f"no Feast online store at {self.path}: materialize first")
            uri = f"{Path(self.path).absolute().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=5)
        return self._db

    def table(self, view: str) -> str:
        return f"{self.project}_{view}"

    def read(self, views: Sequence[ViewRead], entity: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with self._lock:
            db = self._connection()
            for view in views:
                quoted = '"' + self.table(view.name).replace('"', '""') + '"'
                rows = dict(
                    db.execute(
                        f"select feature_name, value from {quoted} where entity_key = ?",
                        (entity_key(view.join_keys, entity),),
                    ).fetchall()
                )
                for feature in view.features:
                    out[feature] = python_value(rows.get(feature))
        return out

    def check(self, views: Sequence[ViewRead]) -> None:
        with self._lock:
            tables = {
                row[0]
                for row in self._connection().execute(
                    "select name from sqlite_master where type = 'table'"
                )
            }
        missing = sorted({self.table(v.name) for v in views} - tables)
        if missing:
            raise FeastFormatError(f"{self.path} has no table {', '.join(missing)}: apply first")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def redis_field(view: str, feature: str) -> bytes:
    """Feast's hash field of a feature: murmur3 (32 bits, little endian) of 'view:feature'."""
    import mmh3

    return int(mmh3.hash(f"{view}:{feature}", signed=False)).to_bytes(4, "little")


class RedisReader:
    """Feast's Redis online store: a hash per entity key (serialized key + project), a field per
    feature (`redis_field`) holding the serialized Value, and `_ts:<view>` for the event time.
    One pipelined HMGET per view, one round trip."""

    def __init__(self, connection_string: str, project: str) -> None:
        import redis

        self.project = project.encode("utf8")
        self._redis = redis.Redis(**redis_connection_kwargs(connection_string))
        self._fields: dict[tuple[str, tuple[str, ...]], list[bytes]] = {}

    def _hash_fields(self, view: ViewRead) -> list[bytes]:
        key = (view.name, view.features)
        fields = self._fields.get(key)
        if fields is None:
            fields = [redis_field(view.name, f) for f in view.features]
            self._fields[key] = fields
        return fields

    def read(self, views: Sequence[ViewRead], entity: Mapping[str, Any]) -> dict[str, Any]:
        pipe = self._redis.pipeline(transaction=False)
        for view in views:
            pipe.hmget(entity_key(view.join_keys, entity) + self.project, self._hash_fields(view))
        out: dict[str, Any] = {}
        for view, values in zip(views, pipe.execute(), strict=True):
            for feature, data in zip(view.features, values, strict=True):
                out[feature] = python_value(data)
        return out

    def check(self, views: Sequence[ViewRead]) -> None:
        del views  # a hash per entity: nothing to check beyond the server answering
        self._redis.ping()

    def close(self) -> None:
        self._redis.close()


def online_reader(settings: Mapping[str, Any]) -> OnlineReader:
    """The reader for Feast's `online_store` settings
    (`lakecdp.decisioning.feature_store.store_settings`)."""
    store = settings["online_store"]
    version = settings.get("entity_key_serialization_version", SERIALIZATION_VERSION)
    if version != SERIALIZATION_VERSION:
        raise FeastFormatError(f"entity key serialization version {version} is not read here")
    if store["type"] == "sqlite":
        return SqliteReader(store["path"], settings["project"])
    if store["type"] == "redis" and store.get("redis_type", "redis") == "redis":
        return RedisReader(store["connection_string"], settings["project"])
    raise FeastFormatError(f"online store {store} is not read here")
