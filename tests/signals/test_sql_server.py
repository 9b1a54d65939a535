"""SQL access end to end: the real Thrift server on a real PostgreSQL metastore, reached over its
network port by PyHive and beeline while another Spark process keeps writing the tables."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyhive import hive

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.spark import spark_conf
from lakecdp.kernel.tables import sync_catalog
from lakecdp.signals.sql_server import (
    SqlAccessError,
    beeline_command,
    init_metastore,
    jdbc_url,
    sql_config,
    wait_for_port,
)
from tests.conftest import CONFIG_FILE, REPO, free_port, make_config, wait_for

ENSURE_POSTGRES = REPO / "infra" / "postgres" / "ensure.sh"
PG = {"host": "localhost", "port": "5432", "user": "lakecdp", "password": "lakecdp"}
PSQL = ("psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1")


def psql(sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        [*PSQL, "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", database, "-c", sql],
        env={**os.environ, "PGPASSWORD": PG["password"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"psql {sql!r} failed: {result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def metastore_db() -> Iterator[str]:
    """A metastore database of this run only, on the project's PostgreSQL (never the dev one)."""
    ensured = subprocess.run([str(ENSURE_POSTGRES)], capture_output=True, text=True, check=False)
    assert ensured.returncode == 0, f"PostgreSQL is not ready:\n{ensured.stdout}{ensured.stderr}"
    name = f"lakecdp_test_ms_{uuid.uuid4().hex[:10]}"
    psql(f"create database {name}")
    yield name
    psql(f"drop database if exists {name} with (force)")


@dataclass
class SqlServer:
    config: ProjectConfig
    env: dict[str, str]
    port: int
    log: Path

    def table(self, name: str) -> str:
        layer, table = name.split(".")
        return self.config.table_path(layer, table)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with hive.connect(host="127.0.0.1", port=self.port, username="analyst") as conn:
            cursor = conn.cursor()
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]

    def has_table(self, layer: str, table: str) -> bool:
        return (layer, table, False) in self.query(f"show tables in {layer}")


def write_customers(spark, path: str, rows: list[tuple[int, str]], mode: str) -> None:  # type: ignore[no-untyped-def]
    frame = spark.createDataFrame(rows, "customer_id long, first_name string")
    frame.write.format("delta").mode(mode).save(path)


@pytest.fixture(scope="module")
def sql_server(
    request: pytest.FixtureRequest, metastore_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlServer]:
    """`lakecdp sql serve` as a subprocess on a free port over a temp lakehouse.

    The test session's Spark starts while the server does (both take many seconds) and writes
    `gold.dim_customers` by path, as a job would; the server's rescan names it.
    """
    root = tmp_path_factory.mktemp("sql") / "lakehouse"
    port = free_port()
    env = {
        "LAKECDP_CONFIG": str(CONFIG_FILE),
        "LAKECDP_LAKEHOUSE_ROOT": str(root),
        "LAKECDP_METASTORE_URL": f"jdbc:postgresql://{PG['host']}:{PG['port']}/{metastore_db}",
        "LAKECDP_SQL_HOST": "127.0.0.1",
        "LAKECDP_SQL_PORT": str(port),
        "LAKECDP_SPARK_DRIVER_MEMORY": "1g",
        "LAKECDP__SQL__RESCAN_SECONDS": "2",
    }
    config = make_config(root, **env)
    log = root.parent / "sql-server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "lakecdp.cli", "sql", "serve"],
            env={**os.environ, **env},
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its Spark JVM too: teardown ends the whole group
        )
    try:
        spark = request.getfixturevalue("spark")
        write_customers(
            spark, config.table_path("gold", "dim_customers"), [(1, "Ann")], "overwrite"
        )
        try:
            wait_for_port("127.0.0.1", port, 240, alive=lambda: process.poll() is None)
        except Exception as exc:
            pytest.fail(f"SQL server did not start ({exc}):\n{log.read_text()[-4000:]}")
        server = SqlServer(config, {**os.environ, **env}, port, log)
        wait_for(lambda: server.has_table("gold", "dim_customers"), timeout=60, interval=1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)  # stops the endpoint and Spark in order
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is left
        process.wait(timeout=10)


def test_sql_access_uses_the_shared_metastore_even_when_jobs_are_embedded(tmp_path: Path) -> None:
    config = make_config(tmp_path, LAKECDP_SQL_PORT="10999")
    assert config.catalog.kind == "embedded"

    sql = sql_config(config)

    assert sql.catalog.kind == "hive-postgres"
    assert sql.catalog.metastore_url == config.catalog.metastore_url
    assert spark_conf(sql)["spark.sql.catalogImplementation"] == "hive"
    assert jdbc_url(sql) == "jdbc:hive2://localhost:10999/default"


def test_sql_access_without_a_metastore_url_says_what_to_set(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config = config.model_copy(
        update={"catalog": config.catalog.model_copy(update={"metastore_url": None})}
    )

    with pytest.raises(SqlAccessError, match="LAKECDP_METASTORE_URL"):
        sql_config(config)


@pytest.mark.spark
def test_sync_catalog_names_new_folders_repoints_moved_names_and_drops_vanished_ones(
    spark,  # type: ignore[no-untyped-def]
    spark_lake: ProjectConfig,
    tmp_path: Path,
) -> None:
    # One Delta write; copies of its folder are Delta tables too (the log's paths are relative).
    write_customers(spark, spark_lake.table_path("gold", "dim_a"), [(1, "Ann")], "overwrite")
    elsewhere = str(tmp_path / "old-lakehouse" / "moved")
    for target in (spark_lake.table_path("silver", "b"), spark_lake.table_path("gold", "moved")):
        shutil.copytree(spark_lake.table_path("gold", "dim_a"), target)
    shutil.copytree(spark_lake.table_path("gold", "dim_a"), elsewhere)
    spark.sql(f"create table gold.moved using delta location '{elsewhere}'")

    first = sync_catalog(spark, spark_lake)
    shutil.rmtree(spark_lake.table_path("silver", "b"))
    second = sync_catalog(spark, spark_lake)

    assert first.added == ["gold.dim_a", "silver.b"]
    assert (first.repointed, first.dropped) == (["gold.moved"], [])
    assert (second.added, second.repointed, second.dropped) == ([], [], ["silver.b"])
    location = spark.sql("describe detail gold.moved").first()["location"]
    assert location.removeprefix("file:") == spark_lake.table_path("gold", "moved")
    assert Path(elsewhere, "_delta_log").is_dir()  # names go, data stays
    assert not spark.catalog.tableExists("silver.b")
    assert not sync_catalog(spark, spark_lake)


@pytest.mark.spark
def test_pyhive_reads_gold_table_and_sees_rows_appended_while_server_runs(
    sql_server: SqlServer,
    spark,  # type: ignore[no-untyped-def]
) -> None:
    assert sql_server.query("select * from gold.dim_customers") == [(1, "Ann")]

    write_customers(spark, sql_server.table("gold.dim_customers"), [(2, "Budi")], "append")

    rows = sql_server.query("select * from gold.dim_customers order by customer_id")
    assert rows == [(1, "Ann"), (2, "Budi")]


@pytest.mark.spark
def test_table_created_after_start_gets_its_name_without_restart(
    sql_server: SqlServer,
    spark,  # type: ignore[no-untyped-def]
) -> None:
    write_customers(spark, sql_server.table("silver.late_arrivals"), [(9, "Chai")], "overwrite")

    wait_for(lambda: sql_server.has_table("silver", "late_arrivals"), timeout=60, interval=1)
    assert sql_server.query("select first_name from silver.late_arrivals") == [("Chai",)]


@pytest.mark.spark
def test_beeline_runs_a_query_over_jdbc(sql_server: SqlServer) -> None:
    url = jdbc_url(sql_server.config, "127.0.0.1", sql_server.port)
    command = beeline_command(
        sql_server.config, url, "select count(*) as n from gold.dim_customers where customer_id = 1"
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr[-2000:]
    # CSV after beeline's prompt: "0: jdbc:hive2://...> n", then "1".
    lines = [line.rsplit("> ", 1)[-1].strip() for line in result.stdout.splitlines()]
    assert [line for line in lines if line][-2:] == ["n", "1"], result.stdout


@pytest.mark.spark
def test_spark_sql_shell_queries_the_same_catalog(sql_server: SqlServer) -> None:
    query = "select customer_id, first_name from gold.dim_customers where customer_id = 1"
    result = subprocess.run(
        [sys.executable, "-m", "lakecdp.cli", "sql", "shell", "-e", query],
        env=sql_server.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines() == ["1\tAnn"]


@pytest.mark.spark
def test_names_live_in_the_postgres_metastore_whose_schema_is_made_once(
    sql_server: SqlServer, metastore_db: str
) -> None:
    names = psql(
        """select d."NAME" || '.' || t."TBL_NAME" from "TBLS" t join "DBS" d using ("DB_ID")""",
        metastore_db,
    ).splitlines()
    assert "gold.dim_customers" in names

    assert init_metastore(sql_server.config) is False  # already there: nothing recreated
