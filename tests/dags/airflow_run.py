"""Airflow itself, for tests: its CLI by its installed path with a metadata database (SQLite)
in a temp folder, the project's DAG folder, and the task states a run left behind."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from lakecdp.kernel.config import ProjectConfig
from tests.conftest import CONFIG_FILE, REPO

DAGS = REPO / "dags"


class AirflowHome:
    """One AIRFLOW_HOME whose tasks' `lakecdp` work on `lake`'s lakehouse."""

    def __init__(self, home: Path, lake: ProjectConfig, **lakecdp_env: str) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "PYTHONPATH": str(DAGS),
            "LAKECDP_CONFIG": str(CONFIG_FILE),
            "LAKECDP_LAKEHOUSE_ROOT": lake.lakehouse.root,
            "LAKECDP__SPARK__SHUFFLE_PARTITIONS": "2",
            **lakecdp_env,
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        airflow = str(Path(sys.executable).parent / "airflow")
        return subprocess.run(
            [airflow, *args], env=self.env, capture_output=True, text=True, timeout=900, check=False
        )

    def migrate(self) -> None:
        done = self("db", "migrate")
        assert done.returncode == 0, done.stderr[-2000:]

    def task_states(self, dag_id: str) -> dict[str, tuple[str, int]]:
        """task id -> (state, try number) of the DAG's last run."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            run_id = db.execute(
                "select run_id from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)
            ).fetchone()[0]
            rows = db.execute(
                "select task_id, state, try_number from task_instance "
                "where dag_id = ? and run_id = ?",
                (dag_id, run_id),
            ).fetchall()
        return {task: (state, tries) for task, state, tries in rows}
