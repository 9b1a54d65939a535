"""`lakecdp gate STAGE`: a summary table on success, exit 1 and the failures named otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakecdp.cli import app
from tests.conftest import CONFIG_FILE
from tests.expectations.lake_tables import write_id_map

pytestmark = pytest.mark.spark
runner = CliRunner()


@pytest.fixture
def cli_lake(spark, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The CLI on a temp lakehouse, sharing the test session instead of building its own."""
    from lakecdp.kernel.config import load_config

    root = tmp_path / "lakehouse"
    monkeypatch.setenv("LAKECDP_LAKEHOUSE_ROOT", str(root))
    monkeypatch.setattr("lakecdp.kernel.spark.get_spark", lambda config, app_name=None: spark)
    return load_config(CONFIG_FILE)


def test_gate_prints_a_summary_and_the_data_docs_path(spark, cli_lake) -> None:  # type: ignore[no-untyped-def]
    write_id_map(spark, cli_lake, [("email", "ann@example.com", "cus_a")])

    result = runner.invoke(app, ["--config", str(CONFIG_FILE), "gate", "identity"])

    assert result.exit_code == 0, result.output
    assert "quality gate identity: passed" in result.output
    assert "silver.id_map" in result.output
    docs = Path(cli_lake.lakehouse.root) / "quality" / "data_docs" / "index.html"
    assert f"data docs: {docs}" in result.output
    assert docs.is_file()


def test_gate_exits_1_naming_the_failed_expectation(spark, cli_lake) -> None:  # type: ignore[no-untyped-def]
    write_id_map(spark, cli_lake, [("email", "ann@example.com", "cus_a"), ("email", "x@y.z", None)])

    result = runner.invoke(app, ["--config", str(CONFIG_FILE), "gate", "identity"])

    assert result.exit_code == 1
    assert "quality gate 'identity' failed" in result.output
    assert "silver.id_map.customer_id: expect_column_values_to_not_be_null" in result.output


def test_unknown_stage_exits_2(spark, cli_lake) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["--config", str(CONFIG_FILE), "gate", "platinum"])
    assert result.exit_code == 2
    assert "bronze, identity, gold" in result.output
