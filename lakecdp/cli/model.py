"""`lakecdp model`: train the platform's models; evaluate, promote and roll back any registered
version (a data scientist's own included) through the same gate; backtest on any log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from lakecdp.cli._app import AsOfOption, _config
from lakecdp.cli.render import (
    console,
    print_backtest,
    print_evaluation,
    print_monitoring,
    print_monitoring_history,
    print_promotion,
    print_training,
)

app = typer.Typer(no_args_is_help=True, help="Registered models in MLflow (ml/, docs/models.md).")

NameArgument = Annotated[str, typer.Argument(help="registered model name (models.registered)")]
VersionOption = Annotated[
    str, typer.Option("--version", "-v", help="version number, or an alias such as challenger")
]
REFUSED = 2  # exit code: the version cannot be judged (signature, files, no evaluation set)


@app.command("train")
def model_train(
    as_of: AsOfOption = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="only these models (default: all)")
    ] = None,
    gate: Annotated[
        bool,
        typer.Option(
            "--gate/--no-gate",
            help="apply the promotion gate to the best version (--no-gate: register and alias "
            "it challenger only, for `model promote` to judge)",
        ),
    ] = True,
) -> None:
    """Train, log and register the platform's models; alias the best challenger; gate it."""
    from lakecdp.kernel.spark import get_spark
    from ml.train import train_from_lakehouse

    cfg = _config()
    for name in model or []:
        _known(cfg, name)
    run = train_from_lakehouse(
        get_spark(cfg, "lakecdp-train"), cfg, as_of, models=model or None, gate=gate
    )
    for result in run.results:
        print_training(result)
    for name, why in run.skipped.items():
        console.print(f"[yellow]{name} not trained: {why}[/yellow]")
    if not run.results:
        raise typer.Exit(1)


def _known(cfg: object, name: str) -> None:
    try:
        cfg.models.model(name)  # type: ignore[attr-defined]
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(REFUSED) from None


@app.command("evaluate")
def model_evaluate(name: NameArgument, version: VersionOption) -> None:
    """Score a version on the gate's held-out rows (AUC, PR-AUC, Brier, ECE) and log the
    evidence to its run; nothing moves."""
    from ml.candidates import ModelRefused
    from ml.evaluation_set import NoEvaluationSet
    from ml.promotion import evaluate

    cfg = _config()
    _known(cfg, name)
    try:
        result = evaluate(cfg, name, version)
    except (ModelRefused, NoEvaluationSet) as exc:
        console.print(f"[red]refused: {exc}[/red]")
        raise typer.Exit(REFUSED) from None
    print_evaluation(result)


@app.command("promote")
def model_promote(
    name: NameArgument,
    version: VersionOption,
    force: Annotated[
        str | None,
        typer.Option("--force", help="promote even if the gate says no; the reason is recorded"),
    ] = None,
    rejection_ok: Annotated[
        bool,
        typer.Option(
            "--rejection-ok",
            help="exit 0 when the gate keeps the champion or there is no such alias to judge "
            "(a scheduled run's normal outcomes)",
        ),
    ] = False,
) -> None:
    """Judge a version against the champion on the same held-out rows; move the `champion`
    alias only if it beats it on AUC and is no worse calibrated (exit 1 if not)."""
    from ml.candidates import ModelRefused, NoSuchVersion
    from ml.evaluation_set import NoEvaluationSet
    from ml.promotion import promote

    cfg = _config()
    _known(cfg, name)
    if force is not None and not force.strip():
        console.print("[red]--force needs a reason[/red]")
        raise typer.Exit(REFUSED)
    try:
        decision = promote(cfg, name, version, force_reason=force)
    except NoSuchVersion as exc:
        if rejection_ok and not version.isdigit():
            console.print(f"nothing to judge: {exc}")
            return
        console.print(f"[red]refused: {exc}[/red]")
        raise typer.Exit(REFUSED) from None
    except (ModelRefused, NoEvaluationSet) as exc:
        console.print(f"[red]refused: {exc}[/red]")
        raise typer.Exit(REFUSED) from None
    print_promotion(decision)
    if not decision.promoted and not rejection_ok:
        raise typer.Exit(1)


@app.command("rollback")
def model_rollback(
    name: NameArgument,
    reason: Annotated[str | None, typer.Option("--reason", help="recorded in the history")] = None,
) -> None:
    """Return the `champion` alias to the champion before the current one."""
    from ml.candidates import ModelRefused
    from ml.promotion import rollback

    cfg = _config()
    _known(cfg, name)
    try:
        done = rollback(cfg, name, reason)
    except ModelRefused as exc:
        console.print(f"[red]refused: {exc}[/red]")
        raise typer.Exit(REFUSED) from None
    console.print(f"{name}: champion v{done.from_version} -> v{done.to_version}")


DRIFTED = 3  # exit code: a champion's features or scores drifted past their bound


@app.command("monitor")
def model_monitor(
    as_of: AsOfOption = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="only these models (default: all)")
    ] = None,
) -> None:
    """Drift of each champion's features and scores against its training data (PSI), and
    calibration on outcomes, into ops.model_monitoring; exit 3 naming what drifted."""
    from lakecdp.kernel.spark import get_spark
    from ml.monitor import monitor_models
    from spark_jobs.features.job import resolve_as_of

    cfg = _config()
    for name in model or []:
        _known(cfg, name)
    spark = get_spark(cfg, "lakecdp-monitor")
    results = monitor_models(spark, cfg, resolve_as_of(spark, cfg, as_of), model or None)
    drifted = print_monitoring(results)
    if drifted:
        console.print(f"[red]drifted past their bound: {'; '.join(drifted)}[/red]")
        raise typer.Exit(DRIFTED)


@app.command("report")
def model_report(
    name: NameArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PNG; default <lakehouse>/reports/")
    ] = None,
) -> None:
    """A model's monitoring history: the newest drift and calibration, and a plot to open."""
    from lakecdp.kernel.spark import get_spark
    from ml.monitor import monitoring_history
    from ml.monitoring import CalibrationBin, plot_report

    cfg = _config()
    _known(cfg, name)
    history = monitoring_history(get_spark(cfg, "lakecdp-report"), cfg, name)
    if history.empty:
        console.print(f"{name}: not monitored yet (`lakecdp model monitor`)")
        raise typer.Exit(1)
    print_monitoring_history(name, history)
    calibrated = history[history["kind"] == "calibration"]
    bins = []
    if not calibrated.empty:
        import json

        bins = [CalibrationBin(**b) for b in json.loads(calibrated.iloc[-1]["detail"])]
    drift = history[history["kind"] != "calibration"].rename(columns={"as_of": "day"})
    path = output or Path(cfg.lakehouse.root) / "reports" / f"{name}-monitoring.png"
    plot_report(drift, bins, path, f"{name}: drift and calibration of the champion")
    console.print(f"plot: {path}")


@app.command("backtest")
def model_backtest(
    transactions: Annotated[Path, typer.Option("--transactions", help="CSV, one row an order.")],
    customer_column: Annotated[str, typer.Option("--customer-column")],
    time_column: Annotated[str, typer.Option("--time-column")],
    cutoff: Annotated[str, typer.Option(help="Features before, labels after (ISO date).")],
    amount_column: Annotated[str | None, typer.Option("--amount-column")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1)] = 30,
    folds: Annotated[int, typer.Option(min=2)] = 5,
    time_format: Annotated[
        str | None, typer.Option(help="Spark datetime pattern, e.g. 'M/d/yyyy H:mm'.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSON report.")] = None,
) -> None:
    """Repeat-purchase backtest on any transaction log: our models against recency,
    frequency and BG/NBD, k-fold on held-out customers (AUC, PR-AUC, Brier)."""
    import json

    from lakecdp.kernel.spark import get_spark
    from ml.backtest import BacktestInputError, TransactionColumns, run_backtest

    cfg = _config()
    if not transactions.exists():
        console.print(f"[red]no such file: {transactions}[/red]")
        raise typer.Exit(2)
    try:
        report = run_backtest(
            get_spark(cfg, "lakecdp-backtest"),
            str(transactions.resolve()),
            TransactionColumns(customer_column, time_column, amount_column, time_format),
            cutoff=datetime.fromisoformat(cutoff),
            horizon_days=horizon_days,
            folds=folds,
            seed=cfg.models.seed,
        )
    except BacktestInputError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print_backtest(report, cutoff, horizon_days, folds)
    if output:
        output.write_text(json.dumps(report, indent=2))
        console.print(f"written to {output}")
