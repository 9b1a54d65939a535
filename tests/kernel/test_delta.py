"""The Delta table API: tables found by layer and name, writes that create a table name it in
the catalog, merges that create a new table, and a missing table that says what to run first."""

from __future__ import annotations

from typing import Any

import pytest

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse, Table, TableMissing

SCHEMA = "k string, v long"


def _rows(table: Table) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in table.read().collect())


def test_a_table_lives_where_the_configuration_says(lake: ProjectConfig) -> None:
    table = Lakehouse(None, lake).table("silver", "id_map")  # type: ignore[arg-type]
    assert str(table) == "silver.id_map"
    assert table.path == lake.table_path("silver", "id_map")


def test_reading_a_missing_table_names_it_and_what_to_run_first(
    lake: ProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Table, "exists", lambda self: False)
    table = Table(None, lake, "gold", "fct_orders")  # type: ignore[arg-type]
    with pytest.raises(TableMissing) as missing:
        table.read(missing_hint="run `lakecdp dbt build` first")
    assert str(missing.value) == (
        f"gold.fct_orders does not exist at {table.path}: run `lakecdp dbt build` first"
    )
    with pytest.raises(FileNotFoundError) as unhinted:  # TableMissing is a FileNotFoundError
        table.read()
    assert str(unhinted.value) == f"gold.fct_orders does not exist at {table.path} yet"


@pytest.mark.spark
def test_merge_creates_then_upserts_and_registers(spark, spark_lake: ProjectConfig) -> None:  # type: ignore[no-untyped-def]
    table = Table(spark, spark_lake, "silver", "things")
    assert not table.exists()
    assert table.read(empty=SCHEMA).count() == 0
    with pytest.raises(TableMissing, match=r"silver\.things does not exist"):
        table.read()

    def frame(*rows: tuple[str, int]) -> Any:
        return spark.createDataFrame(list(rows), SCHEMA)

    table.merge(frame(("a", 1)), ["k"], {"v": "t.v + s.v"})  # a new table: created
    assert spark.catalog.tableExists("silver.things")
    table.merge(frame(("a", 2), ("b", 5)), ["k"], {"v": "t.v + s.v"})
    assert _rows(table) == [("a", 3), ("b", 5)]
    table.merge(frame(("a", 10), ("c", 1)), ["k"])  # no update: matched rows stay
    assert _rows(table) == [("a", 3), ("b", 5), ("c", 1)]
    assert int(table.last_commit_metrics()["numTargetRowsInserted"]) == 1
    table.merge(frame(("c", 7)), ["k"], "all")
    table.update_matching(frame(("b", 0)), "t.k = s.k and s.v = 0", {"v": "t.v * 10"})
    table.delete_matching(frame(("a", 0)), ["k"])
    assert _rows(table) == [("b", 50), ("c", 7)]


@pytest.mark.spark
def test_replace_where_rewrites_only_its_slice(spark, spark_lake: ProjectConfig) -> None:  # type: ignore[no-untyped-def]
    table = Table(spark, spark_lake, "bronze", "slices")
    table.replace_where(spark.createDataFrame([("x", 1)], SCHEMA), "k = 'x'")  # created
    assert spark.catalog.tableExists("bronze.slices")
    table.append(spark.createDataFrame([("y", 1)], SCHEMA))
    table.replace_where(spark.createDataFrame([("x", 2), ("x", 3)], SCHEMA), "k = 'x'")
    table.replace_where(spark.createDataFrame([("x", 2), ("x", 3)], SCHEMA), "k = 'x'")
    assert _rows(table) == [("x", 2), ("x", 3), ("y", 1)]
    table.overwrite(spark.createDataFrame([(1,)], "n long"))  # schema and rows replaced
    assert [tuple(r) for r in table.read().collect()] == [(1,)]
