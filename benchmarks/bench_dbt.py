"""`make bench-dbt`: dbt build and the quality gates on a generated world.

The lakehouse is prepared first (generate -> collector -> bronze -> identity, the demo's own
steps, not timed here). Then: `dbt build` (models, snapshot, tests), the identity and gold
gates, and a second `dbt build` with no new data, which incremental models should make a
fraction of the first. Prints wall time per stage and per model with rows per second; writes
JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
console = Console()


def _rows(spark: Any, config: Any, name: str) -> int | None:
    for layer in ("gold", "silver"):
        path = config.table_path(layer, name)
        try:
            return int(spark.read.format("delta").load(path).count())
        except Exception:  # not a table of this layer (views, tests)
            continue
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--root", type=Path, default=REPO / ".cache" / "bench-dbt")
    parser.add_argument("--reuse", action="store_true", help="skip preparing the lakehouse")
    parser.add_argument(
        "--lakehouse", type=Path, help="an existing lakehouse to build on (implies --reuse)"
    )
    args = parser.parse_args()

    import os

    lakehouse = args.lakehouse or args.root / "lakehouse"
    os.environ["LAKECDP_LAKEHOUSE_ROOT"] = str(lakehouse.resolve())
    reuse = args.reuse or args.lakehouse is not None
    from expectations.gates import run_gate
    from lakecdp.cli.demo import run_demo
    from lakecdp.kernel.config import load_config
    from lakecdp.kernel.spark import get_spark
    from lakecdp.signals.dbt_runner import run_dbt

    config = load_config(REPO / "lakecdp.yaml")
    if not reuse:
        started = time.monotonic()
        run_demo(
            config,
            customers=args.customers,
            seed=args.seed,
            console=Console(quiet=True),
            profiles=False,
        )
        console.print(f"lakehouse prepared in {time.monotonic() - started:.0f} s")
    spark = get_spark(config, "lakecdp-bench-dbt")

    stages: dict[str, float] = {}
    t = time.monotonic()
    first = run_dbt(config, ["build", "--full-refresh"], as_of="latest", spark=spark)
    stages["dbt build (first, full refresh)"] = time.monotonic() - t
    for stage in ("identity", "gold"):
        t = time.monotonic()
        run_gate(spark, config, stage)
        stages[f"gate {stage}"] = time.monotonic() - t
    t = time.monotonic()
    second = run_dbt(config, ["build"], as_of="latest", spark=spark)
    stages["dbt build (second, no new data)"] = time.monotonic() - t

    models = []
    for node in first.nodes:
        if node.resource_type not in {"model", "snapshot", "seed"}:
            continue
        rows = _rows(spark, config, node.name)
        again = next((n.seconds for n in second.nodes if n.name == node.name), None)
        models.append(
            {
                "model": node.name,
                "seconds": round(node.seconds, 2),
                "rows": rows,
                "rows_per_second": round(rows / node.seconds) if rows and node.seconds else None,
                "seconds_second_run": round(again, 2) if again is not None else None,
            }
        )
    tests = [n for n in first.nodes if n.resource_type == "test"]
    result = {
        "benchmark": "dbt",
        "at": datetime.now(UTC).isoformat(),
        "customers": args.customers,
        "lakehouse": str(lakehouse),
        "bronze_rows": {
            t: spark.read.format("delta").load(config.table_path("bronze", t)).count()
            for t in ("crm", "pos", "loyalty", "marketplace", "events")
        },
        "spark_master": config.spark.master,
        "stages_seconds": {k: round(v, 1) for k, v in stages.items()},
        "second_over_first": round(
            stages["dbt build (second, no new data)"] / stages["dbt build (first, full refresh)"], 3
        ),
        "tests": len(tests),
        "test_seconds": round(sum(n.seconds for n in tests), 1),
        "models": models,
    }
    table = Table(title=f"dbt + gates, {args.customers:,} customers")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, seconds in stages.items():
        table.add_row(name, f"{seconds:.1f}")
    console.print(table)
    per_model = Table(title="models (first build)")
    for col in ("model", "seconds", "rows", "rows/s", "2nd run s"):
        per_model.add_column(col, justify="right" if col != "model" else "left")
    for m in models:
        per_model.add_row(
            m["model"],
            f"{m['seconds']}",
            f"{m['rows']}",
            f"{m['rows_per_second']}",
            f"{m['seconds_second_run']}",
        )
    console.print(per_model)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"dbt-{args.customers}.json"
    out.write_text(json.dumps(result, indent=2))
    console.print(f"second build / first build = {result['second_over_first']}; written to {out}")


if __name__ == "__main__":
    main()
