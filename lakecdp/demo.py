"""`make demo`: the platform end to end on embedded defaults, on a small synthetic world.

generate -> collector (real HTTP on loopback) -> batch ingestion -> micro-batch (available now)
-> identity stitching -> quality report against the generator's ground truth -> dbt build of
the unified profiles -> a sample profile and audience sizes -> features (Feast), a trained and
promoted propensity model (MLflow), the decision endpoint and five decisions; a quality gate
after each stage stops the demo if a check fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from lakecdp.config import ProjectConfig


def start_cli_server(
    config: ProjectConfig,
    command: list[str],
    health_url: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.Popen[bytes]:
    """Start `lakecdp <command>` in a child process and wait until `health_url` answers 200.

    The child is handed this process's resolved configuration (JSON is YAML), so overrides made
    here reach it unchanged.
    """
    resolved = Path(tempfile.mkdtemp(prefix="lakecdp-server-")) / "lakecdp.json"
    resolved.write_text(json.dumps(config.model_dump(mode="json")))
    process = subprocess.Popen(
        [sys.executable, "-m", "lakecdp.cli", "--config", str(resolved), *command],
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`lakecdp {' '.join(command)}` exited with {process.returncode}")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"`lakecdp {' '.join(command)}` did not answer {health_url} in {timeout} s")


def start_collector(
    config: ProjectConfig, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`lakecdp collect serve` in a child process, once /health answers."""
    return start_cli_server(
        config,
        ["collect", "serve", "--port", str(port)],
        f"http://{config.collector.host}:{port}/health",
        env,
        timeout=30,
    )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets a server finish: the collector seals its open landing segments, the decision
    endpoint its decision log."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def run_demo(
    config: ProjectConfig, *, customers: int, seed: int, console: Console, profiles: bool = True
) -> dict:
    """Run every layer; `profiles=False` stops after identity (benchmarks time dbt apart)."""
    from lakecdp.cli import default_world_dir
    from lakecdp.collector.sender import send_files
    from lakecdp.generate import generate_world
    from lakecdp.progress import progress_bar
    from lakecdp.report import print_lakehouse_summary

    timings: dict[str, float] = {}
    world = default_world_dir(config)

    def step(name: str, started: float) -> None:
        timings[name] = round(time.monotonic() - started, 1)
        console.print(f"[green]✓[/green] {name} ({timings[name]} s)")

    console.rule("lakecdp demo")
    t = time.monotonic()
    with progress_bar(f"generating {customers:,} customers", customers) as advance:
        world_summary = generate_world(
            config, world, customers, seed=seed, end=date(2026, 11, 1), progress=advance
        )
    step("generate synthetic world", t)

    t = time.monotonic()
    port = config.collector.port
    collector = start_collector(config, port)
    try:
        event_files = sorted((world / "events").glob("*.jsonl"))
        total = _count_lines(event_files)
        with progress_bar("sending events over HTTP", total) as advance:
            sent = [0]

            def on_sent(messages: int) -> None:
                sent[0] += messages
                advance(sent[0], total)

            stats = send_files(
                event_files,
                f"http://{config.collector.host}:{port}",
                {source: key for key, source in config.collector.write_keys.items()},
                concurrency=4,
                progress=on_sent,
                historical=True,
            )
    finally:
        stop_server(collector)
    step("send events through the collector", t)
    console.print(
        f"collector accepted {stats.accepted:,} events, refused {stats.rejected:,} "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(stats.rejected_by_reason.items()))})"
    )

    from lakecdp.spark import get_spark
    from spark_jobs.ingest.batch import run_batch_ingest
    from spark_jobs.ingest.stream import StreamOptions, run_streams

    t = time.monotonic()
    spark = get_spark(config, "lakecdp-demo")
    step("start Spark", t)
    t = time.monotonic()
    run_batch_ingest(spark, config)
    step("batch-ingest file sources", t)
    t = time.monotonic()
    run_streams(spark, config, StreamOptions(available_now=True))
    step("micro-batch events (available now)", t)

    summary = print_lakehouse_summary(spark, config, console)

    from expectations.gates import run_gate

    t = time.monotonic()
    run_gate(spark, config, "bronze")
    step("quality gate: bronze", t)

    from lakecdp.cli import print_identity_report, print_identity_run
    from spark_jobs.identity.job import run_identity
    from spark_jobs.identity.quality import identity_report

    t = time.monotonic()
    identity = run_identity(spark, config, full=True)
    step("stitch identities (deterministic + probabilistic)", t)
    print_identity_run(identity.mode, identity.run_id, identity.stats)
    t = time.monotonic()
    report = identity_report(spark, config, world / "ground_truth")
    step("score identities against ground truth", t)
    print_identity_report(report)
    (Path(config.lakehouse.root) / "identity-report.json").write_text(
        json.dumps(report, indent=2, default=str)
    )
    t = time.monotonic()
    run_gate(spark, config, "identity")
    step("quality gate: identity", t)
    profile_summary = _build_profiles(spark, config, console, step) if profiles else {}
    decisioning = {}
    if profiles:
        from lakecdp.decision_demo import run_decisioning

        decisioning = run_decisioning(spark, config, console, step)
    timing_table = Table(title="Time taken")
    timing_table.add_column("step")
    timing_table.add_column("seconds", justify="right")
    for name, seconds in timings.items():
        timing_table.add_row(name, f"{seconds}")
    timing_table.add_row("total", f"{sum(timings.values()):.1f}")
    console.print(timing_table)
    result = {
        "timings": timings,
        "world": {"customers": customers, "seed": seed, "events_generated": world_summary.events},
        "collector": {"accepted": stats.accepted, "refused": stats.rejected_by_reason},
        "identity": {"run": identity.stats, "report": report},
        "profiles": profile_summary,
        "decisioning": decisioning,
        **summary,
    }
    out = Path(config.lakehouse.root) / "demo-summary.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    console.print(
        f"summary written to {out}; ground truth for later layers in {world / 'ground_truth'}"
    )
    return result


def _build_profiles(spark: Any, config: ProjectConfig, console: Console, step: Any) -> dict:
    """dbt build (the generated world ends in the past: windows end at its newest event), the
    gold gate, then one unified profile, the audience sizes and how to query them in SQL."""
    from expectations.gates import data_docs_dir, run_gate
    from lakecdp.dbt_runner import run_dbt
    from lakecdp.profile_report import audience_sizes, print_profile, sample_profile

    t = time.monotonic()
    build = run_dbt(config, ["build"], as_of="latest", spark=spark)
    step(f"dbt build ({len(build.nodes)} models, snapshots and tests)", t)
    t = time.monotonic()
    run_gate(spark, config, "gold")
    step("quality gate: gold", t)
    profile = sample_profile(spark, config)
    if profile:
        print_profile(profile, config, console)
    sizes = audience_sizes(spark, config)
    table = Table(title="Audiences")
    table.add_column("audience")
    table.add_column("people", justify="right")
    for name, size in sizes.items():
        table.add_row(name, f"{size:,}")
    console.print(table)
    console.print(
        f"quality reports: {data_docs_dir(config)}\n"
        "query the profiles in SQL: `make sql`, then "
        f"`beeline -u jdbc:hive2://localhost:{config.sql.port}` or any JDBC/ODBC client, "
        "e.g. select * from gold.dim_customers limit 10"
    )
    return {
        "dbt_nodes": len(build.nodes),
        "dbt_seconds": round(build.seconds, 1),
        "sample_profile": profile,
        "audiences": sizes,
    }


def _count_lines(files: list[Path]) -> int:
    total = 0
    for file in files:
        with file.open("rb") as handle:
            total += sum(1 for _ in handle)
    return total
