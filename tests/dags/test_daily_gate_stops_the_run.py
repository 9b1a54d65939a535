"""`lakecdp_daily` run by Airflow itself (`airflow dags test`, its own metadata database in a
temp folder) on a lakehouse whose bronze table is bad: the bronze gate fails, is not retried,
and every task after it ends upstream_failed; nothing downstream is written."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lakecdp.kernel.config import ProjectConfig
from tests.conftest import CONFIG_FILE, REPO
from tests.expectations.lake_tables import write_crm

pytestmark = pytest.mark.spark

DAGS = REPO / "dags"
AFTER_GATE = (
    "identity_run",
    "identity_gate",
    "dbt_build",
    "gold_gate",
    "feature_tables",
    "materialize",
)


def _airflow(home: Path, lake: ProjectConfig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "PYTHONPATH": str(DAGS),
        # What the tasks' `lakecdp` reads: this test's lakehouse, the test settings.
        "LAKECDP_CONFIG": str(CONFIG_FILE),
        "LAKECDP_LAKEHOUSE_ROOT": lake.lakehouse.root,
        "LAKECDP__SPARK__SHUFFLE_PARTITIONS": "2",
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    return subprocess.run(
        [airflow, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_a_failed_bronze_gate_stops_every_later_task_and_writes_nothing_downstream(
    spark, lake: ProjectConfig, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # A source table that lost a declared column: downstream models would read nulls.
    row = {"contact_id": "C1", "updated_at": "2026-10-01 10:00:00", "country": "SG"}
    write_crm(spark, lake, [{**row, "email": "a@example.com", "mobile": "91234567"}], ["email"])
    home = tmp_path / "airflow"
    migrated = _airflow(home, lake, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-2000:]

    run = _airflow(home, lake, "dags", "test", "lakecdp_daily", "2026-12-01")
    assert run.returncode != 0  # the run failed

    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(
            db.execute("select task_id, state from task_instance where dag_id = 'lakecdp_daily'")
        )
        tries = db.execute(
            "select try_number from task_instance where task_id = 'bronze_gate'"
        ).fetchone()
    assert states["ingest_batch"] == "success"
    assert states["bronze_gate"] == "failed" and tries == (1,)  # a gate is not retried
    assert {states.get(t) for t in AFTER_GATE} == {"upstream_failed"}
    for layer in ("silver", "gold"):  # identity, dbt and features never ran
        assert not (Path(lake.lakehouse.tables_root) / layer).exists()
