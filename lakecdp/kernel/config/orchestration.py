"""Orchestration: how the project's Airflow runs (`make airflow`) and what the DAGs share."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from lakecdp.kernel.config.paths import LocalPath
from lakecdp.kernel.config.section import Section


class AirflowConfig(Section):
    """The Airflow that `make airflow` starts (api-server, scheduler, dag-processor,
    triggerer) and the pool every Spark task of the DAGs runs in. A team with its own Airflow
    points it at `dags/` and creates the pool (docs/orchestration.md)."""

    home: LocalPath = Field(
        default=".airflow", validate_default=True, description="AIRFLOW_HOME: logs, config"
    )
    dags_folder: LocalPath = Field(
        default="dags", validate_default=True, description="the project's dags/ folder"
    )
    metadata_db: SecretStr = Field(
        default=SecretStr("postgresql+psycopg2://lakecdp:lakecdp@localhost:5432/lakecdp_airflow"),
        description="SQLAlchemy URL of Airflow's metadata database",
    )
    executor: Literal["LocalExecutor", "CeleryExecutor", "KubernetesExecutor"] = "LocalExecutor"
    api_host: str = "localhost"
    api_port: int = Field(default=8080, ge=1, le=65535)
    spark_pool: str = Field(default="lakecdp_spark", pattern=r"^[a-z][a-z0-9_]*$")
    spark_pool_slots: int = Field(
        default=1,
        ge=1,
        description="Spark tasks at once across every DAG: one local Spark driver per slot",
    )
    parallelism: int = Field(default=4, ge=1, description="task slots of the executor")
    task_retries: int = Field(
        default=2,
        ge=0,
        description="retries of every job task, with exponential delay (quality gates: none)",
    )
