"""DAG runs without a running Airflow: `airflow dags test` on the project's DAG folder, with a
metadata database of its own (SQLite in a folder of the caller's choice), and what each run
left there: its state, and every task's state, tries and duration.

`make demo` runs the platform this way (its lakehouse holds its Airflow home, so two demos never
share a history), and so do the DAG tests. A team's Airflow runs the same DAG files against its
scheduler: `lakecdp airflow` and docs/orchestration.md.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from lakecdp.cli.airflow import AirflowCommandFailed, airflow_bin, set_up
from lakecdp.kernel.config import ProjectConfig, config_as_json


@dataclass(frozen=True)
class TaskRun:
    task_id: str
    state: str
    tries: int
    seconds: float


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    wall_seconds: float
    tasks: tuple[TaskRun, ...]
    log_file: Path

    @property
    def task_seconds(self) -> float:
        return sum(t.seconds for t in self.tasks)

    @property
    def overhead_seconds(self) -> float:
        """What Airflow itself took: `dags test` runs the tasks one after another, so its wall
        time less the tasks' own durations is start-up, parsing and bookkeeping."""
        return max(self.wall_seconds - self.task_seconds, 0.0)

    def states(self) -> dict[str, tuple[str, int]]:
        return {t.task_id: (t.state, t.tries) for t in self.tasks}


class DagRunFailed(RuntimeError):
    """A DAG run ended failed; names the tasks that did not succeed and the run's log."""

    def __init__(self, run: DagRun) -> None:
        self.run = run
        bad = ", ".join(f"{t.task_id} {t.state}" for t in run.tasks if t.state != "success")
        super().__init__(f"DAG run {run.dag_id} {run.state}: {bad}; its log: {run.log_file}")


class LocalAirflow:
    """One Airflow home (SQLite metadata database) whose tasks' `lakecdp` commands run with
    `config`, as resolved in this process: overrides made here reach every task unchanged."""

    def __init__(
        self, config: ProjectConfig, home: Path, logs: Path, *, task_retries: int | None = None
    ) -> None:
        self.home, self.logs = home, logs
        home.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        settings = config.airflow.model_copy(
            update={
                "home": str(home),
                "metadata_db": SecretStr(f"sqlite:///{home}/airflow.db"),
                "task_retries": config.airflow.task_retries
                if task_retries is None
                else task_retries,
            }
        )
        self.config = config.model_copy(update={"airflow": settings})
        # What the DAG files and every task read (it holds secrets, as lakecdp.yaml's
        # environment does: readable by this user only).
        self.config_file = home / "lakecdp.json"
        self.config_file.write_text(config_as_json(self.config))
        self.config_file.chmod(0o600)
        self.env: dict[str, str] | None = None

    def set_up(self) -> None:
        """Migrate the metadata database and create the Spark pool."""
        self.env = set_up(self.config, self.config_file)

    def run(
        self,
        dag_id: str,
        logical_date: str,
        *,
        conf: dict[str, object] | None = None,
        mark_success: str | None = None,
    ) -> DagRun:
        """`airflow dags test DAG_ID LOGICAL_DATE` (tasks matching the `mark_success` pattern are
        marked done without running); raises DagRunFailed unless the run succeeded."""
        if self.env is None:
            self.set_up()
        assert self.env is not None
        log_file = self.logs / f"airflow-{dag_id}.log"
        args = [airflow_bin(), "dags", "test", dag_id, logical_date]
        if conf:
            args += ["--conf", json.dumps(conf)]
        if mark_success:
            args += ["--mark-success-pattern", mark_success]
        started = time.monotonic()
        with log_file.open("ab") as log:
            done = subprocess.run(
                args, env=self.env, stdout=log, stderr=subprocess.STDOUT, check=False
            )
        wall = time.monotonic() - started
        run = self.last_run(dag_id, wall, log_file)
        if run is None:
            raise AirflowCommandFailed(
                f"`airflow dags test {dag_id}` exited {done.returncode} without a run; "
                f"its log: {log_file}"
            )
        if run.state != "success":
            raise DagRunFailed(run)
        return run

    def last_run(
        self, dag_id: str, wall: float = 0.0, log_file: Path | None = None
    ) -> DagRun | None:
        """The newest run of `dag_id` in this home's metadata database, with its tasks."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            found = db.execute(
                "select run_id, state from dag_run where dag_id = ? order by id desc limit 1",
                (dag_id,),
            ).fetchone()
            if found is None:
                return None
            run_id, state = found
            rows = db.execute(
                "select task_id, state, try_number, coalesce(duration, 0) from task_instance "
                "where dag_id = ? and run_id = ? order by start_date is null, start_date, task_id",
                (dag_id, run_id),
            ).fetchall()
        tasks = tuple(
            TaskRun(task, str(s or "none"), int(tries or 0), round(float(d), 1))
            for task, s, tries, d in rows
        )
        return DagRun(dag_id, run_id, str(state), round(wall, 1), tasks, log_file or self.logs)
