"""One-screen summaries of what is in the lakehouse (used by `lakecdp status` and the demo)."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from rich.console import Console
from rich.table import Table

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse
from lakecdp.kernel.tables import list_delta_tables


def table_counts(spark: SparkSession, config: ProjectConfig) -> dict[str, int]:
    lake = Lakehouse(spark, config)
    return {
        f"{layer}.{table}": lake.table(layer, table).read().count()
        for layer, table in list_delta_tables(spark, config)
    }


def quarantine_by_reason(
    spark: SparkSession, config: ProjectConfig
) -> list[tuple[str, str, str, int]]:
    quarantine = Lakehouse(spark, config).table("ops", "quarantine")
    if not quarantine.exists():
        return []
    rows = (
        quarantine.read()
        .groupBy("origin", "source", "reason")
        .count()
        .orderBy(F.desc("count"))
        .collect()
    )
    return [(r.origin, r.source or "-", r.reason, r["count"]) for r in rows]


def print_lakehouse_summary(spark: SparkSession, config: ProjectConfig, console: Console) -> dict:
    counts = table_counts(spark, config)
    tables = Table(title="Lakehouse tables", show_lines=False)
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, rows in counts.items():
        tables.add_row(name, f"{rows:,}")
    console.print(tables)
    reasons = quarantine_by_reason(spark, config)
    quarantine = Table(title="Quarantined records by reason")
    for col in ("origin", "source", "reason"):
        quarantine.add_column(col)
    quarantine.add_column("rows", justify="right")
    for origin, source, reason, count in reasons:
        quarantine.add_row(origin, source, reason, f"{count:,}")
    console.print(quarantine)
    return {"tables": counts, "quarantine": [list(r) for r in reasons]}
