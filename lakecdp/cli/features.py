"""`lakecdp features`: feature tables, Feast definitions and the online store."""

from __future__ import annotations

from typing import Annotated

import typer

from lakecdp.cli._app import AsOfOption, _config
from lakecdp.cli.render import console

app = typer.Typer(no_args_is_help=True, help="Feast features (feature_repo/).")


@app.command("build")
def features_build(as_of: AsOfOption = None) -> None:
    """Feature tables from gold and silver: snapshots, activity, identifier lookup."""
    from lakecdp.kernel.delta import TableMissing
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.features.job import FeatureInputMissing, build_feature_tables

    cfg = _config()
    try:
        built = build_feature_tables(get_spark(cfg, "lakecdp-features"), cfg, as_of)
    except (FeatureInputMissing, TableMissing) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"features as of {built.as_of:%Y-%m-%d %H:%M}: {built.rows}")


@app.command("apply")
def features_apply() -> None:
    """Register the feature repository's definitions for this lakehouse."""
    from lakecdp.decisioning.feature_store import apply_definitions

    store = apply_definitions(_config())
    console.print(f"applied {len(store.list_feature_views())} feature views to {store.repo_path}")


@app.command("materialize")
def features_materialize() -> None:
    """Copy what changed since the last run into the online store (incremental)."""
    from lakecdp.decisioning.feature_store import materialize
    from lakecdp.kernel.spark import get_spark

    cfg = _config()
    done = materialize(get_spark(cfg, "lakecdp-materialize"), cfg)
    console.print(f"materialized {', '.join(done.views)} up to {done.end:%Y-%m-%d %H:%M} UTC")


@app.command("push")
def features_push(
    available_now: Annotated[
        bool, typer.Option("--available-now", help="Push what is in bronze, then stop.")
    ] = False,
    trigger_seconds: Annotated[float | None, typer.Option(min=0.1)] = None,
) -> None:
    """Micro-batch: new bronze.events -> customers' recent activity -> the online store."""
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.features.activity_push import run_activity_push

    cfg = _config()
    stats = run_activity_push(
        get_spark(cfg, "lakecdp-push"),
        cfg,
        available_now=available_now,
        trigger_seconds=trigger_seconds,
    )
    if stats.waiting_for:
        console.print(f"nothing pushed: {stats.waiting_for} does not exist yet (events kept)")
        return
    console.print(f"pushed activity of {stats.customers:,} customers in {stats.batches} batches")
