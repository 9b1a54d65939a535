"""The backtest on a transaction log it has never seen, through the CLI: every method scored
out of fold, bad rows dropped and counted, a missing column named."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakecdp.cli import app
from ml.backtest import METHODS
from tests.feature_repo.gold_world import AS_OF, order_history

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backtest") / "orders.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Customer ID", "InvoiceDate", "Price", "Country"])
        for customer, at, amount in order_history(1200, seed=11):
            writer.writerow([customer, at.strftime("%m/%d/%Y %H:%M"), f"{amount:.2f}", "SG"])
        writer.writerow(["", "01/02/2026 10:00", "3.0", "SG"])  # no customer
        writer.writerow(["c-x", "not a date", "3.0", "SG"])  # bad time
    return path


def test_backtest_scores_every_method_out_of_fold(spark, transactions: Path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.json"
    cutoff = (AS_OF - timedelta(days=40)).date().isoformat()
    result = CliRunner().invoke(
        app,
        [
            "model",
            "backtest",
            "--transactions",
            str(transactions),
            "--customer-column",
            "Customer ID",
            "--time-column",
            "InvoiceDate",
            "--amount-column",
            "Price",
            "--time-format",
            "MM/dd/yyyy HH:mm",
            "--cutoff",
            cutoff,
            "--horizon-days",
            "30",
            "--folds",
            "3",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["input"]["missing_customer"] == 1 and report["input"]["unparsable_time"] == 1
    assert set(report["methods"]) == set(METHODS)
    assert report["customers"] > 500
    for method, metrics in report["methods"].items():
        assert 0.5 < metrics["auc"] <= 1, method
        assert 0 < metrics["brier"] < 0.3, method
    best = report["methods"][report["best_model"]]["auc"]
    assert best > report["methods"]["frequency"]["auc"]  # more than one number helps
    assert report["bg_nbd_undefined"] == 0
    assert "bg_nbd" in result.output


def test_backtest_names_a_missing_column(spark, transactions: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        app,
        [
            "model",
            "backtest",
            "--transactions",
            str(transactions),
            "--customer-column",
            "CustomerID",
            "--time-column",
            "InvoiceDate",
            "--cutoff",
            "2026-09-01",
        ],
    )
    assert result.exit_code == 2
    assert "no column 'CustomerID'" in result.output
