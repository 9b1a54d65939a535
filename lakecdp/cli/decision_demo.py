"""The decisioning part of `make demo`: features, a trained and promoted model, the online
store, the decision endpoint over HTTP, and five decisions that show each rule at work."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from rich.console import Console
from rich.table import Table

from lakecdp.decisioning.holdout import assign_arm
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse


class _DemoRun(Protocol):
    """What these steps use of the demo run (`demo._Demo`), named here so the modules do not
    import each other both ways."""

    config: ProjectConfig
    console: Console
    spark: Any
    timings: dict[str, float]
    results: dict[str, Any]

    def dag(self, dag_id: str, **options: Any) -> Callable[[], Any]: ...


def champions(config: ProjectConfig) -> dict[str, dict[str, Any] | None]:
    """Each registered model's champion as the registry holds it: version, gate verdict and
    holdout AUC (what `lakecdp model train` logged); None for a model without one."""
    from mlflow.exceptions import MlflowException

    from ml.tracking import CHAMPION, mlflow_client

    client = mlflow_client(config)
    found: dict[str, dict[str, Any] | None] = {}
    for name in config.models.registered:
        try:
            version = client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            found[name] = None
            continue
        metrics = client.get_run(str(version.run_id)).data.metrics
        found[name] = {
            "model": name,
            "version": version.version,
            "promoted": version.tags.get("promotion") in ("promoted", "forced"),
            "reason": version.tags.get("promotion_reason", ""),
            "auc": metrics.get("holdout_auc", float("nan")),
        }
    return found


def _arm(config: ProjectConfig, customer_id: str) -> str:
    experiment = config.decisioning.experiments[config.decisioning.experiment]
    return assign_arm(customer_id, experiment.salt, experiment.holdout_share)


def pick_customers(spark: SparkSession, config: ProjectConfig) -> dict[str, dict[str, Any]]:
    """One customer per case, from the lakehouse (small, bounded collects)."""
    lake = Lakehouse(spark, config)
    dim = lake.table("gold", "dim_customers").read()
    snapshots = lake.table("gold", "customer_feature_snapshots").read()
    buyers = snapshots.select("customer_id").distinct()
    id_map = lake.table("silver", "id_map").read()
    marketing = [f"consent_marketing_{c}" for c in config.consent.channels]
    emails = (
        id_map.where("id_type = 'email'").groupBy("customer_id").agg(F.min("value").alias("email"))
    )
    consenting = (
        dim.where(F.col("consent_marketing_email") == "granted")
        .join(buyers, "customer_id")
        .join(emails, "customer_id")
        .select("customer_id", "market", "email")
        .orderBy("customer_id")
        .limit(300)
        .collect()
    )
    # opted out: said no to marketing somewhere and yes nowhere
    no_yes = F.lit(True)
    for column in marketing:
        no_yes = no_yes & (F.col(column) != "granted")
    some_no = F.array_contains(F.array(*[F.col(c) for c in marketing]), "denied")
    opted_out = (
        dim.where(no_yes & some_no)
        .select("customer_id", "market")
        .orderBy("customer_id")
        .limit(300)
        .collect()
    )
    everyone = dim.select("customer_id", "market").orderBy("customer_id").limit(500).collect()
    treated = [r for r in consenting if _arm(config, r.customer_id) == "treatment"]
    picks: dict[str, dict[str, Any]] = {}
    if treated:
        picks["known customer (by e-mail)"] = {
            "identifier": {"type": "email", "value": treated[0].email.upper()},
            "market": treated[0].market,
        }
    if len(treated) > 1:
        picks["capped customer"] = {
            "customer_id": treated[1].customer_id,
            "market": treated[1].market,
        }
    picks["unknown device"] = {
        "identifier": {"type": "device_id", "value": "dev-never-seen-0001"},
        "market": "SG",
    }
    out = next((r for r in opted_out if _arm(config, r.customer_id) == "treatment"), None)
    if out is not None:
        picks["opted out of marketing"] = {"customer_id": out.customer_id, "market": out.market}
    held = next((r for r in everyone if _arm(config, r.customer_id) == "holdout"), None)
    if held is not None:
        picks["holdout customer"] = {"customer_id": held.customer_id, "market": held.market}
    return picks


def ask(url: str, key: str, case: dict[str, Any], channel: str = "any") -> dict[str, Any]:
    response = httpx.post(
        f"{url}/v1/decide",
        json={**case, "channel": channel},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def show_decisions(
    spark: SparkSession, config: ProjectConfig, url: str, console: Console
) -> dict[str, dict[str, Any]]:
    decisions: dict[str, dict[str, Any]] = {}
    key = config.auth.key_for("decide")
    if key is None:
        raise RuntimeError("auth.api_keys has no key with the 'decide' scope for the demo")
    for case, body in pick_customers(spark, config).items():
        if case == "capped customer":
            first = ask(url, key, body)
            channel = first["channel"] or "email"
            cap = config.decisioning.caps.get(channel)
            answer = first
            for _ in range(cap.max if cap else 0):
                answer = ask(url, key, body, channel)
            decisions[case] = answer
        else:
            decisions[case] = ask(url, key, body)
    table = Table(title="Decisions (POST /v1/decide)", show_lines=True)
    for col in ("case", "customer", "action", "channel", "score", "arm", "reasons"):
        table.add_column(col, overflow="fold")
    for case, d in decisions.items():
        table.add_row(
            case,
            str(d["customer_id"]),
            d["action"],
            str(d["channel"]),
            f"{d['score']:.3f}" if d["score"] is not None else "-",
            str(d["arm"]),
            "\n".join(d["reasons"][-3:]),
        )
    console.print(table)
    return decisions


class DecisioningDemo:
    """The demo's decisioning steps; each fills `demo.results["decisioning"]`."""

    def __init__(self, demo: _DemoRun) -> None:
        self.demo = demo
        self.out: dict[str, Any] = {}
        demo.results["decisioning"] = self.out

    def steps(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("DAG lakecdp_training: train, register, promotion gates, drift check", self.train),
            ("decision endpoint: start and decide", self.decide),
        ]

    def train(self) -> None:
        """The training DAG, then what its promotion gate left in the MLflow registry."""
        self.demo.dag("lakecdp_training")()
        self.out["training"] = {"champions": champions(self.demo.config)}
        for name, found in self.out["training"]["champions"].items():
            if found is None:
                self.demo.console.print(f"{name}: no champion (see the training DAG's log)")
                continue
            self.demo.console.print(
                f"champion: {name} version {found['version']} "
                f"(holdout AUC {found['auc']:.3f}; gate: {found['reason']})"
            )

    def decide(self) -> None:
        from lakecdp.cli.servers import start_cli_server, stop_server

        config, console = self.demo.config, self.demo.console
        port = config.decisioning.port
        url = f"http://{config.decisioning.host}:{port}"
        started = time.monotonic()
        server = start_cli_server(config, ["serve", "--port", str(port)], f"{url}/health")
        self.demo.timings["decision endpoint cold start (to /health 200)"] = round(
            time.monotonic() - started, 1
        )
        try:
            self.out["decisions"] = show_decisions(self.demo.spark, config, url, console)
        finally:
            stop_server(server)
        console.print(
            f"decision endpoint: `make serve` (http://{config.decisioning.host}:{port}/docs); "
            f"decisions logged to {config.decision_log_dir}"
        )
