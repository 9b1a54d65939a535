"""`lakecdp serve`: the decision endpoint (lakecdp/decisioning/endpoint.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console

app = typer.Typer()


@app.command("serve")
def serve_decisions(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """The decision endpoint: POST /v1/decide, /health, /metrics, /docs."""
    from lakecdp.decisioning.endpoint import serve

    cfg = _config()
    console.print(
        f"decisions on http://{host or cfg.decisioning.host}:{port or cfg.decisioning.port}"
    )
    serve(cfg, host, port)
