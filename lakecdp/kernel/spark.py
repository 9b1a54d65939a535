"""The one way to get a Spark session: Delta enabled, configured from the project config.

Jars (Delta, PostgreSQL JDBC) come from a local folder filled once at install time (`make jars`),
so sessions start offline. They go on the driver class path as well as `spark.jars`: the JDBC
driver and Delta's classes must be visible to the metastore client and to the Thrift server
(see docs/catalog.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from lakecdp.kernel.config import ProjectConfig

CLASS_ARCHIVE = "spark-classes.jsa"


class MissingJarsError(RuntimeError):
    pass


def spark_jars(config: ProjectConfig) -> list[str]:
    folder = Path(config.spark.jars_dir)
    jars = sorted(str(p) for p in folder.glob("*.jar"))
    if not any("delta-spark" in Path(j).name for j in jars):
        raise MissingJarsError(
            f"no Delta jars in {folder}: run `make jars` once (it copies them from Maven Central)"
        )
    return jars


def spark_conf(config: ProjectConfig, app_name: str | None = None) -> dict[str, str]:
    """Every Spark setting the platform needs, as plain key/values (also used by the SQL server)."""
    jars = spark_jars(config)
    conf = {
        "spark.master": config.spark.master,
        "spark.app.name": app_name or config.spark.app_name,
        "spark.driver.memory": config.spark.driver_memory,
        "spark.jars": ",".join(jars),
        "spark.driver.extraClassPath": os.pathsep.join(jars),
        "spark.executor.extraClassPath": os.pathsep.join(jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": config.lakehouse.warehouse,
        "spark.sql.shuffle.partitions": str(config.spark.shuffle_partitions),
        # Delta replays its log in this many tasks on every table read (default 50): on a small
        # lakehouse that is most of a read's time. It follows the configured parallelism.
        "spark.databricks.delta.snapshotPartitions": str(
            max(1, min(50, config.spark.shuffle_partitions))
        ),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": str(config.spark.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Personal data must not outlive an erasure in the Delta log: new tables collect no
        # per-column statistics (min/max values would copy identifiers into commit files that
        # VACUUM never removes) unless a table names its own safe columns, and keep history
        # only as long as governance allows (docs/governance.md).
        "spark.databricks.delta.properties.defaults.dataSkippingNumIndexedCols": "0",
        "spark.databricks.delta.properties.defaults.logRetentionDuration": (
            f"interval {config.governance.history_retention_hours} hours"
        ),
        "spark.databricks.delta.properties.defaults.deletedFileRetentionDuration": (
            f"interval {config.governance.history_retention_hours} hours"
        ),
        "spark.sql.streaming.stopGracefullyOnShutdown": "true",
        # One Derby metastore per process would make processes disagree; see docs/catalog.md.
        "spark.sql.catalogImplementation": "in-memory",
        "spark.pyspark.python": python_for_workers(config),
        "spark.pyspark.driver.python": sys.executable,
    }
    if config.catalog.kind == "hive-postgres":
        conf.update(
            {
                "spark.sql.catalogImplementation": "hive",
                "spark.hadoop.javax.jdo.option.ConnectionURL": config.catalog.metastore_url or "",
                "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
                "spark.hadoop.javax.jdo.option.ConnectionUserName": config.catalog.metastore_user
                or "",
                "spark.hadoop.javax.jdo.option.ConnectionPassword": (
                    config.catalog.metastore_password or ""
                ),
                "spark.hadoop.hive.metastore.schema.verification": "false",
            }
        )
    conf.update(config.spark.conf)
    archive = class_archive(config)
    if archive.exists():  # infra/jars/archive_classes.py: a faster driver JVM start
        options = conf.get("spark.driver.extraJavaOptions", "")
        conf["spark.driver.extraJavaOptions"] = f"-XX:SharedArchiveFile={archive} {options}".strip()
    return conf


def class_archive(config: ProjectConfig) -> Path:
    """The class-data-sharing archive `make install` dumps beside the jars."""
    return Path(config.spark.jars_dir) / CLASS_ARCHIVE


def python_for_workers(config: ProjectConfig) -> str:
    """Python workers run the interpreter that runs this process (the venv's, which holds the
    project and its dependencies), not the first `python3` on PATH: a CLI started by its path
    from cron or an Airflow worker has no venv on PATH. `spark.pyspark.python` in the
    configuration's `spark.conf` (a cluster's own interpreter), then PYSPARK_PYTHON, come first."""
    return (
        config.spark.conf.get("spark.pyspark.python")
        or os.environ.get("PYSPARK_PYTHON")
        or sys.executable
    )


def get_spark(config: ProjectConfig, app_name: str | None = None) -> SparkSession:
    """Return the process's Spark session with the lakehouse schemas and tables registered."""
    from lakecdp.kernel import run_log

    builder = SparkSession.builder
    for key, value in spark_conf(config, app_name).items():
        builder = builder.config(key, value)
    # PySpark starts workers with PYSPARK_PYTHON (the `spark.pyspark.*` settings only reach
    # spark-submit), so the driver's environment must name the interpreter.
    os.environ["PYSPARK_PYTHON"] = python_for_workers(config)
    with run_log.child_output():  # the JVM's own output goes to the command's log file
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.setCheckpointDir(config.checkpoint_path("_rdd"))
    register_catalog(spark, config)
    return spark


def register_catalog(spark: SparkSession, config: ProjectConfig) -> None:
    """Create the layer schemas and make their names point at the Delta folders of this
    lakehouse (new folders named, names of another location re-pointed, vanished ones dropped).

    Tables are defined by their location; the catalog only maps names to locations, so any
    process (job, test, SQL server) can rebuild the same names without a shared metastore, and a
    name left by an earlier lakehouse never sends a write (a dbt merge) to the wrong place.
    """
    from lakecdp.kernel.tables import sync_catalog

    sync_catalog(spark, config)
