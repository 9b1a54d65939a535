"""What every lakecdp DAG shares: how a task calls the `lakecdp` command, the pool that keeps
Spark jobs apart, retry rules, and the Assets that chain DAGs. Kept out of DAG parsing by
`.airflowignore`; Airflow puts `dags/` on the import path, so the DAG files import it.

Nothing here does work at import time beyond reading environment variables and building
operator objects: no Spark, no database, no network.
"""

from __future__ import annotations

import os
import shlex
import sys
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Asset

if TYPE_CHECKING:
    from lakecdp.kernel.config import ProjectConfig

PROJECT = Path(__file__).resolve().parents[2]
# The installed `lakecdp` beside the Python that runs Airflow (the project's environment), by
# its full path: task processes have a bare PATH. LAKECDP_BIN overrides it.
LAKECDP = os.environ.get("LAKECDP_BIN") or str(Path(sys.executable).parent / "lakecdp")
CONFIG = os.environ.get("LAKECDP_CONFIG") or str(PROJECT / "lakecdp.yaml")


GOLD = Asset("lakecdp://gold", extra={"what": "gold models rebuilt by dbt and gated"})
FEATURES = Asset("lakecdp://features", extra={"what": "feature tables and online store"})

OWNER = "lakecdp"


def default_args(**overrides: Any) -> dict[str, Any]:
    """Every DAG's task defaults: jobs retry (`airflow.task_retries`, 2 by default) with
    exponential delay; `lakecdp_task` sets quality gates to no retry."""
    return {
        "owner": OWNER,
        "retries": project_config().airflow.task_retries,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=15),
        "execution_timeout": timedelta(hours=1),
        **overrides,
    }


@cache
def project_config() -> ProjectConfig:
    """lakecdp.yaml with its environment overrides: the syncs and the Spark pool. Reading it
    is the only work a DAG file does when parsed (no Spark, no database, no network); one that
    does not validate makes the DAG file fail to import with the configuration's message."""
    from lakecdp.kernel.config import load_config

    return load_config(CONFIG)


def lakecdp_task(
    task_id: str,
    command: str,
    *,
    spark: bool = True,
    gate: bool = False,
    timeout: timedelta = timedelta(hours=1),
    **kwargs: Any,
) -> BashOperator:
    """A task that runs one `lakecdp` command and nothing else. Quality gates are not retried
    (a failed expectation does not pass on retry); Spark jobs share the Spark pool."""
    if gate:
        kwargs.setdefault("retries", 0)
    if spark:
        # Every Spark task runs in this pool (`lakecdp airflow setup` creates it, one slot per
        # Spark driver the machine holds): a task in a pool that does not exist never runs.
        kwargs.setdefault("pool", project_config().airflow.spark_pool)
    return BashOperator(
        task_id=task_id,
        bash_command=f"{shlex.quote(LAKECDP)} {command}",
        env={"LAKECDP_CONFIG": CONFIG},
        append_env=True,
        execution_timeout=timeout,
        doc_md=f"`lakecdp {command}`",
        **kwargs,
    )


def syncs_after_gold() -> list[str]:
    """The syncs lakecdp.yaml schedules after the gold build."""
    from lakecdp.kernel.config import AFTER_GOLD

    syncs = project_config().syncs
    return sorted(name for name, sync in syncs.items() if sync.schedule == AFTER_GOLD)


def models_the_platform_trains() -> list[str]:
    """The registered models `lakecdp model train` fits (models.registered, platform_trains)."""
    models = project_config().models.registered
    return [name for name, model in models.items() if model.platform_trains]


def syncs_on_a_cron() -> dict[str, str]:
    """Sync name -> cron expression, for the syncs lakecdp.yaml schedules on their own."""
    from lakecdp.kernel.config import AFTER_GOLD

    syncs = project_config().syncs
    return {n: s.schedule for n, s in sorted(syncs.items()) if s.schedule != AFTER_GOLD}
