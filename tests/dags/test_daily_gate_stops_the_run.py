"""`lakecdp_daily` run by Airflow itself (`airflow dags test`, its own metadata database in a
temp folder) on a lakehouse whose bronze table is bad: the bronze gate fails, is not retried,
and every task after it ends upstream_failed; nothing downstream is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakecdp.cli.dag_runs import DagRunFailed, LocalAirflow
from lakecdp.kernel.config import ProjectConfig
from tests.dags.daily import DAILY_TASKS
from tests.expectations.lake_tables import write_crm

pytestmark = pytest.mark.spark

AFTER_GATE = DAILY_TASKS[DAILY_TASKS.index("bronze_gate") + 1 :]


def test_a_failed_bronze_gate_stops_every_later_task_and_writes_nothing_downstream(
    spark, lake: ProjectConfig, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # A source table that lost a declared column: downstream models would read nulls.
    row = {"contact_id": "C1", "updated_at": "2026-10-01 10:00:00", "country": "SG"}
    write_crm(spark, lake, [{**row, "email": "a@example.com", "mobile": "91234567"}], ["email"])
    airflow = LocalAirflow(lake, tmp_path / "airflow", tmp_path / "logs")

    with pytest.raises(DagRunFailed) as failed:
        # Ingestion has its own tests; here bronze is written above, so the run starts at the gate.
        airflow.run("lakecdp_daily", "2026-12-01", mark_success="^ingest_batch$")
    assert failed.value.run.state == "failed"

    states = failed.value.run.states()
    assert states["ingest_batch"][0] == "success"
    assert states["bronze_gate"] == ("failed", 1)  # a gate is not retried
    assert {states[t][0] for t in AFTER_GATE} == {"upstream_failed"}
    for layer in ("silver", "gold"):  # identity, dbt and features never ran
        assert not (Path(lake.lakehouse.tables_root) / layer).exists()
