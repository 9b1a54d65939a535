"""Cold start of the two servers: process start -> first 200 on /health.

`lakecdp serve` (decision endpoint; 200 means the online store answers and the champion is
loaded) and `lakecdp collect serve` (collector) are started as child processes by their
console script (.venv/bin/lakecdp) against the given lakehouse, which must hold a materialized
online store and, for a scored start, a champion (the demo's does; give a copy, since the
decision log and landing folders are written to). /health is polled every 20 ms from spawn.
Each server is started `--runs` times; the first run is reported apart (cold page cache), and
one more run with PYTHONPROFILEIMPORTTIME gives the import-time breakdown. Prints a table and
writes benchmarks/results/cold-start-<time>.json and cold-start-latest.json.

    uv run python -m benchmarks.bench_cold_start --lakehouse /tmp/serve-lake

The servers run the code their environment imports: PYTHONPATH=<an export of another commit>
measures that commit (with --label) against the same lakehouse.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from benchmarks.common import REPO, write_results
from benchmarks.loadgen import free_port
from lakecdp.cli.servers import stop_server

LAKECDP = REPO / ".venv" / "bin" / "lakecdp"
POLL_SECONDS = 0.02
console = Console()


@dataclass(frozen=True)
class Server:
    command: tuple[str, ...]
    target_seconds: float  # issue 16


SERVERS = {
    "serve": Server(("serve",), 5.0),
    "collect serve": Server(("collect", "serve"), 2.0),
}


def start_to_ready(
    command: tuple[str, ...], port: int, env: dict[str, str], timeout: float, stderr: Any = None
) -> dict[str, Any]:
    """Seconds from spawn to the first answer of /health and to its first 200."""
    url = f"http://127.0.0.1:{port}/health"
    started = time.monotonic()
    process = subprocess.Popen(
        [str(LAKECDP), *command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr or subprocess.DEVNULL,
    )
    first_answer: float | None = None
    try:
        with httpx.Client(timeout=1) as client:
            while time.monotonic() - started < timeout:
                if process.poll() is not None:
                    raise RuntimeError(f"`lakecdp {' '.join(command)}` exited {process.returncode}")
                try:
                    status = client.get(url).status_code
                except httpx.TransportError:
                    status = None
                now = time.monotonic() - started
                if status is not None and first_answer is None:
                    first_answer = now
                if status == 200:
                    answered = first_answer if first_answer is not None else now
                    return {"ready_s": round(now, 3), "first_answer_s": round(answered, 3)}
                time.sleep(POLL_SECONDS)
        raise RuntimeError(f"`lakecdp {' '.join(command)}` not ready in {timeout} s")
    finally:
        stop_server(process)


def import_breakdown(log: Path, top: int = 12) -> list[dict[str, Any]]:
    """The costliest top-level imports (cumulative seconds) of a PYTHONPROFILEIMPORTTIME log."""
    line = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    rows: list[tuple[float, str]] = []
    for match in map(line.match, log.read_text(errors="replace").splitlines()):
        if match and match.group(3) == " ":  # imported at top level, not by another import
            rows.append((int(match.group(2)) / 1e6, match.group(4)))
    rows.sort(reverse=True)
    return [{"module": module, "seconds": round(seconds, 3)} for seconds, module in rows[:top]]


def bench(name: str, lakehouse: Path, runs: int, timeout: float) -> dict[str, Any]:
    spec = SERVERS[name]
    env = {**os.environ, "LAKECDP_LAKEHOUSE_ROOT": str(lakehouse)}
    samples: list[dict[str, float]] = []
    for n in range(runs):
        samples.append(start_to_ready(spec.command, free_port(), env, timeout))
        console.print(f"{name} run {n + 1}/{runs}: ready in {samples[-1]['ready_s']:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "importtime.log"
        with log.open("w") as stderr:
            profiled = start_to_ready(
                spec.command,
                free_port(),
                {**env, "PYTHONPROFILEIMPORTTIME": "1"},
                timeout,
                stderr,
            )
        imports = import_breakdown(log)
    warm = [s["ready_s"] for s in samples[1:]] or [samples[0]["ready_s"]]
    return {
        "command": f"lakecdp {' '.join(spec.command)}",
        "target_s": spec.target_seconds,
        "first_run_s": samples[0]["ready_s"],
        "median_s": round(statistics.median(warm), 3),
        "min_s": min(warm),
        "max_s": max(warm),
        "first_answer_median_s": round(statistics.median(s["first_answer_s"] for s in samples), 3),
        "runs": samples,
        "profiled_run_s": profiled["ready_s"],
        "top_imports": imports,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakehouse", type=Path, required=True, help="a copy of a demo lakehouse")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per start")
    parser.add_argument("--only", choices=sorted(SERVERS), help="one server only")
    parser.add_argument(
        "--label", help="names the results (cold-start-<label>-*.json), e.g. 'baseline'"
    )
    args = parser.parse_args()
    if not (args.lakehouse / "feast" / "registry.db").exists():
        parser.error(f"{args.lakehouse} has no materialized Feast store (run the demo first)")

    load_before = os.getloadavg()
    results = {
        name: bench(name, args.lakehouse.resolve(), args.runs, args.timeout)
        for name in ([args.only] if args.only else SERVERS)
    }
    table = Table(title="cold start: process start -> first 200 on /health (s)")
    for column in ("server", "first run", "median", "min", "max", "target", "top import"):
        table.add_column(column, justify="left" if column in ("server", "top import") else "right")
    for result in results.values():
        top = result["top_imports"][0] if result["top_imports"] else {"module": "-", "seconds": 0}
        table.add_row(
            result["command"],
            f"{result['first_run_s']:.2f}",
            f"{result['median_s']:.2f}",
            f"{result['min_s']:.2f}",
            f"{result['max_s']:.2f}",
            f"<= {result['target_s']:.0f}",
            f"{top['module']} {top['seconds']:.2f}",
        )
    console.print(table)
    path = write_results(
        f"cold-start-{args.label}" if args.label else "cold-start",
        {
            "label": args.label,
            "code": os.environ.get("PYTHONPATH") or str(REPO),
            "lakehouse": str(args.lakehouse),
            "machine": {"cpus": os.cpu_count(), "loadavg_before": load_before},
            "loadavg_after": os.getloadavg(),
            "servers": results,
        },
    )
    console.print(f"written to {path}")


if __name__ == "__main__":
    main()
