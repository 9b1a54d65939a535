"""`make bench-airflow`: rerun `lakecdp_daily` for the interval the demo ran and show that every
silver and gold table is as it was; what the run cost, task by task, and what Airflow added.

Works on a lakehouse the demo built (`make demo`, or `--lakehouse PATH`): the DAG runs again
with `airflow dags test` for the demo's run time, in the demo's Airflow home. Each table is
summarised before and after as its row count and an order-free checksum of its rows, leaving out
the columns that record when a row was written (dbt's `dbt_*`, `_ingested_at`, ...).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.common import REPO, write_results

console = Console()

# Columns that say when or by which run a row was written, not what it holds (`_built_at` is
# the build time every gold model and feature table stamps on its rows).
WRITE_TIMES = {"updated_at", "_ingested_at", "run_id", "_built_at", "_batch_id"}


def table_summaries(spark: Any, tables_root: Path) -> dict[str, tuple[int, int]]:
    """layer.table -> (rows, checksum of the rows' content) for every silver and gold table."""
    from pyspark.sql import functions as F

    out: dict[str, tuple[int, int]] = {}
    for layer in ("silver", "gold"):
        for folder in sorted((tables_root / layer).iterdir()):
            if not (folder / "_delta_log").exists():
                continue
            frame = spark.read.format("delta").load(str(folder))
            kept = [c for c in frame.columns if c not in WRITE_TIMES and not c.startswith("dbt_")]
            row = frame.agg(
                F.count(F.lit(1)).alias("rows"),
                F.coalesce(F.sum(F.xxhash64(*kept).cast("decimal(38,0)")), F.lit(0)).alias("sum"),
            ).first()
            out[f"{layer}.{folder.name}"] = (int(row["rows"]), int(row["sum"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lakehouse", type=Path, default=REPO / ".lakehouse")
    args = parser.parse_args()
    lakehouse = args.lakehouse.resolve()
    if not (lakehouse / "airflow" / "airflow.db").exists():
        raise SystemExit(f"no demo Airflow home in {lakehouse}: run `make demo` first")
    os.environ["LAKECDP_LAKEHOUSE_ROOT"] = str(lakehouse)

    from lakecdp.cli.dag_runs import LocalAirflow
    from lakecdp.cli.demo import DAILY_RUN_AT
    from lakecdp.cli.render import print_dag_run
    from lakecdp.kernel.config import load_config
    from lakecdp.kernel.spark import get_spark

    config = load_config(REPO / "lakecdp.yaml")
    spark = get_spark(config, "lakecdp-bench-airflow")
    tables_root = Path(config.lakehouse.tables_root)
    before = table_summaries(spark, tables_root)

    airflow = LocalAirflow(config, lakehouse / "airflow", lakehouse / "logs", task_retries=0)
    run = airflow.run("lakecdp_daily", DAILY_RUN_AT)
    print_dag_run(run, console)
    after = table_summaries(spark, tables_root)

    table = Table(title=f"lakecdp_daily rerun for {DAILY_RUN_AT}: silver and gold tables")
    for column in ("table", "rows before", "rows after", "content"):
        table.add_column(column, justify="left" if column == "table" else "right")
    changed = []
    for name in sorted(set(before) | set(after)):
        same = before.get(name) == after.get(name)
        if not same:
            changed.append(name)
        rows = [str(before.get(name, ("-",))[0]), str(after.get(name, ("-",))[0])]
        table.add_row(name, *rows, "same" if same else "[red]changed[/red]")
    console.print(table)
    console.print(
        f"{len(before)} tables, {len(changed)} changed; DAG run {run.wall_seconds:.1f} s, "
        f"tasks {run.task_seconds:.1f} s, Airflow itself {run.overhead_seconds:.1f} s"
    )
    path = write_results(
        "airflow",
        {
            "dag": run.dag_id,
            "logical_date": DAILY_RUN_AT,
            "wall_seconds": run.wall_seconds,
            "task_seconds": round(run.task_seconds, 1),
            "airflow_seconds": round(run.overhead_seconds, 1),
            "tasks": {t.task_id: {"state": t.state, "seconds": t.seconds} for t in run.tasks},
            "tables": len(before),
            "changed_tables": changed,
        },
    )
    console.print(f"results: {path}")
    if changed:
        raise SystemExit(f"the rerun changed {', '.join(changed)}")


if __name__ == "__main__":
    main()
