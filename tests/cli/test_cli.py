"""The command line: every step is reachable, bad configuration exits 2 with the key named."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakecdp.cli import app

runner = CliRunner()


def test_every_step_has_a_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("generate", "collect", "ingest", "status", "demo"):
        assert command in result.output
    ingest = runner.invoke(app, ["ingest", "--help"])
    assert "batch" in ingest.output and "stream" in ingest.output


def test_invalid_configuration_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "lakecdp.yaml"
    bad.write_text("collector:\n  port: seventy\n")
    result = runner.invoke(app, ["--config", str(bad), "ingest", "batch"])
    assert result.exit_code == 2
    assert "collector.port" in result.output


def test_generate_writes_a_world(tmp_path: Path) -> None:
    config = tmp_path / "lakecdp.yaml"
    config.write_text((Path(__file__).parents[2] / "lakecdp.yaml").read_text())
    result = runner.invoke(app, ["--config", str(config), "generate", "--customers", "50"])
    assert result.exit_code == 0, result.output
    world = tmp_path / ".lakehouse" / "world"
    assert any((world / "events").glob("*.jsonl"))
    assert any((tmp_path / ".lakehouse" / "landing" / "sources" / "crm").glob("*.csv"))


def test_generate_without_the_demo_extra_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The platform runs without the synthetic world's dependencies: as if Faker were absent.
    for name in [m for m in sys.modules if m.split(".")[0] == "synthetic_world"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "faker", None)
    config = tmp_path / "lakecdp.yaml"
    config.write_text((Path(__file__).parents[2] / "lakecdp.yaml").read_text())

    result = runner.invoke(app, ["--config", str(config), "generate", "--customers", "5"])

    assert result.exit_code == 1
    assert "needs the `demo` extra (faker is missing)" in result.output
    assert not (tmp_path / ".lakehouse" / "world").exists()
