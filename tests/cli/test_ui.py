"""`lakecdp ui mlflow`: the real MLflow server on loopback, on a lakehouse that has no MLflow
store yet; it must open the project's store (the file training writes) and stop with us."""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from lakecdp.cli.servers import start_cli_server, stop_server
from tests.conftest import free_port, make_config


def test_mlflow_ui_opens_the_project_store_on_a_fresh_lakehouse(tmp_path: Path) -> None:
    config = make_config(tmp_path / "lakehouse")
    database = Path(config.mlflow_tracking_uri.removeprefix("sqlite:///"))
    assert not database.parent.exists()
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    server = start_cli_server(
        config,
        ["ui", "mlflow", "--port", str(port)],
        f"{url}/health",
        log_file=tmp_path / "ui.log",
        timeout=120,
    )
    try:
        created = httpx.post(
            f"{url}/ajax-api/2.0/mlflow/experiments/create", json={"name": "byo-model"}, timeout=10
        )
        listed = httpx.get(
            f"{url}/ajax-api/2.0/mlflow/experiments/search",
            params={"max_results": 10},
            timeout=10,
        )
    finally:
        stop_server(server)

    assert created.status_code == 200, created.text
    assert listed.status_code == 200, listed.text
    locations = {e["name"]: e["artifact_location"] for e in listed.json()["experiments"]}
    assert set(locations) == {"Default", "byo-model"}
    assert all(path.startswith(config.mlflow_artifact_root) for path in locations.values())
    # The experiment is in the lakehouse's own database, where `lakecdp model train` logs.
    with closing(sqlite3.connect(database)) as db:
        names = {name for (name,) in db.execute("select name from experiments")}
    assert "byo-model" in names
    # Stopping `lakecdp` stopped MLflow's server too: nothing listens on the port any more.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


def test_mlflow_ui_names_a_port_in_use(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lakecdp.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "lakecdp.yaml"
        config.write_text((Path(__file__).parents[2] / "lakecdp.yaml").read_text())

        result = CliRunner().invoke(
            app, ["--config", str(config), "ui", "mlflow", "--port", str(port)]
        )

    assert result.exit_code == 1
    assert f"127.0.0.1:{port} is in use" in result.output
    assert not (tmp_path / ".lakehouse" / "mlflow").exists()
