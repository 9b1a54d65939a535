"""`lakecdp`: one command line for every step. Make targets and Airflow tasks call these."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lakecdp.config import ConfigError, ProjectConfig, load_config

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
collect_app = typer.Typer(no_args_is_help=True, help="Segment-compatible event collector.")
ingest_app = typer.Typer(no_args_is_help=True, help="Bronze ingestion (batch and micro-batch).")
app.add_typer(collect_app, name="collect")
app.add_typer(ingest_app, name="ingest")
console = Console()

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Project configuration (lakecdp.yaml).")
]


class _State:
    config_path: Path | None = None


def _config() -> ProjectConfig:
    try:
        return load_config(_State.config_path)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.callback()
def main(config: ConfigOption = None) -> None:
    _State.config_path = config


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="People in the world.")] = 5000,
    seed: Annotated[int, typer.Option(help="Same seed, same world.")] = 7,
    end: Annotated[str, typer.Option(help="Last day of activity (YYYY-MM-DD).")] = "2026-11-01",
    days: Annotated[int, typer.Option(min=1, help="Days of history.")] = 90,
    world: Annotated[Path | None, typer.Option(help="Where events and ground truth go.")] = None,
) -> None:
    """Generate a synthetic APAC world: sources into landing; events and truth kept apart."""
    from lakecdp.generate import generate_world
    from lakecdp.progress import progress_bar

    cfg = _config()
    target = world or default_world_dir(cfg)
    with progress_bar("generating customers", customers) as advance:
        summary = generate_world(
            cfg,
            target,
            customers,
            seed=seed,
            end=date.fromisoformat(end),
            days=days,
            progress=advance,
        )
    table = Table(title=f"world of {summary.customers:,} customers (seed {seed})")
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("events (lines)", f"{summary.events:,}")
    for name, rows in summary.rows.items():
        table.add_row(f"source {name}", f"{rows:,}")
    for kind, count in sorted(summary.noise.items()):
        table.add_row(f"noise: {kind}", f"{count:,}")
    console.print(table)
    console.print(f"events and ground truth in {target}; summary in {summary.paths['summary']}")


def default_world_dir(cfg: ProjectConfig) -> Path:
    return Path(cfg.lakehouse.root) / "world"


@collect_app.command("serve")
def collect_serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the HTTP collector (Segment Tracking API) on the configured host and port."""
    from lakecdp.collector.app import serve

    cfg = _config()
    console.print(
        f"collector listening on http://{host or cfg.collector.host}:{port or cfg.collector.port}"
    )
    serve(cfg, host, port)


@collect_app.command("send")
def collect_send(
    files: Annotated[list[Path], typer.Argument(help="JSONL files or folders of them.")],
    url: Annotated[str | None, typer.Option(help="Collector base URL.")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
) -> None:
    """Send JSONL Segment messages to a collector over HTTP, batched and retried."""
    from lakecdp.collector.sender import send_files

    cfg = _config()
    paths = expand_jsonl(files)
    stats = send_files(
        paths,
        url or f"http://{cfg.collector.host}:{cfg.collector.port}",
        {source: key for key, source in cfg.collector.write_keys.items()},
        concurrency=concurrency,
    )
    console.print(stats)
    if stats.failed_requests:
        raise typer.Exit(1)


def expand_jsonl(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    return out


@ingest_app.command("batch")
def ingest_batch(
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these.")] = None,
) -> None:
    """Ingest new files of every declared source into bronze; rerunning is a no-op."""
    from lakecdp.spark import get_spark
    from spark_jobs.ingest.batch import run_batch_ingest

    cfg = _config()
    started = time.monotonic()
    spark = get_spark(cfg, "lakecdp-ingest-batch")
    try:
        results = run_batch_ingest(spark, cfg, source)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    for result in results:
        console.print(result)
    console.print(f"batch ingestion took {time.monotonic() - started:.1f}s")


@ingest_app.command("stream")
def ingest_stream(
    available_now: Annotated[
        bool, typer.Option("--available-now", help="Process what has landed, then stop.")
    ] = False,
    trigger_seconds: Annotated[float | None, typer.Option(help="Micro-batch interval.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Micro-batch the collector's landing zone into bronze.events (exactly once)."""
    from lakecdp.spark import get_spark
    from spark_jobs.ingest.stream import StreamOptions, run_streams

    cfg = _config()
    spark = get_spark(cfg, "lakecdp-ingest-stream")
    run_streams(spark, cfg, StreamOptions(available_now, trigger_seconds, timeout))


@app.command()
def status() -> None:
    """Rows per lakehouse table and quarantined records by reason."""
    from lakecdp.report import print_lakehouse_summary
    from lakecdp.spark import get_spark

    cfg = _config()
    print_lakehouse_summary(get_spark(cfg, "lakecdp-status"), cfg, console)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=100)] = 5000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """End to end on embedded defaults: generate, collect over HTTP, ingest, summarize."""
    from lakecdp.demo import run_demo

    run_demo(_config(), customers=customers, seed=seed, console=console)


if __name__ == "__main__":
    app()
