"""SQL access for analysts: a HiveServer2 endpoint and a spark-sql shell on the shared catalog.

The Thrift server runs *inside* a pyspark driver made by `get_spark()`, started with
`HiveThriftServer2.startWithContext`. That gives it exactly the jobs' Spark configuration
(Delta, the jars on the driver class path, the metastore) and lets the same process keep the
catalog in step with the table folders: every `sql.rescan_seconds` a table a job created since
gets its name, without restarting the server. Tables are path-based Delta, so rows appended by
jobs are visible on the next query.

SQL access always uses the shared Hive metastore in PostgreSQL (`catalog.metastore_url`), even
when `catalog.kind` is `embedded` for jobs, so that dbt, jobs and analysts share names. Its schema
is created once, up front, by DataNucleus' SchemaTool: letting concurrent sessions create it lazily
(`datanucleus.schema.autoCreateAll`) deadlocks in PostgreSQL (docs/catalog.md).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from py4j.protocol import Py4JNetworkError

from lakecdp.kernel.config import LAYERS, ProjectConfig
from lakecdp.kernel.spark import spark_conf, spark_jars
from lakecdp.kernel.tables import sync_catalog

THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
SCHEMA_TOOL = "org.datanucleus.store.schema.SchemaTool"
BEELINE = "org.apache.hive.beeline.BeeLine"
# Hive's own DataNucleus settings: the schema must be named the way the metastore client expects.
HIVE_DATANUCLEUS = {
    "datanucleus.identifierFactory": "datanucleus1",
    "datanucleus.rdbms.useLegacyNativeValueStrategy": "true",
}


class SqlAccessError(RuntimeError):
    """SQL access cannot start; the message says which step and what to do."""


# -- configuration ----------------------------------------------------------------------------
def sql_config(config: ProjectConfig) -> ProjectConfig:
    """The configuration SQL access runs with: the shared hive-postgres catalog, always."""
    catalog = config.catalog
    if catalog.kind == "hive-postgres":
        return config
    if not catalog.metastore_url:
        raise SqlAccessError(
            "SQL access needs the shared metastore: set catalog.metastore_url "
            "(env LAKECDP_METASTORE_URL), e.g. jdbc:postgresql://localhost:5432/lakecdp_metastore"
        )
    return config.model_copy(
        update={"catalog": catalog.model_copy(update={"kind": "hive-postgres"})}
    )


def jdbc_url(config: ProjectConfig, host: str | None = None, port: int | None = None) -> str:
    return f"jdbc:hive2://{host or config.sql.host}:{port or config.sql.port}/default"


def pyspark_home() -> Path:
    """The pyspark wheel is a Spark distribution: bin/spark-sql, bin/beeline and jars/."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise SqlAccessError("no `java` on PATH and no JAVA_HOME: Spark needs Java 17")
    return java


def _jvm_classpath(config: ProjectConfig) -> str:
    return os.pathsep.join([str(pyspark_home() / "jars" / "*"), *spark_jars(config)])


# -- metastore schema -------------------------------------------------------------------------
def init_metastore(config: ProjectConfig, timeout: float = 300) -> bool:
    """Create the Hive metastore schema in PostgreSQL unless it is already there.

    Returns True if it created the schema. SchemaTool's `-validate` decides (a partly created
    schema fails it; `-create` then adds only the missing tables).
    """
    cfg = sql_config(config)
    with tempfile.TemporaryDirectory(prefix="lakecdp-metastore-") as tmp:
        folder = Path(tmp)
        jdo = _extract_package_jdo(folder)
        props = folder / "datanucleus.properties"
        props.touch(mode=0o600)
        props.write_text(
            "".join(f"{key}={value}\n" for key, value in _metastore_properties(cfg).items())
        )
        base = [java_executable(), "-cp", _jvm_classpath(cfg), SCHEMA_TOOL, "-api", "JDO"]

        def run(mode: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*base, mode, "-props", str(props), str(jdo)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )

        if run("-validate").returncode == 0:
            return False
        created = run("-create")
    if created.returncode != 0:
        lines = (created.stdout + created.stderr).strip().splitlines()
        messages = [line for line in lines if not line.lstrip().startswith(("at ", "..."))]
        tail = "\n".join(messages[-6:])
        raise SqlAccessError(
            f"creating the metastore schema in {cfg.catalog.metastore_url} failed "
            f"(is PostgreSQL up? `make services`):\n{tail}"
        )
    return True


def _metastore_properties(config: ProjectConfig) -> dict[str, str]:
    catalog = config.catalog
    return {
        "javax.jdo.option.ConnectionURL": catalog.metastore_url or "",
        "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "javax.jdo.option.ConnectionUserName": catalog.metastore_user or "",
        "javax.jdo.option.ConnectionPassword": catalog.metastore_password or "",
        **HIVE_DATANUCLEUS,
    }


def _extract_package_jdo(folder: Path) -> Path:
    """The metastore's JDO mapping ships inside the hive-metastore jar of pyspark's wheel."""
    jars = sorted((pyspark_home() / "jars").glob("hive-metastore-*.jar"))
    if not jars:
        raise SqlAccessError(f"no hive-metastore jar in {pyspark_home() / 'jars'}")
    with zipfile.ZipFile(jars[-1]) as jar:
        target = folder / "package.jdo"
        target.write_bytes(jar.read("package.jdo"))
    return target


# -- the Thrift server ------------------------------------------------------------------------
def wait_for_port(host: str, port: int, timeout: float, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise SqlAccessError("the SQL server stopped while starting; see its log above")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SqlAccessError(f"the SQL server did not open {host}:{port} within {timeout:.0f}s")


def serve(
    config: ProjectConfig,
    host: str | None = None,
    port: int | None = None,
    log: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    """Run the HiveServer2 endpoint until SIGINT/SIGTERM (or `stop`), keeping names in step."""
    from lakecdp.kernel.spark import get_spark

    cfg = sql_config(config)
    host, port = host or cfg.sql.host, port or cfg.sql.port
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SqlAccessError(f"{host}:{port} is taken ({exc}); set LAKECDP_SQL_PORT") from None
    log(f"metastore {cfg.catalog.metastore_url}: checking its schema")
    if init_metastore(cfg):
        log("metastore schema created")
    thrift = {
        "spark.hadoop.hive.server2.thrift.port": str(port),
        "spark.hadoop.hive.server2.thrift.bind.host": host,
    }
    cfg = cfg.model_copy(
        update={"spark": cfg.spark.model_copy(update={"conf": {**cfg.spark.conf, **thrift}})}
    )
    spark = get_spark(cfg, "lakecdp-sql")
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    assert jvm is not None
    # Hive warns on every session about a marker key of its own; nothing to act on.
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.hadoop.hive.conf.HiveConf", jvm.org.apache.logging.log4j.Level.ERROR
    )
    log(f"catalog: {sync_catalog(spark, cfg)}")
    server = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithContext(
        spark._jsparkSession.sqlContext()  # type: ignore[attr-defined]
    )
    stop = stop or threading.Event()
    restore = _stop_on_signals(stop)
    try:
        wait_for_port(host, port, 120, alive=lambda: not stop.is_set())
        log(f"SQL endpoint ready: {jdbc_url(cfg, host, port)} (Ctrl-C stops it)")
        while not stop.wait(cfg.sql.rescan_seconds):
            try:
                changes = sync_catalog(spark, cfg)
            except Py4JNetworkError:
                raise SqlAccessError("the Spark driver (JVM) of the SQL endpoint died") from None
            except Exception as exc:  # a failed rescan must not take the endpoint down
                log(f"catalog rescan failed, retrying in {cfg.sql.rescan_seconds:.0f}s: {exc}")
                continue
            if changes:
                log(f"catalog: {changes}")
    finally:
        # Our handlers stay until Spark is down: a second Ctrl-C (`uv run` forwards the one
        # the terminal sent) would otherwise reach pyspark's handler mid-shutdown.
        log("stopping the SQL endpoint")
        try:
            server.stop()
            spark.stop()
        except Exception as exc:  # the JVM may already be gone (SIGTERM to the process group)
            log(f"the JVM had already stopped: {type(exc).__name__}")
        finally:
            restore()


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {
        sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)
    }

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


# -- clients ----------------------------------------------------------------------------------
def shell_command(config: ProjectConfig, workdir: Path, query: str | None = None) -> list[str]:
    """`spark-sql` on the shared metastore, its settings and start-up SQL written to `workdir`.

    The start-up SQL names every Delta folder (`create table if not exists`), so the shell works
    before any server ran; settings go in a properties file rather than on the command line.
    """
    cfg = sql_config(config)
    props = workdir / "spark.properties"
    props.touch(mode=0o600)
    props.write_text("".join(f"{k}={v}\n" for k, v in spark_conf(cfg, "lakecdp-sql-shell").items()))
    init = workdir / "init.sql"
    init.write_text(_registration_sql(cfg))
    command = [
        str(pyspark_home() / "bin" / "spark-sql"),
        "--properties-file",
        str(props),
        "-i",
        str(init),
    ]
    return [*command, "-e", query] if query else command


def _registration_sql(config: ProjectConfig) -> str:
    statements = [f"create database if not exists {layer};" for layer in LAYERS]
    root = config.lakehouse.tables_root
    if "://" not in root:  # object stores: names come from the server's sync instead
        for layer in LAYERS:
            for folder in sorted(Path(root, layer).glob("*/_delta_log")):
                table = folder.parent.name
                if not table.startswith(("_", ".")):
                    location = config.table_path(layer, table)
                    statements.append(
                        f"create table if not exists {layer}.{table} using delta "
                        f"location '{location}';"
                    )
    return "\n".join(statements) + "\n"


def beeline_command(
    config: ProjectConfig,
    url: str | None = None,
    query: str | None = None,
    user: str | None = None,
) -> list[str]:
    """Hive's own JDBC client from pyspark's jars: no Hive install needed to reach the server."""
    command = [
        java_executable(),
        "-cp",
        str(pyspark_home() / "jars" / "*"),
        BEELINE,
        "-u",
        url or jdbc_url(config),
        "-n",
        user or getpass.getuser(),
    ]
    if query:
        command += ["--silent=true", "--outputformat=csv2", "-e", query]
    return command
