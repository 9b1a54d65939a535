"""Lakehouse tables: where each lives, whether it exists, and its name in the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from lakecdp.kernel.config import LAYERS, ProjectConfig

# Tables that more than one layer reads, as (layer, name): the layer that writes one owns its
# schema; the others find it here instead of importing the writer.
DECISIONS = ("bronze", "decisions")  # the decision endpoint's log, ingested by signals


def _hadoop_fs(spark: SparkSession, path: str):  # type: ignore[no-untyped-def]
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    assert jvm is not None
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath  # type: ignore[attr-defined]


def path_exists(spark: SparkSession, path: str) -> bool:
    fs, hpath = _hadoop_fs(spark, path)
    return bool(fs.exists(hpath))


def is_delta_table(spark: SparkSession, path: str) -> bool:
    return path_exists(spark, f"{path.rstrip('/')}/_delta_log")


def list_delta_tables(spark: SparkSession, config: ProjectConfig) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for layer in LAYERS:
        root = f"{config.lakehouse.tables_root}/{layer}"
        fs, hpath = _hadoop_fs(spark, root)
        if not fs.exists(hpath):
            continue
        for status in fs.listStatus(hpath):
            name = status.getPath().getName()
            visible = status.isDirectory() and not name.startswith(("_", "."))
            if visible and fs.exists(status.getPath().suffix("/_delta_log")):
                found.append((layer, name))
    return sorted(found)


def register_table(spark: SparkSession, config: ProjectConfig, layer: str, table: str) -> None:
    location = config.table_path(layer, table)
    spark.sql(f"create table if not exists {layer}.{table} using delta location '{location}'")


def list_files(
    spark: SparkSession, root: str, suffixes: tuple[str, ...]
) -> list[tuple[str, int, int]]:
    """(path, size, modification time ms) of every visible file under `root`, recursively."""
    fs, hpath = _hadoop_fs(spark, root)
    if not fs.exists(hpath):
        return []
    out: list[tuple[str, int, int]] = []
    it = fs.listFiles(hpath, True)
    while it.hasNext():
        status = it.next()
        path = status.getPath()
        rel = path.toString()[len(hpath.toString()) :]
        if any(part.startswith(("_", ".")) for part in rel.split("/") if part):
            continue
        if path.getName().lower().endswith(suffixes):
            out.append((path.toString(), int(status.getLen()), int(status.getModificationTime())))
    return sorted(out)


@dataclass
class CatalogSync:
    named: int = 0
    added: list[str] = field(default_factory=list)
    repointed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.repointed or self.dropped)

    def __str__(self) -> str:
        parts = [
            f"{what} {', '.join(names)}"
            for what, names in (
                ("added", self.added),
                ("repointed", self.repointed),
                ("dropped", self.dropped),
            )
            if names
        ]
        return f"{self.named} lakehouse tables named" + "".join(f"; {part}" for part in parts)


def _norm_location(location: str) -> str:
    for prefix in ("file://", "file:"):
        if location.startswith(prefix):
            location = location[len(prefix) :]
            break
    return location.rstrip("/")


def sync_catalog(spark: SparkSession, config: ProjectConfig) -> CatalogSync:
    """Make the layer schemas name exactly the Delta folders under the tables root.

    The folders are the truth (docs/catalog.md): a new folder gets its name, a name pointing at
    another location (the metastore outlived a lakehouse) is re-pointed, and a name whose folder
    under our tables root is gone (`make clean`) is dropped. Views and tables stored elsewhere
    (dbt's) are left alone. Dropping an external Delta table removes the name only, never data.
    """
    external = spark._jsparkSession.sharedState().externalCatalog()  # type: ignore[attr-defined]
    tables_root = _norm_location(config.lakehouse.tables_root) + "/"
    result = CatalogSync()
    found = set(list_delta_tables(spark, config))
    for layer in LAYERS:
        if not external.databaseExists(layer):
            spark.sql(f"create database if not exists {layer}")
        rows = spark.sql(f"show tables in {layer}").collect()
        # temporary views (dbt's __dbt_tmp) are listed with every schema; they are not ours
        for name in sorted(row.tableName for row in rows if not row.isTemporary):
            meta = external.getTable(layer, name)
            uri = meta.storage().locationUri()
            if meta.tableType().name() == "VIEW" or not uri.isDefined():
                continue
            location = _norm_location(uri.get().toString())
            expected = _norm_location(config.table_path(layer, name))
            if (layer, name) in found and location != expected:
                spark.sql(f"drop table {layer}.{name}")
                register_table(spark, config, layer, name)
                result.repointed.append(f"{layer}.{name}")
            elif location.startswith(tables_root) and not path_exists(spark, location):
                spark.sql(f"drop table {layer}.{name}")
                result.dropped.append(f"{layer}.{name}")
    for layer, name in sorted(found):
        if not external.tableExists(layer, name):
            register_table(spark, config, layer, name)
            result.added.append(f"{layer}.{name}")
    result.named = len(found)
    return result
