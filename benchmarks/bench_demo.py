"""`make bench-demo`: `lakecdp demo` as a user runs it, on a fresh lakehouse and then once more on
the same lakehouse (the idempotent rerun); seconds per step of both runs, printed as a table and
written under benchmarks/results/.

The demo runs as a child process by the installed entry point, so the wall time includes
interpreter start and imports; the step times are the demo's own (its demo-summary.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.common import REPO, write_results
from benchmarks.loadgen import free_port

RUNS = ("fresh lakehouse", "rerun, same lakehouse")


def run_demo(lakehouse: Path, customers: int) -> dict[str, Any]:
    """One `lakecdp demo`; its wall seconds and step seconds (raises if the demo failed)."""
    env = {
        **os.environ,
        "LAKECDP_LAKEHOUSE_ROOT": str(lakehouse),
        "LAKECDP_COLLECTOR_PORT": str(free_port()),
        "LAKECDP_SERVE_PORT": str(free_port()),
    }
    entry_point, n = Path(sys.executable).parent / "lakecdp", str(customers)
    started = time.monotonic()
    done = subprocess.run(
        [str(entry_point), "--config", str(REPO / "lakecdp.yaml"), "demo", "--customers", n],
        env=env,
        check=False,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"`lakecdp demo` failed ({done.returncode}); logs in {lakehouse}/logs")
    summary = json.loads((lakehouse / "demo-summary.json").read_text())
    return {"wall_seconds": round(wall, 1), "steps": summary["timings"]}


def print_table(runs: dict[str, dict[str, Any]], console: Console) -> None:
    table = Table(title="lakecdp demo: seconds per step")
    table.add_column("step")
    for name in runs:
        table.add_column(name, justify="right")
    steps: list[str] = []
    for run in runs.values():
        steps += [s for s in run["steps"] if s not in steps]
    for step in steps:
        table.add_row(step, *[str(run["steps"].get(step, "-")) for run in runs.values()])
    table.add_row("wall (process start to exit)", *[str(r["wall_seconds"]) for r in runs.values()])
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    args = parser.parse_args()
    lakehouse = Path(mkdtemp(prefix="lakecdp-bench-demo-")) / "lakehouse"
    runs = {name: run_demo(lakehouse, args.customers) for name in RUNS}
    console = Console()
    print_table(runs, console)
    out = write_results(
        "demo",
        {
            "customers": args.customers,
            "lakehouse": str(lakehouse),
            "cpus": os.cpu_count(),
            "runs": runs,
        },
    )
    console.print(f"written to {out}")


if __name__ == "__main__":
    main()
