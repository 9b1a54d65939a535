"""Run dbt inside the platform's Spark session.

dbt-spark's `session` method picks up the process's active SparkSession, so dbt gets exactly
the Delta, catalog and lakehouse settings every job gets (`lakecdp.kernel.spark.get_spark`), and
the project configuration reaches the models as vars: identifier priorities, consent purposes
and channels, survivorship rules, reporting currency, the as-of time and where tables live.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakecdp.kernel.config import PROFILE_TRAITS, ProjectConfig

REPO_DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
SESSION_LOGGERS = ("org.apache.spark.sql.SparkSession", "org.apache.spark.sql.classic.SparkSession")


class DbtFailed(RuntimeError):
    """dbt reported a failed model, test or snapshot; the message names each one."""


@dataclass
class DbtNodeResult:
    name: str
    resource_type: str
    status: str
    seconds: float
    message: str | None
    rows_affected: int | None = None


@dataclass
class DbtRun:
    command: list[str]
    success: bool
    seconds: float
    nodes: list[DbtNodeResult] = field(default_factory=list)

    def failures(self) -> list[DbtNodeResult]:
        return [n for n in self.nodes if n.status in {"error", "fail", "runtime error"}]

    def failure_message(self) -> str:
        lines = [f"dbt {' '.join(self.command)} failed:"]
        for node in self.failures():
            lines.append(f"  {node.resource_type} {node.name}: {node.status}: {node.message}")
        if len(lines) == 1:
            lines.append("  dbt stopped before running any node (see the dbt log above)")
        return "\n".join(lines)


def project_dir(config: ProjectConfig) -> Path:
    return (
        Path(config.profiles.dbt_project_dir) if config.profiles.dbt_project_dir else REPO_DBT_DIR
    )


def trait_sources(config: ProjectConfig) -> dict[str, dict[str, Any]]:
    """The sources that feed the unified profile (`sources.<name>.profile`), as
    int_customer_traits_unioned loops over them: staging model, record id and time columns,
    and the profile traits it provides (each a column of that name in the model)."""
    return {
        name: {
            "model": source.profile.model,
            "record_id": source.record_id,
            "observed_at": source.profile.observed_at,
            "traits": source.profile_traits,
        }
        for name, source in config.sources.items()
        if source.profile is not None
    }


def dbt_vars(config: ProjectConfig, as_of: str | None = None) -> dict[str, Any]:
    """The project configuration, in the shape the dbt models read."""
    profiles = config.profiles
    return {
        "tables_root": config.lakehouse.tables_root,
        "reporting_currency": profiles.reporting_currency,
        "as_of": as_of or profiles.as_of,
        "identifier_priorities": {
            name: spec.priority for name, spec in config.identifier_types.items()
        },
        "consent_purposes": list(config.consent.purposes),
        "consent_channels": list(config.consent.channels),
        "profile_traits": list(PROFILE_TRAITS),
        "survivorship": {trait: profiles.rule_for(trait).model_dump() for trait in PROFILE_TRAITS},
        "default_survivorship": profiles.default_survivorship.model_dump(),
        # Bronze keeps exactly the declared columns of each source: staging hashes them to
        # tell a whole-row copy (same file, same values) from a new version.
        "bronze_columns": {
            name: source.declared_columns for name, source in config.sources.items()
        },
        "trait_sources": trait_sources(config),
    }


def _quiet_session_reuse(spark: Any) -> None:
    """dbt asks for the session on every statement; Spark warns each time it hands it back."""
    jvm = spark.sparkContext._jvm
    for logger in (
        "org.apache.spark.sql.SparkSession",
        "org.apache.spark.sql.classic.SparkSession",
    ):
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
            logger, jvm.org.apache.logging.log4j.Level.ERROR
        )


def _progress_callback(progress: Callable[[int, int], None]) -> Callable[[Any], None]:
    """A dbt event callback that reports (finished nodes, total nodes) as nodes finish."""
    seen = {"total": 0, "done": 0}

    def on_event(event: Any) -> None:
        name = event.info.name
        if name == "LogStartLine" and not seen["total"]:
            seen["total"] = int(event.data.total)
            progress(0, seen["total"])
        elif name == "NodeFinished" and seen["total"]:
            seen["done"] += 1
            progress(seen["done"], seen["total"])

    return on_event


def _log_args() -> list[str]:
    """dbt's own output: its file log beside the command's log, the console quiet (errors
    only) unless the command runs verbose."""
    from lakecdp.kernel import run_log

    log = run_log.current()
    if log.path is None:
        return []
    return ["--log-path", str(log.path.parent), "--quiet", "--no-use-colors-file"]


# Spark settings for dbt's statements only, restored afterwards. Constraint propagation infers
# predicates from every column of every projection; on the customer snapshot's staging query
# (27 checked columns, an outer join and a wide OR) it ran out of driver heap while planning.
# dbt's SQL gains nothing from it; the jobs keep it.
DBT_SESSION_CONF = {"spark.sql.constraintPropagation.enabled": "false"}


@contextmanager
def _session_conf(spark: Any, settings: dict[str, str]) -> Iterator[None]:
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def run_dbt(
    config: ProjectConfig,
    args: list[str],
    as_of: str | None = None,
    spark: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> DbtRun:
    """Run one dbt command (`build`, `run -s ...`, `docs generate`, ...) in-process.

    `progress(done, total)` follows the nodes as they finish. Raises DbtFailed when dbt reports
    a failure, with every failing node named.
    """
    from dbt.cli.main import dbtRunner

    from lakecdp.kernel.spark import get_spark, register_catalog

    if spark is None:
        spark = get_spark(config, app_name="lakecdp-dbt")
    else:
        register_catalog(spark, config)
    _quiet_session_reuse(spark)
    folder = project_dir(config)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    command = [
        *args,
        *_log_args(),
        "--project-dir",
        str(folder),
        "--profiles-dir",
        str(folder),
        "--vars",
        json.dumps(dbt_vars(config, as_of)),
    ]
    started = time.monotonic()
    callbacks = [_progress_callback(progress)] if progress else []
    with _session_conf(spark, DBT_SESSION_CONF):
        outcome = dbtRunner(callbacks=callbacks).invoke(command)
    run = DbtRun(command=args, success=outcome.success, seconds=time.monotonic() - started)
    results = getattr(outcome.result, "results", None) or []
    for result in results:
        node = getattr(result, "node", None)
        adapter = getattr(result, "adapter_response", None) or {}
        run.nodes.append(
            DbtNodeResult(
                name=getattr(node, "name", "?"),
                resource_type=str(getattr(node, "resource_type", "?")),
                status=str(result.status),
                seconds=float(getattr(result, "execution_time", 0.0) or 0.0),
                message=getattr(result, "message", None),
                rows_affected=adapter.get("rows_affected") if isinstance(adapter, dict) else None,
            )
        )
    if outcome.exception is not None:
        raise DbtFailed(f"dbt {' '.join(args)} could not run: {outcome.exception}")
    if not outcome.success:
        raise DbtFailed(run.failure_message())
    return run
