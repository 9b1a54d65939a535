"""Every DAG in dags/ as Airflow parses it (a fresh process, no metadata database): imports
cleanly, follows the house rules, and does no work at import time."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.dags.daily import DAILY_TASKS

DAGS = REPO / "dags"
EXPECTED = {
    "lakecdp_daily",
    "lakecdp_microbatch",
    "lakecdp_training",
    "lakecdp_audience_syncs",
    "lakecdp_scheduled_syncs",
    "lakecdp_privacy",
}
GATES = {"bronze_gate", "identity_gate", "gold_gate", "drift_check"}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        # A database that cannot exist: parsing must not need one.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/missing/never.db",
        "PYTHONPATH": str(DAGS),
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("describe_dags.py")), str(DAGS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_dag_imports_and_its_id_is_its_file_name(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert set(parsed["dags"]) == EXPECTED
    assert sorted(p.stem for p in DAGS.glob("*.py")) == sorted(EXPECTED)
    for dag_id, dag in parsed["dags"].items():
        assert dag["file"] == dag_id


def test_every_dag_has_an_owner_tags_docs_and_one_run_at_a_time(parsed: dict[str, Any]) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert dag["owner"] == "lakecdp", dag_id
        assert "lakecdp" in dag["tags"] and len(dag["tags"]) >= 2, dag_id
        assert dag["doc_md"], dag_id
        assert dag["catchup"] is False and dag["max_active_runs"] == 1, dag_id
        assert dag["start_date"].startswith("2026-01-01"), dag_id  # static


def test_jobs_retry_with_backoff_gates_do_not_and_every_task_is_bounded_and_pooled(
    parsed: dict[str, Any],
) -> None:
    for dag in parsed["dags"].values():
        for task_id, task in dag["tasks"].items():
            if task_id in GATES:
                assert task["retries"] == 0, task_id
            else:
                assert task["retries"] >= 2 and task["exponential"], task_id
            assert task["timeout"] and task["timeout"] > 0, task_id
            assert task["pool"] == "lakecdp_spark", task_id
            # One lakecdp command, by its installed path, and nothing else.
            command = task["command"]
            assert command.split()[0].endswith("/lakecdp") and Path(command.split()[0]).exists()
            assert not any(sep in command for sep in ("&&", ";", "|")), command


def test_the_daily_dag_gates_each_stage_before_the_next_and_emits_gold_and_features(
    parsed: dict[str, Any],
) -> None:
    tasks = parsed["dags"]["lakecdp_daily"]["tasks"]
    order = DAILY_TASKS
    assert set(tasks) == set(order)
    for before, after in itertools.pairwise(order):
        assert tasks[after]["upstream"] == [before]
    assert [o.rstrip("/") for o in tasks["gold_gate"]["outlets"]] == ["lakecdp://gold"]
    assert [o.rstrip("/") for o in tasks["materialize"]["outlets"]] == ["lakecdp://features"]
    assert "--as-of" in tasks["dbt_build"]["command"]


def test_every_declared_sync_has_one_task_after_gold_or_on_its_cron(
    parsed: dict[str, Any],
) -> None:
    from lakecdp.kernel.config import AFTER_GOLD, load_config

    syncs = load_config(REPO / "lakecdp.yaml").syncs
    after_gold = {n for n, s in syncs.items() if s.schedule == AFTER_GOLD}
    on_cron = set(syncs) - after_gold
    assert after_gold and on_cron  # the project declares both kinds
    gold_tasks = parsed["dags"]["lakecdp_audience_syncs"]["tasks"]
    cron_tasks = parsed["dags"]["lakecdp_scheduled_syncs"]["tasks"]
    assert set(gold_tasks) == {f"sync_{n}" for n in after_gold}
    assert set(cron_tasks) == {f"sync_{n}" for n in on_cron}
    for name in after_gold:
        assert gold_tasks[f"sync_{name}"]["command"].endswith(f"sync run {name}")
    for name in on_cron:
        assert f"sync run {name} --due-at " in cron_tasks[f"sync_{name}"]["command"]
        assert cron_tasks[f"sync_{name}"]["skip_on_exit_code"] == [99]
    for task in (*gold_tasks.values(), *cron_tasks.values()):
        assert task["upstream"] == []  # a failing sync fails its own task only


def test_parsing_the_dags_does_no_work(parsed: dict[str, Any]) -> None:
    # No Spark, dbt, Feast, MLflow or Great Expectations is imported to parse a DAG file.
    assert parsed["heavy_modules"] == []


def test_training_trains_then_gates_each_model_then_checks_drift(parsed: dict[str, Any]) -> None:
    tasks = parsed["dags"]["lakecdp_training"]["tasks"]
    promotions = {f"promote_{name}" for name in ("purchase_propensity", "churn_risk")}
    assert set(tasks) == {"train", "drift_check", *promotions}
    assert "--no-gate" in tasks["train"]["command"]
    for task_id in promotions:
        assert tasks[task_id]["upstream"] == ["train"]
        assert "--version challenger --rejection-ok" in tasks[task_id]["command"]
    assert sorted(tasks["drift_check"]["upstream"]) == sorted(promotions)
