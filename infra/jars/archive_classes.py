"""Dump a class-data-sharing archive (JDK dynamic AppCDS) of the classes a Spark driver with
Delta loads, so that later driver JVMs map them instead of loading and verifying each one again.

Every `lakecdp` command that needs Spark, and so every Spark task of the Airflow DAGs, starts a
driver JVM; on this 2-core machine the archive takes about 2.7 s off each session start (8.8 s
-> 6.1 s). `lakecdp.kernel.spark` passes it to the driver when it exists. A JVM whose class
path does not match the archive (other jars, another JDK) warns in its log and starts without
it, so a stale archive costs nothing but the gain. Made once at install (`make install`); a
failure here leaves no archive and is not an error.

usage: python infra/jars/archive_classes.py ARCHIVE
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def dump(archive: Path) -> None:
    from pyspark import SparkContext

    from lakecdp.kernel.config import load_config
    from lakecdp.kernel.spark import get_spark

    with tempfile.TemporaryDirectory(prefix="lakecdp-cds-") as folder:
        partial = Path(folder) / "classes.jsa"
        config = load_config(
            REPO / "lakecdp.yaml",
            # the metastore may not run yet at install: the embedded catalog loads the rest
            environ={"LAKECDP_LAKEHOUSE_ROOT": f"{folder}/lakehouse", "LAKECDP_CATALOG": "embedded"},
        )
        config.spark.conf["spark.driver.extraJavaOptions"] = (
            f"-XX:ArchiveClassesAtExit={partial} -Xlog:cds=off -Xlog:cds+dynamic=off"
        )
        archive.unlink(missing_ok=True)  # a dynamic archive is dumped over the JDK's base only
        spark = get_spark(config, "lakecdp-class-archive")
        # What most jobs do first: write, read and merge a Delta table.
        path = config.table_path("ops", "class_archive")
        spark.range(100).selectExpr("id", "cast(id as string) as v").write.format("delta").save(
            path
        )
        spark.read.format("delta").load(path).groupBy("v").count().collect()
        spark.sql(
            f"merge into delta.`{path}` t using (select 1 as id, 'x' as v) s on t.id = s.id "
            "when matched then update set * when not matched then insert *"
        )
        gateway = SparkContext._gateway
        spark.stop()
        assert gateway is not None and gateway.proc is not None
        gateway.shutdown()
        gateway.proc.stdin.close()  # the JVM exits when its stdin closes, dumping the archive
        gateway.proc.wait(timeout=300)
        if not partial.exists():
            raise RuntimeError("the JVM exited without writing the archive")
        partial.replace(archive)


def main() -> None:
    archive = Path(sys.argv[1]).resolve()
    try:
        dump(archive)
    except Exception as exc:  # noqa: BLE001 - no archive only means slower JVM starts
        print(f"class archive not made ({exc}); Spark starts without it", file=sys.stderr)
        return
    print(f"class archive for Spark drivers: {archive} ({archive.stat().st_size >> 20} MiB)")


if __name__ == "__main__":
    main()
