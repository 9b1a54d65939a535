"""`lakecdp ui mlflow` / `lakecdp ui feast`: the MLflow and Feast web UIs on this lakehouse's
model store and feature registry, so a data scientist sees the runs, models and features the
platform uses (and their own next to them) without writing a configuration of their own.

Both run in the foreground like `lakecdp serve`: Ctrl-C (or SIGTERM) stops them.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console
from lakecdp.kernel.config import ProjectConfig

app = typer.Typer(
    no_args_is_help=True, help="Web UIs on this lakehouse: MLflow (models), Feast (features)."
)

HostOption = Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0: every one).")]


def mlflow_server_command(config: ProjectConfig, host: str, port: int) -> list[str]:
    """`mlflow server` on the store `lakecdp model train` logs to (ml/tracking.py).

    Artifacts: runs keep the location their experiment was created with (a folder under the
    lakehouse); experiments created in the UI get the same root, and MLflow's artifact proxy
    writes there too instead of `./mlartifacts` in whatever folder the command started in.
    One worker: a UI for the person at the terminal, not a shared tracking server.
    """
    artifacts = config.mlflow_artifact_root
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",  # the store URI goes in MLFLOW_BACKEND_STORE_URI: argv is visible to all
        "--default-artifact-root",
        artifacts,
        "--artifacts-destination",
        artifacts,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def mlflow_server_env(config: ProjectConfig) -> dict[str, str]:
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_BACKEND_STORE_URI": config.mlflow_tracking_uri,
    }
    # MLflow 3's job runner (GenAI scorers, prompt optimisation) starts seven more processes
    # that outlive a stop by seconds; nothing here uses it. Set it to true to have it back.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    return env


def masked(uri: str) -> str:
    """`uri` without the user and password a database or server URI may carry."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None and parts.username is None:
        return uri
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _prepare_mlflow_store(config: ProjectConfig) -> None:
    """The folders a fresh lakehouse lacks; MLflow creates the SQLite database itself."""
    uri = config.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    artifacts = config.mlflow_artifact_root
    if "://" not in artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)


def _require_free_port(host: str, port: int) -> None:
    """Fail with the port named before a server spends seconds starting, then dies on bind
    (5000 is taken by AirPlay on macOS, 8888 by Jupyter)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc})"
            console.print(f"[red]{host}:{port} {reason}: choose another with --port[/red]")
            raise typer.Exit(1) from None


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def _run_in_foreground(name: str, command: list[str], env: dict[str, str], url: str) -> int:
    """Run the server `command` until it exits or this process is stopped; its output goes to
    this command's log (the console with --verbose). Says when `url`/health first answers.

    The child gets a session of its own, so a Ctrl-C reaches it once (forwarded from here), not
    twice (from the terminal and from here); SIGTERM is forwarded the same way, so stopping this
    process stops the server instead of orphaning it.
    """
    from lakecdp.kernel import run_log

    log = run_log.current().path
    output: IO[bytes] | None
    with log.open("ab") if log else nullcontext() as output:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if process.poll() is None:
            process.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    while not stopping:
        try:
            code = process.wait(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            if _answers(f"{url}/health"):
                console.print(f"{name} ready: {url}")
                code = process.wait()
                break
    else:
        code = process.wait()
    if code != 0 and not stopping:
        where = f"its log: {log}" if log else "its output is above"
        console.print(f"[red]{name} exited with {code}; {where}[/red]")
    return 0 if stopping else code


@app.command("mlflow")
def ui_mlflow(host: HostOption = "127.0.0.1", port: Annotated[int, typer.Option()] = 5000) -> None:
    """MLflow's UI and REST API on the project's tracking store: runs, models, aliases."""
    cfg = _config()
    uri = cfg.mlflow_tracking_uri
    if uri.startswith(("http://", "https://", "databricks")):
        console.print(f"the tracking store is a server already: open {masked(uri)}")
        return
    _require_free_port(host, port)
    _prepare_mlflow_store(cfg)
    url = f"http://{host}:{port}"
    console.print(f"MLflow UI on {url}")
    console.print(f"  store      {masked(uri)}")
    console.print(f"  artifacts  {cfg.mlflow_artifact_root}")
    console.print("  Ctrl-C stops it")
    code = _run_in_foreground(
        "MLflow UI", mlflow_server_command(cfg, host, port), mlflow_server_env(cfg), url
    )
    if code:
        raise typer.Exit(code)
    console.print("MLflow UI stopped")


@app.command("feast")
def ui_feast(host: HostOption = "127.0.0.1", port: Annotated[int, typer.Option()] = 8888) -> None:
    """Feast's UI on this lakehouse's feature registry, registered first if it is empty."""
    cfg = _config()
    try:  # The UI's registry API is Feast's gRPC registry server behind REST.
        import feast.api.registry.rest  # noqa: F401
    except ModuleNotFoundError as exc:
        console.print(
            f"[red]the Feast UI needs Feast's grpcio extra ({exc.name} is missing): "
            "depend on feast\\[grpcio] in pyproject.toml[/red]"
        )
        raise typer.Exit(1) from None
    from feast.ui_server import get_app

    from lakecdp.decisioning.feature_store import apply_definitions, feature_store
    from lakecdp.kernel.asgi import run_asgi

    _require_free_port(host, port)
    store = feature_store(cfg)
    registry = store.config.registry.path
    # A fresh lakehouse has no registry yet: what `lakecdp features apply` does (no Spark).
    if cfg.features.project not in {project.name for project in store.list_projects()}:
        store = apply_definitions(cfg)
        console.print(f"registered the feature definitions in {registry}")
    console.print(f"Feast UI on http://{host}:{port}")
    console.print(f"  registry  {registry}")
    console.print("  Ctrl-C stops it")
    # What `feast ui` serves (FeatureStore.serve_ui), run like every lakecdp server: no
    # access log, warnings only.
    run_asgi(get_app(store, project_id=cfg.features.project, root_path=""), host, port)
