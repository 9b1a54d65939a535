"""`lakecdp dbt ...`: dbt in the platform's Spark session; extra arguments go to dbt."""

from __future__ import annotations

from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console

app = typer.Typer()


@app.command(
    "dbt",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def dbt_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="End of audience and metric windows: now, latest or an ISO time."
        ),
    ] = None,
) -> None:
    """Run dbt (build, run, test, docs generate, ...) in the platform's Spark session.

    Example: `lakecdp dbt build`, `lakecdp dbt build --select marts.audiences`.
    """
    from lakecdp.signals.dbt_runner import DbtFailed, run_dbt

    if not ctx.args:
        console.print("[red]give a dbt command, e.g. `lakecdp dbt build`[/red]")
        raise typer.Exit(2)
    try:
        run = run_dbt(_config(), list(ctx.args), as_of=as_of)
    except DbtFailed as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"dbt {' '.join(ctx.args)}: {len(run.nodes)} nodes in {run.seconds:.0f} s")
