"""`make bench-serve`: /v1/decide against `feast serve`'s /get-online-features.

Same machine, same online store, same customers, same bounded load generator on loopback:
- decide: identity lookup, the decision feature service, the champion's score, the rules,
  caps counted and the decision logged, as in production;
- feast: the same feature service for the same customer, nothing else.
Each is measured open loop at a fixed rate (latency without coordinated omission) and closed
loop (capacity), on SQLite and on Redis. Prints p50/p99, throughput and the ratios; writes
benchmarks/results/serve-<rate>.json.

The lakehouse is the demo's (generate -> ... -> features -> champion -> materialized); an
existing one can be given with --lakehouse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
from rich.console import Console
from rich.table import Table

from benchmarks.loadgen import closed_loop, free_port, open_loop

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
console = Console()


def _config(lakehouse: Path, store: str) -> Any:
    from lakecdp.kernel.config import load_config

    environ = {**os.environ, "LAKECDP_LAKEHOUSE_ROOT": str(lakehouse)}
    if store == "redis":
        environ.update(
            {
                "LAKECDP_ONLINE_STORE": "redis",
                "LAKECDP__FEATURES__ROOT": str(lakehouse / "feast-redis"),
                "LAKECDP__FEATURES__PROJECT": "lakecdp_bench",
            }
        )
    return load_config(REPO / "lakecdp.yaml", environ=environ)


def prepare(lakehouse: Path, customers: int) -> None:
    """The demo's lakehouse, unless one with a materialized online store is there already."""
    if (lakehouse / "feast" / "registry.db").exists():
        return
    from lakecdp.cli.demo import run_demo

    started = time.monotonic()
    run_demo(_config(lakehouse, "sqlite"), customers=customers, seed=7, console=Console(quiet=True))
    console.print(f"lakehouse prepared in {time.monotonic() - started:.0f} s")


def sample_customers(config: Any, n: int) -> list[tuple[str, str]]:
    from lakecdp.kernel.spark import get_spark

    spark = get_spark(config, "lakecdp-bench-serve")
    rows = (
        spark.read.format("delta")
        .load(config.table_path("gold", "dim_customers"))
        .select("customer_id", "market")
        .orderBy("customer_id")
        .limit(n)
        .collect()
    )
    return [(r.customer_id, r.market or "SG") for r in rows]


def start_feast(config: Any, port: int) -> subprocess.Popen[bytes]:
    from lakecdp.decisioning.feature_store import feature_store

    feature_store(config)  # writes the resolved feature_store.yaml
    yaml_path = Path(config.features_root) / "feature_store.yaml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feast.cli.cli",
            "-f",
            str(yaml_path),
            "serve",
            "-p",
            str(port),
            "--no-access-log",
            "--max-requests",
            "10000000",
        ],
        cwd=config.features_root,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"feast serve exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("feast serve did not answer /health")


def bodies(kind: str, customers: list[tuple[str, str]], seed: int):  # type: ignore[no-untyped-def]
    from feature_repo.feature_services import DECISION_SERVICE

    rng = random.Random(seed)

    def decide() -> tuple[bytes, int]:
        customer, market = rng.choice(customers)
        return orjson.dumps({"customer_id": customer, "channel": "any", "market": market}), 1

    def feast() -> tuple[bytes, int]:
        customer, _ = rng.choice(customers)
        return (
            orjson.dumps(
                {"feature_service": DECISION_SERVICE, "entities": {"customer_id": [customer]}}
            ),
            1,
        )

    return decide if kind == "decide" else feast


def measure(
    url: str, kind: str, customers: list, args: argparse.Namespace, auth: str = "-"
) -> dict[str, Any]:
    make = bodies(kind, customers, args.seed)
    asyncio.run(closed_loop(url, auth, make, requests=300, concurrency=2, max_seconds=60))  # warm
    opened = asyncio.run(
        open_loop(url, auth, make, requests=args.requests, rate_per_s=args.rate, max_seconds=300)
    )
    closed = asyncio.run(
        closed_loop(url, auth, make, requests=args.requests, concurrency=8, max_seconds=300)
    )
    return {"open_loop": opened.summary(), "closed_loop": closed.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--lakehouse", type=Path, default=REPO / ".cache" / "bench-serve")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="open-loop requests per second (below both servers' capacity on 2 cores)",
    )
    parser.add_argument("--stores", default="sqlite,redis")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    lakehouse = args.lakehouse.resolve()
    prepare(lakehouse, args.customers)
    from lakecdp.cli.servers import start_cli_server, stop_server
    from lakecdp.decisioning.feature_store import materialize
    from lakecdp.kernel.spark import get_spark

    results: dict[str, Any] = {
        "benchmark": "serve",
        "at": datetime.now(UTC).isoformat(),
        "requests": args.requests,
        "open_loop_rate_per_s": args.rate,
        "stores": {},
    }
    customers = sample_customers(_config(lakehouse, "sqlite"), 2000)
    for store in args.stores.split(","):
        config = _config(lakehouse, store)
        if store == "redis":
            materialize(get_spark(config, "lakecdp-bench-serve"), config)
        decide_port, feast_port = free_port(), free_port()
        server = start_cli_server(
            config,
            ["serve", "--port", str(decide_port)],
            f"http://127.0.0.1:{decide_port}/health",
        )
        feast = start_feast(config, feast_port)
        try:
            decide = measure(
                f"http://127.0.0.1:{decide_port}/v1/decide",
                "decide",
                customers,
                args,
                auth=f"Bearer {config.auth.key_for('decide')}",
            )
            served = measure(
                f"http://127.0.0.1:{feast_port}/get-online-features", "feast", customers, args
            )
        finally:
            stop_server(server)
            feast.terminate()
            feast.wait(timeout=30)
        results["stores"][store] = {
            "decide": decide,
            "feast_serve": served,
            "p99_ratio": round(decide["open_loop"]["p99_ms"] / served["open_loop"]["p99_ms"], 3),
            "throughput_ratio": round(
                decide["closed_loop"]["requests_per_s"] / served["closed_loop"]["requests_per_s"],
                3,
            ),
        }
    table = Table(title=f"/v1/decide vs feast serve ({args.rate:g} req/s open loop, 8 closed)")
    for col in ("store", "target", "p50 ms", "p99 ms", "errors", "max req/s"):
        table.add_column(col, justify="left" if col in ("store", "target") else "right")
    for store, r in results["stores"].items():
        for target in ("decide", "feast_serve"):
            o, c = r[target]["open_loop"], r[target]["closed_loop"]
            table.add_row(
                store,
                target,
                f"{o['p50_ms']}",
                f"{o['p99_ms']}",
                f"{o['errors'] + c['errors']}",
                f"{c['requests_per_s']}",
            )
        table.add_row(
            store, "decide / feast", "", f"{r['p99_ratio']}x", "", f"{r['throughput_ratio']}x"
        )
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"serve-{args.rate:g}.json"
    out.write_text(json.dumps(results, indent=2))
    console.print(f"written to {out}")


if __name__ == "__main__":
    uvloop.install()
    main()
