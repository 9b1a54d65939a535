"""`make bench-ingest`: collector capacity and latency, and landing->bronze freshness.

1. capacity: closed-loop load on /v1/batch (50 events a request) and on /v1/track (1 event);
2. freshness: an open-loop load of >= 1M events at a fixed rate while `lakecdp ingest stream`
   runs; freshness of each event = ops.stream_batches.committed_at - bronze.events.received_at.
Every load goes to the loopback interface only and stops after a fixed count or time cap.
Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from rich.console import Console
from rich.table import Table

from benchmarks.loadgen import batch_bodies, closed_loop, free_port, open_loop, single_bodies
from lakecdp.cli.servers import start_collector, stop_server
from lakecdp.kernel.config import load_config

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
WRITE_KEY = "bench-write-key"
console = Console()


def _env(root: Path, port: int) -> dict[str, str]:
    return {
        "LAKECDP_LAKEHOUSE_ROOT": str(root),
        "LAKECDP_COLLECTOR_PORT": str(port),
        "LAKECDP_WRITE_KEYS": f"{WRITE_KEY}=web",
    }


def capacity(root: Path, port: int, batch_requests: int, track_requests: int) -> dict:
    env = _env(root, port)
    os.environ.update(env)
    config = load_config(REPO / "lakecdp.yaml")
    collector = start_collector(config, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        batch = asyncio.run(
            closed_loop(
                f"{base}/v1/batch",
                WRITE_KEY,
                batch_bodies(50),
                requests=batch_requests,
                concurrency=16,
                max_seconds=120,
            )
        )
        track = asyncio.run(
            closed_loop(
                f"{base}/v1/track",
                WRITE_KEY,
                single_bodies(),
                requests=track_requests,
                concurrency=16,
                max_seconds=120,
            )
        )
    finally:
        stop_server(collector)
    return {"batch_50": batch.summary(), "track_1": track.summary()}


def _logged(checkpoint: Path, log: str) -> int:
    folder = checkpoint / log
    return len(list(folder.glob("[0-9]*"))) if folder.exists() else 0


def freshness(root: Path, port: int, events: int, rate: float, trigger: float, warmup: int) -> dict:
    env = {**_env(root, port), "LAKECDP_STREAM_TRIGGER_SECONDS": str(trigger)}
    os.environ.update(env)
    config = load_config(REPO / "lakecdp.yaml")
    Path(config.events_landing).mkdir(parents=True, exist_ok=True)
    stream = subprocess.Popen(
        [sys.executable, "-m", "lakecdp.cli", "ingest", "stream"],
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = Path(config.checkpoint_path("bronze_events"))
    collector = start_collector(config, port, env)
    batch_size = 50
    try:
        deadline = time.monotonic() + 180
        while not (checkpoint / "metadata").exists():
            # The query writes its checkpoint metadata when it starts watching the landing zone.
            if stream.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stream did not start")
            time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/v1/batch"
        # Warm-up: a long-running stream pays JIT compilation and first-commit costs once;
        # these events are reported apart ("cold") from the measured load ("steady").
        asyncio.run(
            open_loop(
                url,
                WRITE_KEY,
                batch_bodies(batch_size, "warmup"),
                requests=warmup // batch_size,
                rate_per_s=rate / batch_size,
                max_seconds=warmup / rate * 3,
            )
        )
        load = asyncio.run(
            open_loop(
                url,
                WRITE_KEY,
                batch_bodies(batch_size, "measured"),
                requests=events // batch_size,
                rate_per_s=rate / batch_size,
                max_seconds=events / rate * 3,
            )
        )
        stop_server(collector)
        sealed = len(list(Path(config.events_landing).glob("*.jsonl")))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            planned, done = _logged(checkpoint, "offsets"), _logged(checkpoint, "commits")
            if planned == done and _files_read(checkpoint) >= sealed:
                break
            time.sleep(1)
    finally:
        if collector.poll() is None:
            stop_server(collector)
        os.killpg(stream.pid, signal.SIGTERM)
        stream.wait(timeout=120)

    from pyspark.sql import functions as F

    from lakecdp.kernel.spark import get_spark

    spark = get_spark(config, "bench-ingest")
    bronze = spark.read.format("delta").load(config.table_path("bronze", "events"))
    batches = spark.read.format("delta").load(config.table_path("ops", "stream_batches"))
    lag = bronze.join(
        batches.select(F.col("run_id").alias("_batch_id"), "committed_at"), "_batch_id"
    ).withColumn(
        "phase", F.when(F.col("message_id").startswith("warmup"), "cold").otherwise("steady")
    )
    seconds = F.unix_micros("committed_at") / 1e6 - F.unix_micros("received_at") / 1e6
    by_phase = {
        row.phase: row
        for row in lag.groupBy("phase")
        .agg(
            F.count("*").alias("rows"),
            F.percentile_approx(seconds, 0.5, 10000).alias("p50"),
            F.percentile_approx(seconds, 0.95, 10000).alias("p95"),
            F.max(seconds).alias("max"),
        )
        .collect()
    }
    stats, cold = by_phase["steady"], by_phase.get("cold")
    batch_stats = batches.agg(F.count("*").alias("n"), F.avg("accepted").alias("avg")).collect()[0]
    return {
        "load": load.summary(),
        "target_rate_events_per_s": rate,
        "bronze_rows": stats.rows,  # measured events in bronze (warm-up excluded)
        "bronze_distinct_message_ids": bronze.select("message_id").distinct().count(),
        "freshness_p50_s": round(stats.p50, 2),
        "freshness_p95_s": round(stats.p95, 2),
        "freshness_max_s": round(stats.max, 2),
        "warmup_events": warmup,
        "cold_freshness_p50_s": round(cold.p50, 2) if cold else None,
        "cold_freshness_p95_s": round(cold.p95, 2) if cold else None,
        "micro_batches": batch_stats.n,
        "avg_events_per_batch": round(batch_stats.avg or 0, 1),
        "trigger_seconds": trigger,
    }


def _files_read(checkpoint: Path) -> int:
    """Files the stream's source has planned, from the file source's metadata log."""
    folder = checkpoint / "sources" / "0"
    count = 0
    if folder.exists():
        for log in folder.glob("[0-9]*"):
            count += sum(1 for line in log.read_text().splitlines() if line.startswith("{"))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the freshness run")
    parser.add_argument("--rate", type=float, default=5000, help="events/s in the freshness run")
    parser.add_argument("--trigger", type=float, default=5.0, help="micro-batch interval (s)")
    parser.add_argument("--batch-requests", type=int, default=4000)
    parser.add_argument("--track-requests", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=50_000, help="events sent before measuring")
    parser.add_argument("--skip-freshness", action="store_true")
    args = parser.parse_args()
    uvloop.install()

    work = Path(tempfile.mkdtemp(prefix="lakecdp-bench-"))
    try:
        console.print("[bold]collector capacity[/bold] (closed loop, 16 connections)")
        cap = capacity(work / "capacity", free_port(), args.batch_requests, args.track_requests)
        fresh = None
        if not args.skip_freshness:
            console.print(f"[bold]freshness[/bold]: {args.events:,} events at {args.rate:,.0f}/s")
            fresh = freshness(
                work / "freshness", free_port(), args.events, args.rate, args.trigger, args.warmup
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "benchmark": "ingest",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "capacity": cap,
        "freshness": fresh,
        "targets": {"events_per_s": 5000, "p99_ms": 50, "freshness_p95_s": 30},
    }
    table = Table(title="bench-ingest")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    b, t = cap["batch_50"], cap["track_1"]
    table.add_row("/v1/batch (50/req) events/s", f"{b['events_per_s']:,.0f}", ">= 5,000")
    table.add_row("/v1/batch p50 / p99 ms", f"{b['p50_ms']} / {b['p99_ms']}", "p99 <= 50")
    table.add_row("/v1/track events/s", f"{t['events_per_s']:,.0f}", "")
    table.add_row("/v1/track p50 / p99 ms", f"{t['p50_ms']} / {t['p99_ms']}", "p99 <= 50")
    if fresh:
        lo = fresh["load"]
        table.add_row(
            "open-loop events sent / accepted", f"{lo['events']:,} / {fresh['bronze_rows']:,}", ""
        )
        table.add_row(
            "open-loop achieved events/s", f"{lo['events_per_s']:,.0f}", f"{args.rate:,.0f}"
        )
        table.add_row("open-loop p50 / p99 ms", f"{lo['p50_ms']} / {lo['p99_ms']}", "p99 <= 50")
        table.add_row(
            "freshness p50 / p95 s (steady)",
            f"{fresh['freshness_p50_s']} / {fresh['freshness_p95_s']}",
            "p95 <= 30",
        )
        table.add_row(
            f"freshness p50 / p95 s (cold: first {fresh['warmup_events']:,})",
            f"{fresh['cold_freshness_p50_s']} / {fresh['cold_freshness_p95_s']}",
            "",
        )
        table.add_row(
            "micro-batches (avg events)",
            f"{fresh['micro_batches']} ({fresh['avg_events_per_batch']:,.0f})",
            "",
        )
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for name in (f"ingest-{stamp}.json", "ingest-latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2))
    console.print(f"written to {RESULTS / f'ingest-{stamp}.json'}")


if __name__ == "__main__":
    main()
