"""`make bench-sync`: reverse-ETL syncs at audience scale.

A 1M-row, 10-column audience (gold Delta): the diff against the sync's state in Spark; the
first load into PostgreSQL (rows/s); a rerun with 1% of rows changed; an unchanged rerun, which
must make 0 calls and 0 writes (PostgreSQL's own counters, pg_stat_user_tables). Then HTTP:
100k rows in batches of 500 to the reference receiver capped at 20 requests/s with 10% 429s,
5% 5xx and 1% timeouts injected: every key must arrive exactly once, in at most 1.5 x the
rate-limit floor (10 s per 100k rows). Prints a table; writes JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
REPO = Path(__file__).resolve().parents[1]
DSN = "postgresql://lakecdp:lakecdp@localhost:5432/lakecdp_activation"
MAPPING = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "market": "market",
    "city": "city",
    "tier": "tier",
    "value_to_date": "value_to_date",
    "orders": "orders",
    "last_order_at": "last_order_at",
}


def _audience(spark: Any, rows: int, changed_share: float = 0.0, seed: int = 0) -> Any:
    """`rows` customers with ten columns; `changed_share` of them with another value."""
    from pyspark.sql import functions as F

    ids = spark.range(rows, numPartitions=max(2, rows // 250_000))
    changed = F.rand(seed) < F.lit(changed_share) if changed_share else F.lit(False)
    return ids.select(
        F.format_string("c%08d", "id").alias("customer_id"),
        F.format_string("person%d@example.com", "id").alias("email"),
        F.format_string("Given%d", F.col("id") % 5000).alias("first_name"),
        F.format_string("Family%d", F.col("id") % 20000).alias("last_name"),
        F.element_at(
            F.array(*(F.lit(m) for m in ("SG", "MY", "TH", "ID"))),
            (F.col("id") % 4 + 1).cast("int"),
        ).alias("market"),
        F.format_string("City%d", F.col("id") % 300).alias("city"),
        F.when(F.col("id") % 10 == 0, "gold").otherwise("silver").alias("tier"),
        (F.col("id") % 997 + F.when(changed, F.lit(0.5)).otherwise(F.lit(0.0)))
        .cast("double")
        .alias("value_to_date"),
        (F.col("id") % 40).cast("int").alias("orders"),
        F.timestamp_seconds(F.lit(1_760_000_000) + F.col("id") % 86_400).alias("last_order_at"),
    )


def _pg_writes(table: str) -> int:
    import psycopg

    with psycopg.connect(DSN) as conn:
        row = conn.execute(
            "select n_tup_ins + n_tup_upd + n_tup_del from pg_stat_user_tables "
            "where schemaname = 'public' and relname = %s",
            (table,),
        ).fetchone()
    return int(row[0]) if row else 0


def _settled_pg_writes(table: str) -> int:
    """The table's write counter once PostgreSQL has flushed every backend's statistics."""
    last, same = -1, 0
    while same < 3:
        now = _pg_writes(table)
        same = same + 1 if now == last else 0
        last = now
        time.sleep(0.5)
    return last


def bench_postgres(rows: int) -> dict[str, Any]:
    table = f"bench_sync_{uuid.uuid4().hex[:8]}"
    sync = {
        "source": "aud_bench",
        "primary_key": "customer_id",
        "mode": "mirror",
        "destination": "bench_pg",
        "mapping": MAPPING,
        "guards": {"max_source_drop_share": 1.0, "max_delete_share": 1.0},
    }
    os.environ["LAKECDP__DESTINATIONS__BENCH_PG"] = json.dumps(
        {"type": "postgres", "dsn": DSN, "table": table, "batch_size": 50_000}
    )
    os.environ["LAKECDP__SYNCS__BENCH_PG"] = json.dumps(sync)
    # The same first load sent from the Spark tasks instead of the run's process.
    executors_table = f"{table}_executors"
    os.environ["LAKECDP__DESTINATIONS__BENCH_PG_EXECUTORS"] = json.dumps(
        {"type": "postgres", "dsn": DSN, "table": executors_table, "batch_size": 50_000}
    )
    os.environ["LAKECDP__SYNCS__BENCH_PG_EXECUTORS"] = json.dumps(
        {**sync, "destination": "bench_pg_executors", "deliver_in": "executors"}
    )
    from benchmarks.common import bench_session
    from lakecdp.kernel.delta import Lakehouse
    from spark_jobs.activation.plan import plan_sync
    from spark_jobs.activation.run import run_sync

    _, config, spark = bench_session("sync")
    lake = Lakehouse(spark, config)
    audience = lake.table("gold", "aud_bench")
    audience.overwrite(_audience(spark, rows))
    out: dict[str, Any] = {"rows": rows, "columns": 10}

    clock = time.monotonic()
    plan = plan_sync(spark, config, "bench_pg")
    out["diff_seconds_first"] = round(time.monotonic() - clock, 1)
    out["diff_first_inserts"] = plan.counts["insert"]

    first = run_sync(spark, config, "bench_pg")
    out["first_load_seconds"] = first.seconds
    out["first_load_rows_per_second"] = round(first.counts["accepted"] / first.seconds)
    out["first_load_accepted"] = first.counts["accepted"]
    out["first_load_step_seconds"] = first.step_seconds
    out["postgres_rows_per_second"] = round(
        first.counts["accepted"] / first.step_seconds["deliver"]
    )

    audience.overwrite(_audience(spark, rows, changed_share=0.01, seed=7))
    clock = time.monotonic()
    plan = plan_sync(spark, config, "bench_pg")
    out["diff_seconds_1pct"] = round(time.monotonic() - clock, 1)
    changed = run_sync(spark, config, "bench_pg")
    out["rerun_1pct"] = {
        "updates": changed.counts["update"],
        "accepted": changed.counts["accepted"],
        "seconds": changed.seconds,
    }

    before = _settled_pg_writes(table)
    unchanged = run_sync(spark, config, "bench_pg")
    after = _settled_pg_writes(table)
    out["rerun_unchanged"] = {
        "sent": unchanged.counts["sent"],
        "requests": unchanged.counts.get("requests", 0),
        "postgres_writes": after - before,
        "seconds": unchanged.seconds,
    }
    from_executors = run_sync(spark, config, "bench_pg_executors")
    out["first_load_from_executors"] = {
        "seconds": from_executors.seconds,
        "rows_per_second": round(from_executors.counts["accepted"] / from_executors.seconds),
        "step_seconds": from_executors.step_seconds,
    }
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        out["destination_rows"] = conn.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]
        out["destination_rows_from_executors"] = conn.execute(
            f"select count(*) from {executors_table}"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(f"drop table {table}")
        conn.execute(f"drop table {executors_table}")
    return out


def bench_http(rows: int) -> dict[str, Any]:
    """`rows` rows in batches of 500 to the receiver capped at 20 requests/s, with faults."""
    from lakecdp.activation.receiver import Faults, ReceiverSettings, start_receiver
    from lakecdp.kernel.config import load_config
    from lakecdp.kernel.delta import Lakehouse
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.activation.run import run_sync

    faults = Faults(
        seed=1,
        throttle_share=0.10,
        # A capped server names the wait until its next free slot; a whole second on 10% of
        # requests would alone put the floor at 3x (every 429 pauses the destination's senders).
        retry_after_seconds=0.1,
        server_error_share=0.05,
        timeout_share=0.01,
        timeout_sleep_seconds=3.0,
        max_requests_per_second=20,
    )
    secret = "bench-secret"
    with start_receiver(ReceiverSettings(signing_secret=secret, faults=faults)) as receiver:
        os.environ["LAKECDP__DESTINATIONS__BENCH_HOOK"] = json.dumps(
            {
                "type": "http",
                "url": receiver.records_url,
                "signing_secret": secret,
                "batch_size": 500,
                "limits": {"requests_per_second": 20, "concurrency": 4, "timeout_seconds": 2},
            }
        )
        os.environ["LAKECDP__SYNCS__BENCH_HOOK"] = json.dumps(
            {
                "source": "aud_bench_http",
                "mode": "mirror",
                "destination": "bench_hook",
                "mapping": MAPPING,
            }
        )
        config = load_config(REPO / "lakecdp.yaml")
        spark = get_spark(config, "lakecdp-bench-sync")
        Lakehouse(spark, config).table("gold", "aud_bench_http").overwrite(_audience(spark, rows))
        result = run_sync(spark, config, "bench_hook")
        applied = receiver.state.applied.get("bench_hook", {})
        floor = rows / 500 / 20
        return {
            "rows": rows,
            "batch_size": 500,
            "cap_requests_per_second": 20,
            "faults": "10% 429 (Retry-After 0.1 s), 5% 5xx, 1% timeouts (3 s, client waits 2 s)",
            "seconds": result.seconds,
            "step_seconds": result.step_seconds,
            "rate_limit_floor_seconds": floor,
            "ratio_to_floor": round(result.step_seconds["deliver"] / floor, 2),
            "accepted": result.counts["accepted"],
            "failed": result.counts["failed"],
            "requests": result.counts.get("requests", 0),
            "retried_requests": result.counts.get("retried_requests", 0),
            "throttled_requests": result.counts.get("throttled_requests", 0),
            "keys_in_receiver": len(receiver.state.records.get("bench_hook", {})),
            "keys_applied_more_than_once": sum(1 for n in applied.values() if n > 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--http-rows", type=int, default=100_000)
    args = parser.parse_args()
    from benchmarks.common import write_results

    results: dict[str, Any] = {"postgres": bench_postgres(args.rows)}
    results["http"] = bench_http(args.http_rows)
    table = Table(title="bench-sync")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for part in ("postgres", "http"):
        for key, value in results[part].items():
            table.add_row(f"{part} {key}", str(value))
    console.print(table)
    console.print(f"written to {write_results('sync', results)}")


if __name__ == "__main__":
    main()
