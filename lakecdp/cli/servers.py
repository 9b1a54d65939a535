"""Start a `lakecdp` server in a child process and wait until it can answer.

Ready means its health endpoint answers 200, not that its port is open; the wait is bounded
generously (a busy machine can be many times slower than an idle one) and ends early when the
child dies. Either way the error names the command and the log file that holds its output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from lakecdp.kernel.config import ProjectConfig, config_as_json
from lakecdp.kernel.run_log import log_dir

READY_TIMEOUT_SECONDS = 300.0


class ServerFailed(RuntimeError):
    """A server exited or never became ready; the message names the command and its log."""


def start_cli_server(
    config: ProjectConfig,
    command: list[str],
    health_url: str,
    log_file: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = READY_TIMEOUT_SECONDS,
) -> subprocess.Popen[bytes]:
    """Start `lakecdp <command>` with its output in `log_file` (by default the log its command
    writes anyway, `<lakehouse>/logs/<first word>.log`); return once `health_url` answers 200.

    The child is handed this process's resolved configuration (JSON is YAML), so overrides made
    here reach it unchanged.
    """
    resolved = Path(tempfile.mkdtemp(prefix="lakecdp-server-")) / "lakecdp.json"
    resolved.write_text(config_as_json(config))
    resolved.chmod(0o600)
    shown = f"`lakecdp {' '.join(command)}`"
    if log_file is None:  # the file the child's own command log goes to (lakecdp.kernel.run_log)
        log_file = log_dir(config.lakehouse.root) / f"{command[0]}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "lakecdp.cli", "--config", str(resolved), *command],
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while True:
            if process.poll() is not None:
                raise ServerFailed(
                    f"{shown} exited with {process.returncode} before {health_url} answered; "
                    f"its log: {log_file}"
                )
            try:
                if client.get(health_url).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                raise ServerFailed(
                    f"{shown} did not answer {health_url} within {timeout:.0f} s; "
                    f"its log: {log_file}"
                )
            time.sleep(0.1)


def start_collector(
    config: ProjectConfig, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`lakecdp collect serve` in a child process, once /health answers."""
    return start_cli_server(
        config,
        ["collect", "serve", "--port", str(port)],
        f"http://{config.collector.host}:{port}/health",
        env=env,
    )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets a server finish: the collector seals its open landing segments, the decision
    endpoint its decision log."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
