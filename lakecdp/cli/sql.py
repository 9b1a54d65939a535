"""`lakecdp sql`: the HiveServer2 endpoint, its metastore, and SQL shells on the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console

app = typer.Typer(
    no_args_is_help=True, help="SQL access for analysts on the shared catalog (docs/catalog.md)."
)


@app.command("serve")
def sql_serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default sql.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default sql.port, 10000).")] = None,
) -> None:
    """HiveServer2 endpoint (JDBC jdbc:hive2://HOST:PORT) until Ctrl-C; new tables appear."""
    from lakecdp.signals.sql_server import SqlAccessError, serve

    try:
        serve(_config(), host, port, log=lambda line: console.print(line, markup=False))
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


@app.command("init-metastore")
def sql_init_metastore() -> None:
    """Create the Hive metastore schema in PostgreSQL once (skipped when it is there)."""
    from lakecdp.signals.sql_server import SqlAccessError, init_metastore, sql_config

    try:
        cfg = sql_config(_config())
        created = init_metastore(cfg)
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    state = "created" if created else "already there"
    console.print(f"metastore schema in {cfg.catalog.metastore_url}: {state}")


@app.command("shell")
def sql_shell(
    execute: Annotated[
        str | None, typer.Option("--execute", "-e", help="Run one query and exit.")
    ] = None,
) -> None:
    """`spark-sql` on the shared catalog (its own Spark driver; no server needed)."""
    import subprocess
    import tempfile

    from lakecdp.signals.sql_server import SqlAccessError, init_metastore, shell_command

    cfg = _config()
    try:
        init_metastore(cfg)
        with tempfile.TemporaryDirectory(prefix="lakecdp-sql-shell-") as workdir:
            code = subprocess.call(shell_command(cfg, Path(workdir), execute))
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command("beeline")
def sql_beeline(
    execute: Annotated[
        str | None, typer.Option("--execute", "-e", help="Run one query (CSV out) and exit.")
    ] = None,
    url: Annotated[str | None, typer.Option(help="JDBC URL (default from sql.*).")] = None,
) -> None:
    """Hive's beeline client (from pyspark's jars) connected to the SQL endpoint."""
    import subprocess

    from lakecdp.signals.sql_server import SqlAccessError, beeline_command

    try:
        command = beeline_command(_config(), url, execute)
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    raise typer.Exit(subprocess.call(command))
