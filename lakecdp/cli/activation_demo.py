"""The activation part of `make demo`: `lakecdp_audience_syncs` runs every sync scheduled after
the gold build (an audience into PostgreSQL, another over HTTP to the reference receiver the
demo starts), then runs again and sends nothing; each run's counts are read back from
`ops.sync_runs`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from rich.console import Console

from lakecdp.kernel.config import AFTER_GOLD, HttpDestination, ProjectConfig


class _DemoRun(Protocol):
    config: ProjectConfig
    console: Console
    spark: Any
    timings: dict[str, float]
    results: dict[str, Any]
    rerun_syncs: bool  # run the after-gold sync DAG a second time (it sends nothing)

    def dag(self, dag_id: str, **options: Any) -> Callable[[], Any]: ...


class ActivationDemo:
    """The demo's sync steps; each fills `demo.results["activation"]`."""

    def __init__(self, demo: _DemoRun) -> None:
        self.demo = demo
        self.out: dict[str, Any] = {}
        self.running: list[Any] = []
        demo.results["activation"] = self.out

    def steps(self) -> list[tuple[str, Callable[[], Any]]]:
        if not self.demo.config.syncs:
            return []
        steps = [("sync audiences to destinations (reverse ETL)", self.sync_all)]
        if self.demo.rerun_syncs:
            steps.append(("sync again: nothing changed, nothing sent", self.sync_again))
        return steps

    def _receivers(self) -> list[Any]:
        return start_receivers(self.demo.config)

    def _run_all(self, key: str, *, scheduled: bool) -> None:
        """One run of the sync DAGs (the syncs after gold; with `scheduled`, also those on a
        cron that fires at the run's time), then the newest row of ops.sync_runs of each sync
        that ran."""
        from lakecdp.kernel.delta import Lakehouse
        from spark_jobs.activation.plan import last_runs

        config = self.demo.config
        ran = [n for n, s in config.syncs.items() if s.schedule == AFTER_GOLD]
        self.demo.dag("lakecdp_audience_syncs")()
        if scheduled and len(ran) < len(config.syncs):
            self.demo.dag("lakecdp_scheduled_syncs")()
            ran = list(config.syncs)
        newest = last_runs(Lakehouse(self.demo.spark, config))
        self.out[key] = {name: newest[name].asDict() for name in ran}

    def _stop_receivers(self) -> None:
        from lakecdp.cli.servers import stop_server

        for receiver in self.running:
            stop_server(receiver)
        self.running = []

    def _fresh_postgres_tables(self) -> None:
        """A demo starts from a fresh lakehouse, so its syncs have no state: rows an earlier demo
        left in a PostgreSQL destination would be nobody's. Remove the rows the demo's syncs
        created there (only those, as a mirror would)."""
        from lakecdp.activation.postgres import remove_owned_rows
        from lakecdp.kernel.config import PostgresDestination

        config = self.demo.config
        for name, sync in config.syncs.items():
            spec = config.destinations[sync.destination]
            if isinstance(spec, PostgresDestination):
                remove_owned_rows(spec.dsn.get_secret_value(), spec.db_schema, spec.table, name)

    def sync_all(self) -> None:
        self._fresh_postgres_tables()
        self.running = self._receivers()  # kept for the rerun, which finds what they hold
        try:
            self._run_all("first_run", scheduled=True)
        except BaseException:
            self._stop_receivers()
            raise
        if not self.demo.rerun_syncs:
            self._stop_receivers()

    def sync_again(self) -> None:
        try:
            # The rerun shows the after-gold DAG once more; each task costs a process and a JVM
            # start, and the syncs' idempotence is the same whatever DAG runs them.
            self._run_all("rerun", scheduled=False)
        finally:
            self._stop_receivers()
        sent = {name: run["sent"] for name, run in sorted(self.out["rerun"].items())}
        self.demo.console.print(
            f"rerun on unchanged audiences sent {sum(sent.values())} changes: "
            + ", ".join(f"{n} {s}" for n, s in sent.items())
            + "; `lakecdp sync status` and `lakecdp sync history NAME` show every run"
        )


def start_receivers(config: ProjectConfig) -> list[Any]:
    """The reference receiver of every http destination a sync uses, started and ready."""
    from lakecdp.cli.servers import start_cli_server

    used = {s.destination for s in config.syncs.values()}
    started = []
    for name in sorted(used):
        spec = config.destinations[name]
        if isinstance(spec, HttpDestination):
            url = urlsplit(spec.url)
            health = f"{url.scheme}://{url.netloc}/health"
            started.append(
                start_cli_server(config, ["sync", "receiver", "--destination", name], health)
            )
    return started
