"""`lakecdp ingest`: file sources, the collector's landing zone and decision logs into bronze."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console

app = typer.Typer(no_args_is_help=True, help="Bronze ingestion (batch and micro-batch).")


@app.command("batch")
def ingest_batch(
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these.")] = None,
) -> None:
    """Ingest new files of every declared source into bronze; rerunning is a no-op."""
    from lakecdp.kernel.spark import get_spark
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


@app.command("stream")
def ingest_stream(
    available_now: Annotated[
        bool, typer.Option("--available-now", help="Process what has landed, then stop.")
    ] = False,
    trigger_seconds: Annotated[float | None, typer.Option(help="Micro-batch interval.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Micro-batch the collector's landing zone into bronze.events (exactly once)."""
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.ingest.stream import StreamOptions, run_streams

    cfg = _config()
    spark = get_spark(cfg, "lakecdp-ingest-stream")
    run_streams(spark, cfg, StreamOptions(available_now, trigger_seconds, timeout))


@app.command("decisions")
def ingest_decisions_command() -> None:
    """Sealed decision-log segments into bronze.decisions (merged on decision_id)."""
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.ingest.decisions import ingest_decisions

    cfg = _config()
    counts = ingest_decisions(get_spark(cfg, "lakecdp-ingest-decisions"), cfg)
    console.print(
        f"bronze.decisions: {counts['decisions']:,} new; quarantined {counts['quarantined']:,}"
    )
