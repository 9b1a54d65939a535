"""`lakecdp demo` (`make demo`): the platform end to end on embedded defaults, on a small
synthetic world, its jobs run by Airflow.

generate -> collector (real HTTP on loopback) -> the DAG runs, each by `airflow dags test` with
the demo's own metadata database: `lakecdp_microbatch` (landed events into bronze),
`lakecdp_daily` (batch ingestion, identity, dbt build, features; a quality gate after each
stage stops the run) -> what they built, read back: bronze and quarantine counts, identity
scored against the generator's ground truth, a sample profile and audience sizes ->
`lakecdp_audience_syncs` (PostgreSQL and HTTP), then again: nothing sent ->
`lakecdp_training` (MLflow, promotion gate) -> the decision endpoint and five decisions.
Each DAG run's task states and durations are printed; the step table reports what Airflow
itself added.

Each step is timed; a failed step is named with the log file that holds its detail, and the
steps after it do not run (`lakecdp.cli.pipeline.run_stages`). Servers, Spark and the layers are
imported inside the steps, so `lakecdp --help` loads none of them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lakecdp.cli._app import _config
from lakecdp.cli.dag_runs import DagRun, LocalAirflow
from lakecdp.cli.paths import default_world_dir, world_generator
from lakecdp.cli.pipeline import run_stages
from lakecdp.cli.render import console as cli_console
from lakecdp.cli.render import print_dag_run, print_identity_report, print_identity_run
from lakecdp.kernel.config import ProjectConfig

app = typer.Typer()

# The demo's DAG runs are the ones scheduled for the morning after the synthetic world ends
# (2026-11-01): their data interval, so their audience windows, end then.
DAILY_RUN_AT = "2026-11-02T02:00:00+00:00"


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=100)] = 5000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """End to end on embedded defaults: every layer on a synthetic world, with a step table."""
    from lakecdp.cli.pipeline import StepFailed
    from lakecdp.kernel import run_log

    cfg = _config()
    try:
        run_demo(cfg, customers=customers, seed=seed, console=cli_console)
    except StepFailed as failed:
        logging.getLogger("lakecdp.demo").error("step %r failed", failed.step, exc_info=failed)
        cli_console.print(
            f"[red]✗ step '{failed.step}' failed:[/red] {failed.error}\n"
            f"  finished: {', '.join(failed.completed) or 'none'}\n"
            f"  full log: {run_log.current().describe()}"
        )
        raise typer.Exit(1) from None


class _Demo:
    """What the steps hand each other: the Spark session, results to summarize, timings."""

    def __init__(self, config: ProjectConfig, console: Console, customers: int, seed: int):
        self.config, self.console = config, console
        self.customers, self.seed = customers, seed
        self.rerun_syncs = True
        self.world = default_world_dir(config)
        self.timings: dict[str, float] = {}
        self.results: dict[str, Any] = {"airflow": {}}
        self.spark: Any = None
        self.dag_runs: list[DagRun] = []
        root = Path(config.lakehouse.root)
        # A demo stops at its first failure: its tasks are not retried.
        self.airflow = LocalAirflow(config, root / "airflow", root / "logs", task_retries=0)

    def done(self, name: str, seconds: float) -> None:
        self.timings[name] = round(seconds, 1)
        self.console.print(f"[green]✓[/green] {name} ({self.timings[name]} s)")

    # -- signals --------------------------------------------------------------------------------
    def generate(self) -> None:
        from lakecdp.cli.progress import progress_bar

        generate_world = world_generator()
        with progress_bar(f"generating {self.customers:,} customers", self.customers) as advance:
            summary = generate_world(
                self.config,
                self.world,
                self.customers,
                seed=self.seed,
                end=date(2026, 11, 1),
                progress=advance,
            )
        self.results["world"] = {
            "customers": self.customers,
            "seed": self.seed,
            "events_generated": summary.events,
        }

    def send_events(self) -> None:
        from lakecdp.cli.progress import progress_bar
        from lakecdp.cli.servers import start_collector, stop_server
        from lakecdp.signals.collector.sender import send_files

        config, port = self.config, self.config.collector.port
        started = time.monotonic()
        collector = start_collector(config, port)
        self.timings["collector cold start (to /health 200)"] = round(time.monotonic() - started, 1)
        try:
            event_files = sorted((self.world / "events").glob("*.jsonl"))
            total = _count_lines(event_files)
            with progress_bar("sending events over HTTP", total) as advance:
                sent = [0]

                def on_sent(messages: int) -> None:
                    sent[0] += messages
                    advance(sent[0], total)

                stats = send_files(
                    event_files,
                    f"http://{config.collector.host}:{port}",
                    {source: key for key, source in config.collector.write_keys.items()},
                    concurrency=4,
                    progress=on_sent,
                    historical=True,
                )
        finally:
            stop_server(collector)
        self.console.print(
            f"collector accepted {stats.accepted:,} events, refused {stats.rejected:,} "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(stats.rejected_by_reason.items()))})"
        )
        self.results["collector"] = {
            "accepted": stats.accepted,
            "refused": stats.rejected_by_reason,
        }

    # -- Airflow --------------------------------------------------------------------------------
    def dag(self, dag_id: str, **options: Any) -> Callable[[], DagRun]:
        """A step that runs `dag_id` to the end and prints its tasks."""

        def run() -> DagRun:
            dag_run = self.airflow.run(dag_id, DAILY_RUN_AT, **options)
            self.dag_runs.append(dag_run)
            self.results["airflow"].setdefault(dag_id, []).append(
                {"run_id": dag_run.run_id, "state": dag_run.state, "tasks": dag_run.states()}
            )
            print_dag_run(dag_run, self.console)
            return dag_run

        return run

    def start_spark(self) -> None:
        from lakecdp.kernel.spark import get_spark

        self.spark = get_spark(self.config, "lakecdp-demo")

    def summarize_lakehouse(self) -> None:
        from lakecdp.cli.lakehouse_report import print_lakehouse_summary

        self.results.update(print_lakehouse_summary(self.spark, self.config, self.console))

    # -- identity -------------------------------------------------------------------------------
    def identity_report(self) -> None:
        from spark_jobs.identity.quality import identity_report

        run = last_identity_run(self.spark, self.config)
        print_identity_run(run["mode"], run["run_id"], run)
        self.results["identity"] = {"run": run}
        report = identity_report(self.spark, self.config, self.world / "ground_truth")
        print_identity_report(report)
        (Path(self.config.lakehouse.root) / "identity-report.json").write_text(
            json.dumps(report, indent=2, default=str)
        )
        self.results["identity"]["report"] = report

    # -- profiles -------------------------------------------------------------------------------
    def show_profiles(self) -> None:
        from expectations.gates import data_docs_dir
        from lakecdp.cli.profile_report import audience_sizes, print_profile, sample_profile

        config, console = self.config, self.console
        profile = sample_profile(self.spark, config)
        if profile:
            print_profile(profile, config, console)
        sizes = audience_sizes(self.spark, config)
        table = Table(title="Audiences")
        table.add_column("audience")
        table.add_column("people", justify="right")
        for name, size in sizes.items():
            table.add_row(name, f"{size:,}")
        console.print(table)
        console.print(
            f"quality reports: {data_docs_dir(config)}\n"
            "query the profiles in SQL: `make sql`, then "
            f"`beeline -u jdbc:hive2://localhost:{config.sql.port}` or any JDBC/ODBC client, "
            "e.g. select * from gold.dim_customers limit 10"
        )
        self.results["profiles"] = {"sample_profile": profile, "audiences": sizes}

    # -- the run --------------------------------------------------------------------------------
    def steps(self, profiles: bool) -> list[tuple[str, Callable[[], Any]]]:
        # Without profiles (benchmarks time dbt apart) the daily run stops after identity: the
        # tasks from dbt on are marked done without running.
        after_identity = "^(dbt_build|gold_gate|feature_tables|materialize)$"
        daily = {} if profiles else {"mark_success": after_identity}
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("generate synthetic world", self.generate),
            ("send events through the collector", self.send_events),
            ("Airflow: metadata database and Spark pool", self.airflow.set_up),
            ("DAG lakecdp_microbatch: landed events into bronze", self.dag("lakecdp_microbatch")),
            (
                "DAG lakecdp_daily: ingest, identity, dbt, gates, features",
                self.dag("lakecdp_daily", **daily),
            ),
            ("start Spark (reading back what the DAGs built)", self.start_spark),
            ("count bronze tables and quarantine", self.summarize_lakehouse),
            ("score identities against ground truth", self.identity_report),
        ]
        if profiles:
            from lakecdp.cli.activation_demo import ActivationDemo
            from lakecdp.cli.decision_demo import DecisioningDemo
            from lakecdp.cli.privacy_demo import PrivacyDemo

            steps += [
                ("sample profile and audience sizes", self.show_profiles),
                *ActivationDemo(self).steps(),
                *DecisioningDemo(self).steps(),
                *PrivacyDemo(self).steps(),
            ]
        return steps

    def print_timings(self) -> None:
        table = Table(title="Time taken")
        table.add_column("step")
        table.add_column("seconds", justify="right")
        for name, seconds in self.timings.items():
            table.add_row(name, f"{seconds}")
        table.add_row("total", f"{self.total_seconds():.1f}")
        if self.dag_runs:
            tasks = sum(len(r.tasks) for r in self.dag_runs)
            overhead = sum(r.overhead_seconds for r in self.dag_runs)
            table.add_row(
                f"of which Airflow itself ({len(self.dag_runs)} DAG runs, {tasks} tasks: "
                "run wall time less its tasks')",
                f"{overhead:.1f}",
            )
            self.results["airflow"]["overhead_seconds"] = round(overhead, 1)
        self.console.print(table)

    def total_seconds(self) -> float:
        return sum(s for name, s in self.timings.items() if not name.endswith("(to /health 200)"))


def run_demo(
    config: ProjectConfig,
    *,
    customers: int,
    seed: int,
    console: Console,
    profiles: bool = True,
    rerun_syncs: bool = True,
) -> dict[str, Any]:
    """Run every layer; `profiles=False` stops after identity (benchmarks time dbt apart);
    `rerun_syncs=False` leaves out the second run of the after-gold syncs (it sends nothing).

    Raises `lakecdp.cli.pipeline.StepFailed` naming the step that failed; the timings of the steps
    that finished are in its `timings` attribute.
    """
    from lakecdp.cli.pipeline import StepFailed

    demo = _Demo(config, console, customers, seed)
    demo.rerun_syncs = rerun_syncs
    console.rule("lakecdp demo")
    try:
        run_stages(demo.steps(profiles), on_done=demo.done)
    except StepFailed as failed:
        failed.timings = dict(demo.timings)  # type: ignore[attr-defined]
        raise
    demo.print_timings()
    result = {"timings": demo.timings, **demo.results}
    out = Path(config.lakehouse.root) / "demo-summary.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    console.print(
        f"summary written to {out}; ground truth for later layers in {demo.world / 'ground_truth'}"
    )
    return result


def last_identity_run(spark: Any, config: ProjectConfig) -> dict[str, Any]:
    """The newest identity run (its stats unpacked): what the DAG's identity task did."""
    from lakecdp.kernel.delta import Lakehouse
    from spark_jobs.identity.job import last_run_row

    row = last_run_row(Lakehouse(spark, config))
    if row is None:
        return {}
    return {"run_id": row.run_id, "mode": row.mode, **json.loads(row.stats)}


def _count_lines(files: list[Path]) -> int:
    total = 0
    for file in files:
        with file.open("rb") as handle:
            total += sum(1 for _ in handle)
    return total
