"""Batch ingestion of declared file sources into bronze.<source>.

Only files not yet ingested (or changed since: other size or modification time) are read.
Writes are idempotent per file: bronze and quarantine rows of a file are replaced with
`replaceWhere` on the file path, and the file is recorded in ops.ingested_files last; a run
that dies midway is simply run again.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from lakecdp.config import ProjectConfig, SourceConfig
from lakecdp.contracts.events import Reason
from lakecdp.tables import is_delta_table, list_files, register_table
from spark_jobs.ingest.source_rules import CORRUPT, SOURCE_FILE, raw_payload, split_source_rows
from spark_jobs.quarantine import QUARANTINE_TABLE, to_quarantine

INGESTED_FILES_TABLE = ("ops", "ingested_files")
SUFFIXES = {
    "csv": (".csv", ".csv.gz"),
    "jsonl": (".jsonl", ".json", ".jsonl.gz"),
    "parquet": (".parquet",),
}

INGESTED_FILES_SCHEMA = StructType(
    [
        StructField("source", StringType(), nullable=False),
        StructField("file_path", StringType(), nullable=False),
        StructField("file_size", LongType()),
        StructField("file_mtime_ms", LongType()),
        StructField("status", StringType()),
        StructField("rows_ingested", LongType()),
        StructField("rows_quarantined", LongType()),
        StructField("reason", StringType()),
        StructField("run_id", StringType()),
    ]
)


@dataclass
class SourceResult:
    source: str
    files_new: int = 0
    files_skipped: int = 0
    files_rejected: int = 0
    rows_ingested: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class _FileProblem:
    path: str
    reason: str
    detail: str
    payload: str


def _known_files(
    spark: SparkSession, config: ProjectConfig, source: str
) -> dict[str, tuple[int, int]]:
    path = config.table_path(*INGESTED_FILES_TABLE)
    if not is_delta_table(spark, path):
        return {}
    rows = (
        spark.read.format("delta")
        .load(path)
        .where(F.col("source") == source)
        .select("file_path", "file_size", "file_mtime_ms")
        .collect()
    )
    return {r.file_path: (r.file_size, r.file_mtime_ms) for r in rows}


def _csv_header(spark: SparkSession, path: str) -> list[str]:
    first = spark.read.text(path).limit(1).collect()
    if not first:
        return []
    return next(csv.reader(io.StringIO(first[0].value.lstrip("\ufeff"))), [])


def _read_csv(
    spark: SparkSession, files: list[str], source: SourceConfig, problems: list[_FileProblem]
) -> DataFrame | None:
    frames: list[DataFrame] = []
    for path in files:
        header = [h.strip() for h in _csv_header(spark, path)]
        missing = [c for c in source.declared_columns if c not in header]
        if missing:
            problems.append(
                _FileProblem(
                    path,
                    Reason.MISSING_COLUMNS.value,
                    f"missing: {', '.join(missing)}",
                    ",".join(header),
                )
            )
            continue
        schema = StructType(
            [StructField(h, StringType()) for h in header] + [StructField(CORRUPT, StringType())]
        )
        frames.append(
            spark.read.schema(schema)
            .option("header", True)
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT)
            .csv(path)
            .select(*source.declared_columns, CORRUPT, F.lit(path).alias(SOURCE_FILE))
        )
    return _union(frames)


def _read_jsonl(spark: SparkSession, files: list[str], source: SourceConfig) -> DataFrame:
    schema = StructType(
        [StructField(c, StringType()) for c in source.declared_columns]
        + [StructField(CORRUPT, StringType())]
    )
    return (
        spark.read.schema(schema)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .json(files)
        .select(*source.declared_columns, CORRUPT, F.col("_metadata.file_path").alias(SOURCE_FILE))
    )


def _read_parquet(
    spark: SparkSession, files: list[str], source: SourceConfig, problems: list[_FileProblem]
) -> DataFrame | None:
    frames: list[DataFrame] = []
    for path in files:
        try:
            df = spark.read.parquet(path)
        except Exception as exc:
            problems.append(_FileProblem(path, Reason.UNREADABLE_FILE.value, str(exc)[:500], ""))
            continue
        missing = [c for c in source.declared_columns if c not in df.columns]
        if missing:
            problems.append(
                _FileProblem(
                    path,
                    Reason.MISSING_COLUMNS.value,
                    f"missing: {', '.join(missing)}",
                    ",".join(df.columns),
                )
            )
            continue
        frames.append(
            df.select(
                *[F.col(c).cast("string").alias(c) for c in source.declared_columns],
                F.lit(None).cast("string").alias(CORRUPT),
                F.lit(path).alias(SOURCE_FILE),
            )
        )
    return _union(frames)


def _union(frames: list[DataFrame]) -> DataFrame | None:
    if not frames:
        return None
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def _in_files(column: str, files: list[str]) -> str:
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"{column} in ({quoted})"


def _replace_rows(spark: SparkSession, df: DataFrame, path: str, predicate: str) -> None:
    """Replace exactly the rows matching `predicate` with `df` (creates the table if new)."""
    if is_delta_table(spark, path):
        df.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(path)
    else:
        df.write.format("delta").mode("append").save(path)


def ingest_source(
    spark: SparkSession, config: ProjectConfig, name: str, run_id: str
) -> SourceResult:
    source = config.sources[name]
    result = SourceResult(name)
    known = _known_files(spark, config, name)
    listed = list_files(spark, config.source_path(name), SUFFIXES[source.format])
    todo = [(p, size, mtime) for p, size, mtime in listed if known.get(p) != (size, mtime)]
    result.files_skipped = len(listed) - len(todo)
    result.files_new = len(todo)
    if not todo:
        return result
    files = [p for p, _, _ in todo]
    problems: list[_FileProblem] = []
    if source.format == "csv":
        rows = _read_csv(spark, files, source, problems)
    elif source.format == "jsonl":
        rows = _read_jsonl(spark, files, source)
    else:
        rows = _read_parquet(spark, files, source, problems)

    per_file: dict[str, tuple[int, int]] = {}
    quarantine_path = config.table_path(*QUARANTINE_TABLE)
    quarantine_frames: list[DataFrame] = []
    if rows is not None:
        checked = split_source_rows(rows, name, source, config.markets).persist()
        bronze = checked.where("_reason is null").select(
            *source.declared_columns,
            "_event_ts",
            "_market",
            "_source",
            SOURCE_FILE,
            F.current_timestamp().alias("_ingested_at"),
            F.lit(run_id).alias("_run_id"),
        )
        readable = [f for f in files if f not in {p.path for p in problems}]
        bronze_path = config.table_path("bronze", name)
        _replace_rows(spark, bronze, bronze_path, _in_files(SOURCE_FILE, readable))
        register_table(spark, config, "bronze", name)
        quarantine_frames.append(
            to_quarantine(
                checked.where("_reason is not null"),
                source=F.lit(name),
                origin="batch",
                location=F.col(SOURCE_FILE),
                reason=F.col("_reason"),
                detail=F.lit(None),
                raw_payload=raw_payload(source),
                run_id=run_id,
            )
        )
        # Bounded: one row per (file, reason).
        counts = checked.groupBy(SOURCE_FILE, "_reason").count().collect()
        for row in counts:
            ok, bad = per_file.get(row[SOURCE_FILE], (0, 0))
            if row["_reason"] is None:
                ok += row["count"]
            else:
                bad += row["count"]
                result.quarantined_by_reason[row["_reason"]] = (
                    result.quarantined_by_reason.get(row["_reason"], 0) + row["count"]
                )
            per_file[row[SOURCE_FILE]] = (ok, bad)
    if problems:
        quarantine_frames.append(
            spark.createDataFrame(
                [(p.path, p.reason, p.detail, p.payload) for p in problems],
                "location string, reason string, detail string, payload string",
            ).transform(
                lambda d: to_quarantine(
                    d,
                    source=F.lit(name),
                    origin="batch",
                    location=F.col("location"),
                    reason=F.col("reason"),
                    detail=F.col("detail"),
                    raw_payload=F.col("payload"),
                    run_id=run_id,
                )
            )
        )
        for problem in problems:
            result.quarantined_by_reason[problem.reason] = (
                result.quarantined_by_reason.get(problem.reason, 0) + 1
            )
    quarantined = _union(quarantine_frames)
    if quarantined is not None:
        _replace_rows(
            spark,
            quarantined,
            quarantine_path,
            f"origin = 'batch' and source = '{name}' and " + _in_files("location", files),
        )
        register_table(spark, config, *QUARANTINE_TABLE)
    if rows is not None:
        checked.unpersist()

    problem_by_path = {p.path: p for p in problems}
    records = []
    for path, size, mtime in todo:
        problem = problem_by_path.get(path)
        ok, bad = per_file.get(path, (0, 0))
        records.append(
            (
                name,
                path,
                size,
                mtime,
                "rejected" if problem else "ingested",
                ok,
                bad if not problem else 1,
                f"{problem.reason}: {problem.detail}" if problem else None,
                run_id,
            )
        )
        result.rows_ingested += ok
        result.rows_quarantined += bad if not problem else 1
        result.files_rejected += 1 if problem else 0
    _record_files(spark, config, spark.createDataFrame(records, INGESTED_FILES_SCHEMA))
    return result


def _record_files(spark: SparkSession, config: ProjectConfig, files: DataFrame) -> None:
    path = config.table_path(*INGESTED_FILES_TABLE)
    files = files.withColumn("ingested_at", F.current_timestamp())
    if not is_delta_table(spark, path):
        files.write.format("delta").save(path)
        register_table(spark, config, *INGESTED_FILES_TABLE)
        return
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(files.alias("s"), "t.source = s.source and t.file_path = s.file_path")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def run_batch_ingest(
    spark: SparkSession, config: ProjectConfig, sources: list[str] | None = None
) -> list[SourceResult]:
    names = sources or list(config.sources)
    unknown = [n for n in names if n not in config.sources]
    if unknown:
        raise ValueError(
            f"unknown source(s): {', '.join(unknown)}; declared: {', '.join(config.sources)}"
        )
    run_id = f"batch-{uuid.uuid4()}"
    return [ingest_source(spark, config, name, run_id) for name in names]
