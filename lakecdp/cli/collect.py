"""`lakecdp collect`: the Segment-compatible HTTP collector and a sender for JSONL files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console

app = typer.Typer(no_args_is_help=True, help="Segment-compatible event collector.")


@app.command("serve")
def collect_serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the HTTP collector (Segment Tracking API) on the configured host and port."""
    from lakecdp.signals.collector.app import serve

    cfg = _config()
    console.print(
        f"collector listening on http://{host or cfg.collector.host}:{port or cfg.collector.port}"
    )
    serve(cfg, host, port)


@app.command("send")
def collect_send(
    files: Annotated[list[Path], typer.Argument(help="JSONL files or folders of them.")],
    url: Annotated[str | None, typer.Option(help="Collector base URL.")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
    historical: Annotated[
        bool,
        typer.Option(
            "--historical/--live",
            help="Replaying recorded history: drop sentAt so events keep their own time.",
        ),
    ] = False,
) -> None:
    """Send JSONL Segment messages to a collector over HTTP, batched and retried."""
    from lakecdp.signals.collector.sender import send_files

    cfg = _config()
    paths = expand_jsonl(files)
    stats = send_files(
        paths,
        url or f"http://{cfg.collector.host}:{cfg.collector.port}",
        {source: key for key, source in cfg.collector.write_keys.items()},
        concurrency=concurrency,
        historical=historical,
    )
    console.print(stats)
    if stats.failed_requests:
        raise typer.Exit(1)


def expand_jsonl(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for its `*.jsonl` files, in name order."""
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    return out
