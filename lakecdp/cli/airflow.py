"""`lakecdp airflow`: the project's own Airflow (`make airflow`): set up, start, stop, status.

Airflow runs from the project's environment with LocalExecutor, its metadata database on the
project's PostgreSQL and the DAG folder `dags/`, configured from `lakecdp.yaml` (`airflow:`)
through Airflow's environment variables, so nothing is written into an airflow.cfg by hand. A
team that runs its own Airflow needs none of this: docs/orchestration.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from lakecdp.cli._app import _config, _State
from lakecdp.cli.render import console
from lakecdp.kernel.config import ProjectConfig, find_config_file

app = typer.Typer(no_args_is_help=True, help="The project's Airflow (`make airflow`).")

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
ADMIN = "admin"


def airflow_bin() -> str:
    """The `airflow` beside this Python (the project's environment), by its full path."""
    return str(Path(sys.executable).parent / "airflow")


def airflow_env(config: ProjectConfig, config_file: Path) -> dict[str, str]:
    """The environment every Airflow component and task runs with."""
    settings = config.airflow
    api = f"http://{settings.api_host}:{settings.api_port}"
    metadata = settings.metadata_db.get_secret_value()
    return {
        **os.environ,
        "AIRFLOW_HOME": settings.home,
        "AIRFLOW__CORE__DAGS_FOLDER": settings.dags_folder,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": settings.executor,
        "AIRFLOW__CORE__PARALLELISM": str(settings.parallelism),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        **_async_url(metadata),
        "AIRFLOW__API__HOST": settings.api_host,
        "AIRFLOW__API__PORT": str(settings.api_port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # The DAG files read the same configuration, and tasks find the installed `lakecdp`.
        "LAKECDP_CONFIG": str(config_file),
        "LAKECDP_BIN": str(Path(sys.executable).parent / "lakecdp"),
        "PYTHONPATH": os.pathsep.join(
            p for p in (settings.dags_folder, os.environ.get("PYTHONPATH", "")) if p
        ),
    }


def _async_url(url: str) -> dict[str, str]:
    """Airflow's async paths take a PostgreSQL metadata database through psycopg 3 (already
    installed); for others (SQLite for the demo and tests) Airflow derives the driver itself."""
    scheme, sep, rest = url.partition("://")
    if scheme.startswith("postgresql"):
        return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"postgresql+psycopg{sep}{rest}"}
    return {}


class AirflowCommandFailed(RuntimeError):
    """An `airflow` command exited non-zero; the message ends with its last lines of output
    (Airflow masks the metadata database's password in what it prints)."""


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(
        [airflow_bin(), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise AirflowCommandFailed(f"{what} failed (exit {done.returncode}):\n{tail}")


def _set_up_or_exit(config: ProjectConfig) -> dict[str, str]:
    try:
        return set_up(config, find_config_file(_State.config_path).resolve())
    except AirflowCommandFailed as failed:
        console.print(f"[red]{failed}[/red]")
        raise typer.Exit(1) from None


def set_up(config: ProjectConfig, config_file: Path) -> dict[str, str]:
    """Metadata database migrated, the Spark pool created (or resized); returns the env."""
    env = airflow_env(config, config_file)
    Path(config.airflow.home).mkdir(parents=True, exist_ok=True)
    _run(["db", "migrate"], env, "airflow db migrate")
    pool = config.airflow
    _run(
        [
            "pools",
            "set",
            pool.spark_pool,
            str(pool.spark_pool_slots),
            "Spark jobs of the lakecdp DAGs: one slot per Spark driver the machine holds",
        ],
        env,
        f"airflow pools set {pool.spark_pool}",
    )
    return env


def _pid_file(config: ProjectConfig, component: str) -> Path:
    return Path(config.airflow.home) / f"{component}.pid"


def _running(config: ProjectConfig) -> dict[str, int]:
    alive: dict[str, int] = {}
    for component in COMPONENTS:
        pid_file = _pid_file(config, component)
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text().strip() or 0)
        try:
            os.kill(pid, 0)
        except (OSError, ValueError):
            continue
        alive[component] = pid
    return alive


def _health(config: ProjectConfig) -> dict[str, object] | None:
    url = f"http://{config.airflow.api_host}:{config.airflow.api_port}/api/v2/monitor/health"
    try:
        answer = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


def _ready(health: dict[str, object] | None) -> bool:
    """The api-server answers and the scheduler and dag-processor report healthy."""
    if not health:
        return False
    parts = ("metadatabase", "scheduler", "dag_processor")
    return all(
        isinstance(health.get(p), dict) and health[p].get("status") == "healthy"  # type: ignore[union-attr]
        for p in parts
    )


def _password(config: ProjectConfig) -> str | None:
    generated = Path(config.airflow.home) / "simple_auth_manager_passwords.json.generated"
    try:
        return str(json.loads(generated.read_text())[ADMIN])
    except (OSError, ValueError, KeyError):
        return None


@app.command("setup")
def airflow_setup() -> None:
    """Migrate the metadata database and create the Spark pool (idempotent)."""
    config = _config()
    _set_up_or_exit(config)
    console.print(
        f"Airflow set up: metadata database migrated, pool {config.airflow.spark_pool} "
        f"({config.airflow.spark_pool_slots} slot)"
    )


@app.command("start")
def airflow_start(
    timeout: Annotated[float, typer.Option(help="Seconds to wait until Airflow answers.")] = 300,
) -> None:
    """Set up, then start the api-server (UI), scheduler, dag-processor and triggerer in the
    background; returns once the UI answers and the scheduler reports healthy."""
    config = _config()
    env = _set_up_or_exit(config)
    logs = Path(config.airflow.home) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    running = _running(config)
    for component in COMPONENTS:
        if component in running:
            continue
        with (logs / f"{component}.log").open("ab") as log:
            process = subprocess.Popen(
                [airflow_bin(), component],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _pid_file(config, component).write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while not _ready(_health(config)):
        if time.monotonic() > deadline:
            console.print(f"[red]Airflow did not report healthy in {timeout:.0f} s; logs: {logs}")
            raise typer.Exit(1)
        gone = [c for c in COMPONENTS if c not in _running(config)]
        if gone:
            console.print(f"[red]{', '.join(gone)} stopped; see {logs}[/red]")
            raise typer.Exit(1)
        time.sleep(1)
    url = f"http://{config.airflow.api_host}:{config.airflow.api_port}"
    password = _password(config) or "(see simple_auth_manager_passwords.json.generated)"
    console.print(
        f"Airflow is up: {url} (user {ADMIN}, password {password}); DAGs from "
        f"{config.airflow.dags_folder}; logs in {logs}. Stop it with `make airflow-stop`."
    )


@app.command("stop")
def airflow_stop() -> None:
    """Stop what `lakecdp airflow start` started."""
    config = _config()
    for component, pid in _running(config).items():
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            continue
        console.print(f"stopped {component} (pid {pid})")
        _pid_file(config, component).unlink(missing_ok=True)


@app.command("status")
def airflow_status() -> None:
    """Which components run, and what Airflow's health endpoint says."""
    config = _config()
    running = _running(config)
    for component in COMPONENTS:
        state = f"pid {running[component]}" if component in running else "not running"
        console.print(f"{component}: {state}")
    console.print(f"health: {_health(config)}")
