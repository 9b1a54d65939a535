"""`lakecdp features`: feature tables, Feast definitions and the online store."""

from __future__ import annotations

from pathlib import Path
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


@app.command("training-set")
def features_training_set(
    output: Annotated[Path, typer.Option("--output", "-o", help="Parquet file (or .csv) to write")],
    model: Annotated[
        str | None,
        typer.Option("--model", help="a registered model: its service, label and horizon"),
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="a Feast feature service (the inputs)")
    ] = None,
    horizon_days: Annotated[
        int | None, typer.Option("--horizon-days", min=1, help="label window after the cutoff")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="purchase (default) or no_purchase")
    ] = None,
    as_of: AsOfOption = None,
) -> None:
    """The point-in-time training set the platform trains on (Feast historical join, labels,
    a `split` column: train the model on `train` rows only; `holdout` customers are the gate's).
    For a registered model's inputs and label it also refreshes that model's evaluation set."""
    from lakecdp.decisioning.feature_store import apply_definitions
    from lakecdp.kernel.config import ModelConfig
    from lakecdp.kernel.spark import get_spark
    from ml.training_set import NotEnoughHistory, build_training_set
    from spark_jobs.features.job import resolve_as_of

    cfg = _config()
    try:
        base = cfg.models.model(model or cfg.models.registered_model)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    if label not in (None, "purchase", "no_purchase"):
        console.print(f"[red]--label: {label!r} is not purchase or no_purchase[/red]")
        raise typer.Exit(2)
    spec = ModelConfig(
        feature_service=service or base.feature_service,
        label=label or base.label,  # type: ignore[arg-type]
        horizon_days=horizon_days or base.horizon_days,
    )
    spark = get_spark(cfg, "lakecdp-training-set")
    store = apply_definitions(cfg)
    if spec.feature_service not in {s.name for s in store.list_feature_services()}:
        known = ", ".join(sorted(s.name for s in store.list_feature_services()))
        console.print(f"[red]--service: no feature service {spec.feature_service!r} ({known})[/]")
        raise typer.Exit(2)
    try:
        at = resolve_as_of(spark, cfg, as_of)
        inputs_and_label = (spec.feature_service, spec.label, spec.horizon_days)
        same = model is not None and inputs_and_label == (
            base.feature_service,
            base.label,
            base.horizon_days,
        )
        training = build_training_set(spark, cfg, store, at, spec, model if same else None)
    except NotEnoughHistory as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".csv":
        training.frame.to_csv(output, index=False)
    else:
        training.frame.to_parquet(output, index=False)
    counts = training.frame.groupby("split")["label"].agg(["size", "sum"])
    parts = ", ".join(
        f"{s}: {int(r['size']):,} rows, {int(r['sum']):,} positive" for s, r in counts.iterrows()
    )
    console.print(
        f"{training.model} as of {training.as_of:%Y-%m-%d %H:%M}: {parts}; "
        f"features {', '.join(training.features)} -> {output}"
    )
    if training.evaluation is not None:
        console.print(f"gate's evaluation set: {training.evaluation.reference}")
    else:
        console.print("no registered model has these inputs and label: the gate's sets unchanged")
