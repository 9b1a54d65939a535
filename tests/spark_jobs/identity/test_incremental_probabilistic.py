"""With probabilistic matching on, an incremental run ends where a full rebuild does.

A generated world is ingested once; a second lakehouse receives the same bronze rows in two
batches and runs identity after each (full, then incremental). Both must hold the same
profiles and the same probabilistic edges: probabilistic matching is a function of the person
records and the deterministic profiles, and an incremental run replaces the edges it found
before with what it finds now.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from lakecdp.kernel.config import ProjectConfig
from spark_jobs.identity.job import run_identity
from spark_jobs.ingest.batch import run_batch_ingest
from synthetic_world import generate_world
from tests.conftest import forget_tables, make_config

pytestmark = pytest.mark.spark

BRONZE = ("crm", "pos", "loyalty", "marketplace")


def _partition(spark, config: ProjectConfig) -> set[frozenset[str]]:  # type: ignore[no-untyped-def]
    rows = spark.read.format("delta").load(config.table_path("silver", "id_map")).collect()
    profiles: dict[str, set[str]] = {}
    for r in rows:
        profiles.setdefault(r.customer_id, set()).add(f"{r.id_type}:{r.value}")
    return {frozenset(p) for p in profiles.values()}


def _probabilistic_edges(spark, config: ProjectConfig) -> set[tuple[int, int, float]]:  # type: ignore[no-untyped-def]
    edges = spark.read.format("delta").load(config.table_path("silver", "identity_edges"))
    return {
        (r.src, r.dst, round(r.probability, 9))
        for r in edges.where("kind = 'probabilistic'").collect()
    }


def test_incremental_with_probabilistic_matching_equals_a_full_rebuild(
    spark, tmp_path: Path
) -> None:
    whole = make_config(tmp_path / "whole")
    forget_tables(spark)
    generate_world(whole, tmp_path / "world", 300, seed=11, end=date(2026, 11, 1))
    run_batch_ingest(spark, whole)

    batched = make_config(tmp_path / "batched")
    for half, at in ((0, datetime(2026, 11, 2)), (1, datetime(2026, 11, 3))):
        for table in BRONZE:
            rows = spark.read.format("delta").load(whole.table_path("bronze", table))
            part = rows.where(F.abs(F.xxhash64(*rows.columns[:3])) % 2 == half)
            part.withColumn("_ingested_at", F.lit(at)).write.format("delta").mode("append").save(
                batched.table_path("bronze", table)
            )
        result = run_identity(spark, batched, probabilistic=True)
        assert result.mode == ("full" if half == 0 else "incremental")
    assert result.stats["probabilistic"]["edges"] > 0, result.stats["probabilistic"]

    rebuilt = run_identity(spark, whole, full=True, probabilistic=True)
    assert rebuilt.stats["probabilistic"]["edges"] > 0
    assert _probabilistic_edges(spark, batched) == _probabilistic_edges(spark, whole)
    assert _partition(spark, batched) == _partition(spark, whole)

    again = run_identity(spark, batched, probabilistic=True)  # no new rows: nothing changes
    assert "nothing changed" in again.stats.get("note", ""), again.stats
