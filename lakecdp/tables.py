"""Lakehouse tables: where each lives, whether it exists, and its name in the catalog."""

from __future__ import annotations

from pyspark.sql import SparkSession

from lakecdp.config import LAYERS, ProjectConfig


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
