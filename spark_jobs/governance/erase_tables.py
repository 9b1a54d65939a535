"""Erasure in every Delta table of the lakehouse: find the person's rows, delete them, purge.

Every table under the tables root is visited (a table added later is not forgotten), and the
columns it has say how it names a person:
- `customer_id` (and `old_customer_id`, `current_customer_id`; `key` of the sync tables, whose
  primary key is the customer id): the closure's customer ids;
- `id_type` + `value`, `identifier` ("type:value"), `a`/`b` (never-link pairs), `node`,
  `src`/`dst` (graph nodes): the closure's identifiers;
- raw records (bronze.events, the bronze source tables): each identifier normalized by the
  identity rules and hashed, matched against the closure's hashes;
- ops.quarantine: every candidate value of the raw payload (lakecdp/identity/subjects.py).

Deletes are MERGEs that join a frame of the person's keys, so commit predicates name columns,
never a value. Then deletion vectors are purged (REORG ... APPLY (PURGE)) and the table is
vacuumed with no retention: older versions cannot be read back. The count query that found the
rows is run again on the new version; the certificate records both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce
from typing import Any

import pandas as pd
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType

from lakecdp.governance.certificate import StoreResult
from lakecdp.identity.rules import IdentityRules
from lakecdp.identity.spark_normalizers import (
    event_observations,
    identifier_observations,
    normalize_observations,
    phone_regions,
)
from lakecdp.identity.subjects import SubjectHasher
from lakecdp.kernel.config import ProjectConfig, SourceConfig
from lakecdp.kernel.delta import Table
from lakecdp.kernel.subjects import spark_subject_hash
from lakecdp.kernel.tables import list_files
from spark_jobs.governance.closure import Closure

log = logging.getLogger("lakecdp.governance")

CUSTOMER_COLUMNS = ("customer_id", "old_customer_id", "current_customer_id")
QUARANTINE = ("ops", "quarantine")
EVENTS = ("bronze", "events")


@dataclass(frozen=True)
class Family:
    """One way a table names the person: the key columns and the person's keys in them
    (`rows`: the same keys collected, once they are)."""

    keys: DataFrame
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...] | None = None


class ClosureFrames:
    """The closure as small frames, built once per run and shared by every table."""

    def __init__(self, spark: SparkSession, config: ProjectConfig, closure: Closure) -> None:
        self.spark = spark
        self.config = config
        self.closure = closure
        self.hasher = SubjectHasher(config)
        self.customers = spark.createDataFrame(
            [(c,) for c in sorted(closure.customers)], "customer_id string"
        ).cache()
        self.identifiers = spark.createDataFrame(
            sorted(closure.identifiers), "id_type string, value string"
        ).cache()
        refs = [f"{t}:{v}" for t, v in sorted(closure.identifiers)]
        refs += [f"customer_id:{c}" for c in sorted(closure.customers)]
        self.refs = spark.createDataFrame([(r,) for r in refs], "ref string").cache()
        self.nodes = spark.createDataFrame([(n,) for n in sorted(closure.nodes)], "node long")
        self.hashes = spark.createDataFrame(
            [(h,) for h in sorted(closure.hashes(self.hasher))], "hash string"
        ).cache()

    def unpersist(self) -> None:
        for frame in (self.customers, self.identifiers, self.refs, self.hashes):
            frame.unpersist()


def _renamed(frame: DataFrame, name: str) -> DataFrame:
    return frame.withColumnRenamed(frame.columns[0], name)


def _raw_victims(
    frames: ClosureFrames,
    rows: DataFrame,
    record_id: Column,
    observations: Callable[[DataFrame], DataFrame],
    keys: tuple[str, ...],
) -> DataFrame:
    """Key columns of the raw rows whose identifiers, normalized and hashed, name the person.
    `observations` turns the rows (with their record id in `_rid`) into identifier sightings."""
    config = frames.config
    secret = config.governance.subject_key.get_secret_value()
    rules = IdentityRules.from_config(config)
    with_id = rows.withColumn("_rid", record_id)
    sightings = normalize_observations(observations(with_id), rules, phone_regions(config)).where(
        F.col("value").isNotNull()
    )
    named = (
        sightings.withColumn("hash", spark_subject_hash(secret, "id_type", "value"))
        .join(F.broadcast(frames.hashes), "hash")
        .select(F.col("record_id").alias("_rid"))
        .distinct()
    )
    return with_id.join(named, "_rid", "left_semi").select(*keys).distinct()


def _quarantine_victims(frames: ClosureFrames, rows: DataFrame) -> DataFrame:
    hasher = frames.hasher

    @F.pandas_udf(ArrayType(StringType()))  # type: ignore[call-overload]
    def subjects(raw: pd.Series) -> pd.Series:
        return raw.map(lambda text: sorted(hasher.text(text)) if isinstance(text, str) else [])

    exploded = rows.select("record_key", F.explode(subjects("raw_payload")).alias("hash"))
    return exploded.join(F.broadcast(frames.hashes), "hash").select("record_key").distinct()


def families(frames: ClosureFrames, layer: str, name: str, rows: DataFrame) -> list[Family]:
    """Every way this table's columns can name the person."""
    config = frames.config
    cols = set(rows.columns)
    out: list[Family] = []
    customer_columns = [c for c in CUSTOMER_COLUMNS if c in cols]
    synced_by_customer = all(s.primary_key == "customer_id" for s in config.syncs.values())
    if layer == "ops" and name.startswith("sync_") and "key" in cols and synced_by_customer:
        customer_columns.append("key")
    out += [Family(_renamed(frames.customers, c), (c,)) for c in customer_columns]
    if {"id_type", "value"} <= cols:
        out.append(Family(frames.identifiers, ("id_type", "value")))
    for column in ("identifier", "a", "b"):
        if column in cols and dict(rows.dtypes)[column] == "string":
            out.append(Family(_renamed(frames.refs, column), (column,)))
    for column in ("node", "src", "dst"):
        if column in cols and dict(rows.dtypes)[column] in ("bigint", "int"):
            out.append(Family(_renamed(frames.nodes, column), (column,)))
    if (layer, name) == EVENTS:
        victims = _raw_victims(
            frames,
            rows,
            F.col("message_id"),
            lambda r: event_observations(r.withColumn("message_id", F.col("_rid")), config),
            ("message_id",),
        )
        out.append(Family(victims, ("message_id",)))
    elif layer == "bronze" and name in config.sources:
        source = config.sources[name]
        keys = (source.record_id,) if source.record_id else tuple(source.declared_columns)
        record_id = (
            F.col(source.record_id).cast("string")
            if source.record_id
            else F.sha2(F.to_json(F.struct(*source.declared_columns)), 256)
        )

        def sightings(r: DataFrame, source: SourceConfig = source) -> DataFrame:
            return identifier_observations(
                r,
                source=F.lit(name),
                record_id=F.col("_rid"),
                record_ts=F.lit(None).cast("timestamp"),
                market=F.col("_market") if "_market" in cols else F.lit(None).cast("string"),
                identifiers=[(t, F.col(c)) for c, t in source.identifiers.items() if c in cols],
            )

        out.append(Family(_raw_victims(frames, rows, record_id, sightings, keys), keys))
    elif (layer, name) == QUARANTINE and {"record_key", "raw_payload"} <= cols:
        out.append(Family(_quarantine_victims(frames, rows), ("record_key",)))
    return out


def matching_rows(rows: DataFrame, found: list[Family]) -> DataFrame:
    """The rows any family names, each once (left joins on distinct keys keep row counts)."""
    flagged = rows
    flags: list[Column] = []
    for index, family in enumerate(found):
        flag = f"_named_{index}"
        keys = family.keys.select(*family.columns).distinct().withColumn(flag, F.lit(True))
        flagged = flagged.join(F.broadcast(keys), list(family.columns), "left")
        flags.append(F.col(flag).isNotNull())
    if not flags:
        return rows.limit(0)
    return flagged.where(reduce(lambda a, b: a | b, flags)).select(*rows.columns)


def _count_matching(rows: DataFrame, found: list[Family]) -> int:
    return matching_rows(rows, found).count()


def _one_merge(spark: SparkSession, found: list[Family]) -> tuple[DataFrame, str]:
    """Every family's keys in one frame (`_f` says which family a row is, `k<f>_<column>` its
    key) and the condition that deletes a target row any of them names: one commit per table."""
    columns = [(i, c) for i, family in enumerate(found) for c in family.columns]
    fields = ["_f int"] + [f"k{i}_{c} {family_type(found[i], c)}" for i, c in columns]
    rows = []
    for i, family in enumerate(found):
        for key in family.rows or ():
            values = dict(zip(family.columns, key, strict=True))
            rows.append([i] + [values[c] if j == i else None for j, c in columns])
    keys = spark.createDataFrame(rows, ", ".join(fields))
    condition = " or ".join(
        "(s._f = {i} and {match})".format(
            i=i, match=" and ".join(f"t.`{c}` <=> s.`k{i}_{c}`" for c in family.columns)
        )
        for i, family in enumerate(found)
    )
    return keys, condition


def family_type(family: Family, column: str) -> str:
    return dict(family.keys.dtypes)[column]


def _last_commit(spark: SparkSession, path: str) -> tuple[int, dict[str, Any]]:
    """The newest version and its operation metrics."""
    row = DeltaTable.forPath(spark, path).history(1).select("version", "operationMetrics").first()
    return int(row[0]), dict(row[1] or {})


# What VACUUM with no retention needs, set once for a whole erasure (the session's settings are
# shared by the threads that erase tables side by side).
VACUUM_SETTINGS = {
    "spark.databricks.delta.retentionDurationCheck.enabled": "false",
    # VACUUM lists and deletes in this many tasks (default 10,000: a minute per table on two
    # cores, for a few dozen files)
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "8",
}


def _purge_and_vacuum(spark: SparkSession, table: Table) -> int:
    """Rewrite files holding deleted rows (deletion vectors) and remove every file no version
    needs now; returns how many data files went."""
    properties = {
        r.key: r.value for r in spark.sql(f"show tblproperties delta.`{table.path}`").collect()
    }
    if properties.get("delta.enableDeletionVectors", "false") == "true":
        spark.sql(f"reorg table delta.`{table.path}` apply (purge)")
    files_before = len(list_files(spark, table.path, (".parquet",)))
    spark.sql(f"vacuum delta.`{table.path}` retain 0 hours")
    return files_before - len(list_files(spark, table.path, (".parquet",)))


def local_keys(frames: ClosureFrames, family: Family) -> Family:
    """The family's keys collected (one person's rows: small) into a local frame, so the
    count, the merge and the check after do not recompute a raw table's matching."""
    keys = family.keys.select(*family.columns).distinct()
    rows = tuple(tuple(r) for r in keys.collect())
    local = frames.spark.createDataFrame(list(rows), keys.schema)
    return Family(local, family.columns, rows)


def erase_table(frames: ClosureFrames, layer: str, name: str) -> StoreResult:
    spark, config = frames.spark, frames.config
    table = Table(spark, config, layer, name)
    result = StoreResult(store=f"delta:{layer}.{name}", location=table.path, method="")
    found = [local_keys(frames, f) for f in families(frames, layer, name, table.read())]
    if not found:
        result.method = "no column names a person: nothing to do"
        result.verification = "columns checked: none identify a person"
        return result
    result.method = "merge delete on " + ", ".join("+".join(f.columns) for f in found)
    if any(f.rows for f in found):
        result.rows_found = _count_matching(table.read(), found)
    if not result.rows_found:
        result.verification = "rows naming the person: 0"
        return result
    keys, condition = _one_merge(spark, found)
    table.delete_matching(keys, condition)
    merged, metrics = _last_commit(spark, table.path)
    result.version_before = merged - 1
    result.rows_removed = int(metrics.get("numTargetRowsDeleted", 0))
    result.files_rewritten = int(metrics.get("numTargetFilesRemoved", 0))
    result.files_removed = _purge_and_vacuum(spark, table)
    result.version_after = _last_commit(spark, table.path)[0]
    # the same keys looked for again in the new version
    result.rows_after = _count_matching(table.read(), found)
    result.verification = (
        f"rows naming the person at version {result.version_after}: {result.rows_after}; "
        f"versions before {result.version_after} vacuumed"
    )
    return result


def erase_tables(
    frames: ClosureFrames,
    tables: list[tuple[str, str]],
    on_table: Callable[[str], None] | None = None,
    threads: int = 4,
) -> list[StoreResult]:
    """Erase the closure from `tables`, several at a time: on a small cluster most of a
    table's time is job latency, not work. Results in the order of `tables`."""
    spark = frames.spark
    previous = {key: spark.conf.get(key, None) for key in VACUUM_SETTINGS}
    for key, value in VACUUM_SETTINGS.items():
        spark.conf.set(key, value)

    def one(table: tuple[str, str]) -> StoreResult:
        started = time.monotonic()
        if on_table is not None:
            on_table(f"{table[0]}.{table[1]}")
        result = erase_table(frames, *table)
        result.seconds = round(time.monotonic() - started, 2)
        log.info("erasure: %s.%s done", *table)
        return result

    try:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="erase") as pool:
            return list(pool.map(one, tables))
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
