"""`lakecdp model`: train and promote propensity models; backtest on any transaction log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from lakecdp.cli._app import AsOfOption, _config
from lakecdp.cli.render import console, print_backtest, print_training

app = typer.Typer(no_args_is_help=True, help="Purchase-propensity models in MLflow (ml/).")


@app.command("train")
def model_train(as_of: AsOfOption = None) -> None:
    """Train, log and register the models; promote the best if it beats the champion."""
    from lakecdp.kernel.spark import get_spark
    from ml.train import train_from_lakehouse
    from ml.training_set import NotEnoughHistory

    cfg = _config()
    try:
        result = train_from_lakehouse(get_spark(cfg, "lakecdp-train"), cfg, as_of)
    except NotEnoughHistory as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print_training(result)


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
