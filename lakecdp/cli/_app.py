"""The root `lakecdp` app: global options and the configuration every command loads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakecdp.cli.render import console
from lakecdp.kernel.config import ConfigError, ProjectConfig, load_config

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="`lakecdp`: one command line for every step. Make targets and Airflow tasks call these.",
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Project configuration (lakecdp.yaml).")
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="now, latest (newest event or order) or an ISO time."),
]


class _State:
    """Global options, set by `main` before any command runs."""

    config_path: Path | None = None
    verbose: bool = False
    command: str = "lakecdp"
    log_started: bool = False


def _config() -> ProjectConfig:
    """The project configuration; a bad one exits 2. Starts the run log on first use."""
    try:
        config = load_config(_State.config_path)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not _State.log_started:
        from lakecdp.kernel import run_log

        run_log.start(config.lakehouse.root, _State.command, verbose=_State.verbose)
        _State.log_started = True
    return config


@app.callback()
def main(
    ctx: typer.Context,
    config: ConfigOption = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Spark, dbt and library logs on the console, not in a file."
        ),
    ] = False,
) -> None:
    _State.config_path = config
    _State.verbose = verbose
    _State.command = ctx.invoked_subcommand or "lakecdp"
