"""`lakecdp sync`: audiences to destinations (reverse ETL): plan, run, status, history."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lakecdp.cli._app import _config
from lakecdp.cli.render import console, print_sync_counts
from lakecdp.kernel.config import ProjectConfig

app = typer.Typer(no_args_is_help=True, help="Reverse-ETL syncs of audiences to destinations.")

NameArgument = Annotated[str, typer.Argument(help="A sync declared under syncs: in lakecdp.yaml.")]


def _known(name: str) -> None:
    cfg = _config()
    if name not in cfg.syncs:
        known = ", ".join(sorted(cfg.syncs)) or "none declared"
        console.print(f"[red]no sync {name!r} in the configuration (syncs: {known})[/red]")
        raise typer.Exit(2)


@app.command("plan")
def sync_plan(
    name: NameArgument,
    sample: Annotated[int, typer.Option(help="Changes to show (keys and operations).")] = 10,
) -> None:
    """What a run would insert, update and delete; sends nothing, writes nothing."""
    from lakecdp.kernel.delta import Lakehouse
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.activation.plan import SyncPlanError, plan_sync
    from spark_jobs.activation.run import check_guards

    _known(name)
    cfg = _config()
    spark = get_spark(cfg, "lakecdp-sync-plan")
    try:
        plan = plan_sync(spark, cfg, name)
    except SyncPlanError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print_sync_counts(f"plan of {name}", plan.counts)
    if sample and plan.total:
        table = Table(title=f"sample of {min(sample, plan.total)} changes")
        for column in ("op", "key", "why"):
            table.add_column(column)
        for row in plan.changes.select("op", "key", "why").limit(sample).collect():
            table.add_row(row.op, row.key, row.why)
        console.print(table)
    refusal = check_guards(Lakehouse(spark, cfg), name, plan)
    if refusal:
        console.print(f"[yellow]a run would be refused: {refusal}[/yellow]")


@app.command("run")
def sync_run(
    name: Annotated[str | None, typer.Argument(help="The sync to run (or --all).")] = None,
    all_syncs: Annotated[bool, typer.Option("--all", help="Run every declared sync.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Run although a guard refuses (recorded).")
    ] = False,
    due_at: Annotated[
        str | None,
        typer.Option(
            "--due-at",
            help="An ISO time: run only if the sync's cron schedule fires then, else exit 99 "
            "(a scheduler's 'skipped'). Syncs scheduled after_gold are always due.",
        ),
    ] = None,
) -> None:
    """Plan and apply: send the changes, record what the destination accepted."""
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.activation.plan import SyncPlanError
    from spark_jobs.activation.run import SyncAlert, SyncRefused, run_sync

    cfg = _config()
    if all_syncs == (name is not None):
        console.print("[red]name one sync, or --all[/red]")
        raise typer.Exit(2)
    names = sorted(cfg.syncs) if all_syncs else [name]  # type: ignore[list-item]
    for n in names:
        _known(n)  # type: ignore[arg-type]
    if due_at is not None:
        names = _due(cfg, names, due_at)  # type: ignore[arg-type]
    spark = get_spark(cfg, "lakecdp-sync")
    failed: list[str] = []
    for n in names:
        try:
            result = run_sync(spark, cfg, n, force=force)  # type: ignore[arg-type]
        except (SyncRefused, SyncAlert, SyncPlanError) as exc:
            console.print(f"[red]{exc}[/red]")
            failed.append(n)  # type: ignore[arg-type]
            continue
        print_sync_counts(f"sync {n}: run {result.run_id} {result.status}", result.counts)
        if result.message:
            console.print(f"[yellow]{result.message}[/yellow]")
    if failed:
        raise typer.Exit(1)


def _due(cfg: ProjectConfig, names: list[str], due_at: str) -> list[str]:
    """The syncs of `names` due at `due_at`; exits NOT_DUE_EXIT when none is."""
    from datetime import datetime

    from lakecdp.activation.schedule import NOT_DUE_EXIT, is_due
    from lakecdp.kernel.config import AFTER_GOLD

    try:
        at = datetime.fromisoformat(due_at)
    except ValueError:
        console.print(f"[red]--due-at {due_at!r} is not an ISO time[/red]")
        raise typer.Exit(2) from None
    due = [
        n for n in names if cfg.syncs[n].schedule == AFTER_GOLD or is_due(cfg.syncs[n].schedule, at)
    ]
    if not due:
        console.print(f"not due at {at.isoformat()}: {', '.join(names)}")
        raise typer.Exit(NOT_DUE_EXIT)
    return due


@app.command("status")
def sync_status() -> None:
    """The last run of every sync."""
    from lakecdp.kernel.delta import Lakehouse
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.activation.plan import last_runs

    cfg = _config()
    last = last_runs(Lakehouse(get_spark(cfg, "lakecdp-sync-status"), cfg))
    table = Table(title="syncs")
    for column in (
        "sync",
        "destination",
        "mode",
        "schedule",
        "last run",
        "status",
        "sent",
        "accepted",
        "rejected",
        "failed",
    ):
        table.add_column(column)
    for n, sync in sorted(cfg.syncs.items()):
        r = last.get(n)
        table.add_row(
            n,
            sync.destination,
            sync.mode,
            sync.schedule,
            *(
                (
                    f"{r.finished_at:%Y-%m-%d %H:%M:%S}",  # type: ignore[attr-defined]
                    r.status,  # type: ignore[attr-defined]
                    *(f"{getattr(r, k):,}" for k in ("sent", "accepted", "rejected", "failed")),
                )
                if r is not None
                else ("never", "", "", "", "", "")
            ),
        )
    console.print(table)


@app.command("history")
def sync_history(
    name: NameArgument,
    limit: Annotated[int, typer.Option(help="Runs to show, newest first.")] = 10,
    rows: Annotated[
        str | None, typer.Option("--run", help="A run id: show its row outcomes instead.")
    ] = None,
) -> None:
    """Runs of a sync with their counts; with --run, each row's outcome in that run."""
    from pyspark.sql import functions as F

    from lakecdp.kernel.delta import Lakehouse
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.activation.plan import CHANGELOG, REJECTIONS, RUNS

    _known(name)
    cfg = _config()
    lake = Lakehouse(get_spark(cfg, "lakecdp-sync-history"), cfg)
    if rows is not None:
        log = lake.table(*CHANGELOG)
        if not log.exists():
            console.print("no rows recorded yet")
            return
        outcomes = log.read().where((F.col("sync") == name) & (F.col("run_id") == rows))
        rejected = lake.table(*REJECTIONS)
        if rejected.exists():
            reasons = rejected.read().where(F.col("run_id") == rows).select("key", "reason")
            outcomes = outcomes.join(reasons, "key", "left")
        else:
            outcomes = outcomes.withColumn("reason", F.lit(None).cast("string"))
        table = Table(title=f"rows of run {rows} (first {limit})")
        for column in ("key", "op", "status", "http", "error", "attempts", "reason"):
            table.add_column(column)
        for r in outcomes.orderBy("key").limit(limit).collect():
            table.add_row(
                r.key,
                r.op,
                r.status,
                str(r.http_status or ""),
                r.error_class or "",
                str(r.attempts),
                r.reason or "",
            )
        console.print(table)
        return
    runs = lake.table(*RUNS)
    if not runs.exists():
        console.print("no runs yet")
        return
    table = Table(title=f"runs of {name}")
    columns = (
        "run_id",
        "finished_at",
        "status",
        "planned_inserts",
        "planned_updates",
        "planned_deletes",
        "sent",
        "accepted",
        "rejected",
        "failed",
        "duration_seconds",
    )
    for column in columns:
        table.add_column(column.replace("_", " "))
    history = runs.read().where(F.col("sync") == name).orderBy(F.desc("finished_at")).limit(limit)
    for r in history.collect():
        table.add_row(*(str(r[c]) for c in columns))
    console.print(table)


@app.command("receiver")
def sync_receiver(
    destination: Annotated[
        str, typer.Option(help="An http destination: the receiver serves its URL's port.")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the reference receiver of our HTTP wire format (docs/activation.md) for an http
    destination: its signature is checked with the destination's signing secret."""
    from urllib.parse import urlsplit

    from lakecdp.activation.receiver import ReceiverSettings, serve_receiver
    from lakecdp.kernel.config import HttpDestination

    cfg = _config()
    spec = cfg.destinations.get(destination)
    if not isinstance(spec, HttpDestination):
        http = ", ".join(n for n, d in cfg.destinations.items() if d.type == "http") or "none"
        console.print(f"[red]{destination!r} is not an http destination (http: {http})[/red]")
        raise typer.Exit(2)
    secret = spec.signing_secret.get_secret_value() if spec.signing_secret else None
    auth = spec.auth_header.get_secret_value() if spec.auth_header else None
    port = urlsplit(spec.url).port or 80
    console.print(f"receiver for {destination} on http://{host}:{port}")
    serve_receiver(ReceiverSettings(signing_secret=secret, authorization=auth), host, port)
