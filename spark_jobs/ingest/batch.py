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

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from lakecdp.kernel.config import ProjectConfig, SourceConfig
from lakecdp.kernel.contracts.events import Reason
from lakecdp.kernel.delta import Table
from lakecdp.kernel.tables import list_files
from spark_jobs.ingest.quarantine import QUARANTINE_SCHEMA, QUARANTINE_TABLE, to_quarantine
from spark_jobs.ingest.source_rules import CORRUPT, SOURCE_FILE, raw_payload, split_source_rows

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


def known_files(
    spark: SparkSession, config: ProjectConfig
) -> dict[tuple[str, str], tuple[int, int]]:
    """(source, path) -> (size, mtime) of every file already ingested."""
    files = Table(spark, config, *INGESTED_FILES_TABLE)
    if not files.exists():
        return {}
    rows = files.read().select("source", "file_path", "file_size", "file_mtime_ms").collect()
    return {(r.source, r.file_path): (r.file_size, r.file_mtime_ms) for r in rows}


def _csv_header(spark: SparkSession, path: str) -> list[str]:
    first = spark.read.text(path).limit(1).collect()
    if not first:
        return []
    return next(csv.reader(io.StringIO(first[0].value.lstrip("\ufeff"))), [])


def _missing_columns(path: str, source: SourceConfig, columns: list[str]) -> _FileProblem | None:
    """A file without every declared column is refused whole, naming what it lacks."""
    missing = [c for c in source.declared_columns if c not in columns]
    if not missing:
        return None
    return _FileProblem(
        path, Reason.MISSING_COLUMNS.value, f"missing: {', '.join(missing)}", ",".join(columns)
    )


def _read_csv(
    spark: SparkSession, files: list[str], source: SourceConfig, problems: list[_FileProblem]
) -> DataFrame | None:
    frames: list[DataFrame] = []
    for path in files:
        header = [h.strip() for h in _csv_header(spark, path)]
        if problem := _missing_columns(path, source, header):
            problems.append(problem)
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
        if problem := _missing_columns(path, source, df.columns):
            problems.append(problem)
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


@dataclass
class _SourceBatch:
    """What one source contributes to a run; the shared ops tables are written once per run."""

    result: SourceResult
    files: list[str] = field(default_factory=list)
    quarantine: DataFrame | None = None
    records: list[tuple] = field(default_factory=list)
    cached: DataFrame | None = None


def _read(
    spark: SparkSession, source: SourceConfig, files: list[str], problems: list[_FileProblem]
) -> DataFrame | None:
    if source.format == "csv":
        return _read_csv(spark, files, source, problems)
    if source.format == "jsonl":
        return _read_jsonl(spark, files, source)
    return _read_parquet(spark, files, source, problems)


def _problem_rows(
    spark: SparkSession, name: str, problems: list[_FileProblem], run_id: str
) -> DataFrame:
    files = spark.createDataFrame(
        [(p.path, p.reason, p.detail, p.payload) for p in problems],
        "location string, reason string, detail string, payload string",
    )
    return to_quarantine(
        files,
        source=F.lit(name),
        origin="batch",
        location=F.col("location"),
        reason=F.col("reason"),
        detail=F.col("detail"),
        raw_payload=F.col("payload"),
        run_id=run_id,
    )


def ingest_source(
    spark: SparkSession,
    config: ProjectConfig,
    name: str,
    run_id: str,
    known: dict[tuple[str, str], tuple[int, int]],
) -> _SourceBatch:
    """Write new files' usable rows to bronze.<name>; return refusals and file records."""
    source = config.sources[name]
    batch = _SourceBatch(SourceResult(name))
    listed = list_files(spark, config.source_path(name), SUFFIXES[source.format])
    todo = [(p, size, mtime) for p, size, mtime in listed if known.get((name, p)) != (size, mtime)]
    batch.result.files_skipped = len(listed) - len(todo)
    batch.result.files_new = len(todo)
    if not todo:
        return batch
    batch.files = [p for p, _, _ in todo]
    problems: list[_FileProblem] = []
    rows = _read(spark, source, batch.files, problems)

    per_file: dict[str, tuple[int, int]] = {}
    refusals: list[DataFrame] = []
    if rows is not None:
        checked = split_source_rows(rows, name, source, config.markets).persist()
        batch.cached = checked
        bronze = checked.where("_reason is null").select(
            *source.declared_columns,
            "_event_ts",
            "_market",
            "_source",
            SOURCE_FILE,
            F.current_timestamp().alias("_ingested_at"),
            F.lit(run_id).alias("_run_id"),
        )
        readable = [f for f in batch.files if f not in {p.path for p in problems}]
        Table(spark, config, "bronze", name).replace_where(bronze, _in_files(SOURCE_FILE, readable))
        refusals.append(
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
        for row in checked.groupBy(SOURCE_FILE, "_reason").count().collect():
            ok, bad = per_file.get(row[SOURCE_FILE], (0, 0))
            if row["_reason"] is None:
                ok += row["count"]
            else:
                bad += row["count"]
                reasons = batch.result.quarantined_by_reason
                reasons[row["_reason"]] = reasons.get(row["_reason"], 0) + row["count"]
            per_file[row[SOURCE_FILE]] = (ok, bad)
    if problems:
        refusals.append(_problem_rows(spark, name, problems, run_id))
        for problem in problems:
            reasons = batch.result.quarantined_by_reason
            reasons[problem.reason] = reasons.get(problem.reason, 0) + 1
            per_file[problem.path] = (0, 1)
    batch.quarantine = _union(refusals)

    problem_by_path = {p.path: p for p in problems}
    for path, size, mtime in todo:
        problem = problem_by_path.get(path)
        ok, bad = per_file.get(path, (0, 0))
        batch.records.append(
            (
                name,
                path,
                size,
                mtime,
                "rejected" if problem else "ingested",
                ok,
                bad,
                f"{problem.reason}: {problem.detail}" if problem else None,
                run_id,
            )
        )
        batch.result.rows_ingested += ok
        batch.result.rows_quarantined += bad
        batch.result.files_rejected += 1 if problem else 0
    return batch


def record_files(spark: SparkSession, config: ProjectConfig, files: DataFrame) -> None:
    """Record `files` (INGESTED_FILES_SCHEMA) in ops.ingested_files: one row per source and
    path, so a file read again (changed, or after a crash) replaces its record."""
    Table(spark, config, *INGESTED_FILES_TABLE).merge(
        files.withColumn("ingested_at", F.current_timestamp()), ["source", "file_path"], "all"
    )


def run_batch_ingest(
    spark: SparkSession, config: ProjectConfig, sources: list[str] | None = None
) -> list[SourceResult]:
    """Ingest new files of `sources` (default: all declared) in one run.

    Order makes reruns safe: bronze rows per source first, then one replace of the run's
    quarantine rows, then the file records; whatever a crash interrupts is redone next run.
    """
    names = sources or list(config.sources)
    unknown = [n for n in names if n not in config.sources]
    if unknown:
        raise ValueError(
            f"unknown source(s): {', '.join(unknown)}; declared: {', '.join(config.sources)}"
        )
    run_id = f"batch-{uuid.uuid4()}"
    known = known_files(spark, config)
    batches = [ingest_source(spark, config, name, run_id, known) for name in names]
    try:
        files = [f for b in batches for f in b.files]
        quarantine = Table(spark, config, *QUARANTINE_TABLE)
        refused = _union([b.quarantine for b in batches if b.quarantine is not None])
        if files and (refused is not None or quarantine.exists()):
            # Replacing every file read this run also clears refusals of a file fixed since.
            quarantine.replace_where(
                refused if refused is not None else spark.createDataFrame([], QUARANTINE_SCHEMA),
                "origin = 'batch' and " + _in_files("location", files),
            )
        records = [r for b in batches for r in b.records]
        if records:
            record_files(spark, config, spark.createDataFrame(records, INGESTED_FILES_SCHEMA))
    finally:
        for batch in batches:
            if batch.cached is not None:
                batch.cached.unpersist()
    return [b.result for b in batches]
