"""Shared fixtures: a project config rooted in a temp folder, one Spark session per run,
and a real collector on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from lakecdp.kernel.config import ProjectConfig, load_config

REPO = Path(__file__).resolve().parents[1]
CONFIG_FILE = REPO / "lakecdp.yaml"
WEB_KEY = "test-web-key"
APP_KEY = "test-app-key"
# API keys (auth.api_keys) of the tests: one per scope set, so 403s can be shown.
DECIDE_KEY = "test-decide-key-0001"
PRIVACY_KEY = "test-privacy-key-0001"
PRIVACY_READ_KEY = "test-privacy-read-0001"
DECIDE_AUTH = {"Authorization": f"Bearer {DECIDE_KEY}"}


def make_config(root: Path, **env: str) -> ProjectConfig:
    environ = {
        "LAKECDP_LAKEHOUSE_ROOT": str(root),
        "LAKECDP_WRITE_KEYS": f"{WEB_KEY}=web,{APP_KEY}=app",
        "LAKECDP_API_KEYS": (
            f"{DECIDE_KEY}=test-app:decide,"
            f"{PRIVACY_KEY}=test-desk:privacy:write+privacy:read,"
            f"{PRIVACY_READ_KEY}=test-auditor:privacy:read"
        ),
        "LAKECDP_SUBJECT_KEY": "test-subject-key",
        "LAKECDP__SPARK__SHUFFLE_PARTITIONS": "2",
        "LAKECDP__COLLECTOR__SEGMENT_ROLL_SECONDS": "0.2",
        **env,
    }
    return load_config(CONFIG_FILE, environ=environ)


@pytest.fixture
def lake(tmp_path: Path) -> ProjectConfig:
    """A project configuration whose lakehouse lives in this test's temp folder."""
    return make_config(tmp_path / "lakehouse")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningCollector:
    def __init__(self, config: ProjectConfig) -> None:
        from lakecdp.signals.collector.app import create_app

        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(config),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningCollector:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("collector did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def collector(lake: ProjectConfig) -> Iterator[RunningCollector]:
    with RunningCollector(lake) as running:
        yield running


@pytest.fixture
def client(collector: RunningCollector) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=collector.url, auth=(WEB_KEY, ""), timeout=10) as http:
        yield http


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One local[2] Spark session for the whole run (Spark on 2 cores: never two at once)."""
    from lakecdp.kernel.spark import get_spark

    config = make_config(tmp_path_factory.mktemp("spark-session"))
    session = get_spark(config, "lakecdp-tests")
    # Test tables are a few kB: Delta's default 50 partitions per snapshot are pure overhead.
    session.conf.set("spark.databricks.delta.snapshotPartitions", "2")
    yield session
    session.stop()


def forget_tables(spark) -> None:  # type: ignore[no-untyped-def]
    """The shared session forgets earlier tests' table names, views and dbt's temporary views
    (names only: every table is external, its data stays)."""
    # views first: a view over a forgotten table cannot even be listed without an error
    for db in ("staging", "bronze", "silver", "gold", "ops"):
        spark.sql(f"create database if not exists {db}")
        for table in spark.catalog.listTables(db):
            if table.isTemporary:
                spark.catalog.dropTempView(table.name)
            elif table.tableType == "VIEW":
                spark.sql(f"drop view if exists {db}.{table.name}")
            else:
                spark.sql(f"drop table if exists {db}.{table.name}")


@pytest.fixture
def spark_lake(spark, lake: ProjectConfig) -> ProjectConfig:  # type: ignore[no-untyped-def]
    """A fresh lakehouse for a Spark test: the shared session forgets earlier tests' names."""
    forget_tables(spark)
    return lake


@pytest.fixture(scope="session")
def decision_lake(spark, tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:  # type: ignore[no-untyped-def]
    """A gold lakehouse with feature tables, a champion model and a materialized SQLite online
    store (tests/feature_repo/gold_world.py), built once for the feature and decision tests."""
    from tests.feature_repo.gold_world import build_decision_lake

    config = make_config(tmp_path_factory.mktemp("decisions") / "lakehouse")
    forget_tables(spark)
    build_decision_lake(spark, config)
    return config


def wait_for(predicate: Callable[[], bool], timeout: float = 30, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
