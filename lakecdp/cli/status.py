"""`lakecdp status`: what is in the lakehouse."""

from __future__ import annotations

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console

app = typer.Typer()


@app.command()
def status() -> None:
    """Rows per lakehouse table and quarantined records by reason."""
    from lakecdp.cli.lakehouse_report import print_lakehouse_summary
    from lakecdp.kernel.spark import get_spark

    cfg = _config()
    print_lakehouse_summary(get_spark(cfg, "lakecdp-status"), cfg, console)
