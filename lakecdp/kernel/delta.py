"""The Delta table API: the one way jobs read, append, overwrite, replace and merge tables.

A table is named by (layer, name) and found through the configuration, so no job builds a path.
Every write that can create a table also names it in the catalog (`tables.register_table`):
SQL users and dbt see a table as soon as it exists, not after the next session's catalog sync.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from delta.tables import DeltaMergeBuilder, DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql.types import StructType

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.tables import is_delta_table, register_table

# Column -> SQL expression over `t` (the table) and `s` (the source), or a Column.
Updates = Mapping[str, str | Column]


class TableMissing(FileNotFoundError):
    """A table was read before anything wrote it; the message names it and what to run first."""


@dataclass(frozen=True)
class Table:
    """One lakehouse table; its location comes from `config.table_path(layer, name)`."""

    spark: SparkSession
    config: ProjectConfig
    layer: str
    name: str

    def __str__(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def path(self) -> str:
        return self.config.table_path(self.layer, self.name)

    def exists(self) -> bool:
        return is_delta_table(self.spark, self.path)

    def read(
        self, *, empty: StructType | str | None = None, missing_hint: str | None = None
    ) -> DataFrame:
        """The table's rows. A table nothing has written yet reads as an empty frame of schema
        `empty` when given (no rows yet is a valid state), else raises TableMissing with
        `missing_hint` (what to run first)."""
        if self.exists():
            return self.spark.read.format("delta").load(self.path)
        if empty is not None:
            return self.spark.createDataFrame([], empty)
        where = f"{self} does not exist at {self.path}"
        raise TableMissing(f"{where}: {missing_hint}" if missing_hint else f"{where} yet")

    def register(self) -> None:
        """Name the table in the catalog (a no-op when it is named already)."""
        register_table(self.spark, self.config, self.layer, self.name)

    def append(self, df: DataFrame) -> None:
        """Add `df`'s rows (creates the table when it is new)."""
        df.write.format("delta").mode("append").save(self.path)
        self.register()

    def overwrite(self, df: DataFrame) -> None:
        """Replace every row and the schema: for tables rebuilt whole on each run."""
        df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(self.path)
        self.register()

    def replace_where(self, df: DataFrame, predicate: str) -> None:
        """Replace exactly the rows matching `predicate` with `df`, so a rerun over the same slice
        (e.g. one file's rows) rewrites it instead of adding to it; creates the table when new."""
        if self.exists():
            df.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(
                self.path
            )
        else:
            df.write.format("delta").mode("append").save(self.path)
        self.register()

    def merge(
        self,
        source: DataFrame,
        keys: Sequence[str],
        update: Updates | Literal["all"] | None = None,
    ) -> None:
        """Upsert `source` on `keys`: a matched row takes `update` ("all": every source column;
        None: it is left as it is), an unmatched one is inserted whole. A new table is created
        with `source`, so the first run of a job needs no separate create."""
        if not self.exists():
            self.overwrite(source)
            return
        builder = self._merge(source, keys)
        if update == "all":
            builder = builder.whenMatchedUpdateAll()
        elif update:
            builder = builder.whenMatchedUpdate(set=dict(update))
        builder.whenNotMatchedInsertAll().execute()

    def update_matching(self, source: DataFrame, on: str | Sequence[str], updates: Updates) -> None:
        """Set `updates` on the rows matching a row of `source`; nothing is inserted.

        `on`: key columns equal on both sides, or a SQL condition over `t` and `s`."""
        self._merge(source, on).whenMatchedUpdate(set=dict(updates)).execute()

    def delete_matching(self, source: DataFrame, on: str | Sequence[str]) -> None:
        """Delete the rows matching a row of `source` (`on` as in `update_matching`)."""
        self._merge(source, on).whenMatchedDelete().execute()

    def merge_builder(self, source: DataFrame, on: str | Sequence[str]) -> DeltaMergeBuilder:
        """A merge of `source` for clauses the methods above do not cover (several conditional
        updates and deletes in one pass); `on` as in `update_matching`. Call `.execute()`."""
        return self._merge(source, on)

    def add_missing_columns(self, schema: StructType) -> list[str]:
        """Add the columns of `schema` the table lacks (old rows read NULL), so a field added to
        a contract reaches a table written before it without a rewrite; returns their names."""
        existing = set(self.spark.read.format("delta").load(self.path).columns)
        new = [f for f in schema.fields if f.name not in existing]
        if new:
            columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in new)
            self.spark.sql(f"ALTER TABLE delta.`{self.path}` ADD COLUMNS ({columns})")
        return [f.name for f in new]

    def last_commit_metrics(self) -> dict[str, Any]:
        """Delta's operation metrics of the newest commit (e.g. a merge's numTargetRowsInserted)."""
        row = DeltaTable.forPath(self.spark, self.path).history(1).select("operationMetrics")
        first = row.first()
        return dict(first[0] or {}) if first is not None else {}

    def _merge(self, source: DataFrame, on: str | Sequence[str]) -> DeltaMergeBuilder:
        condition = on if isinstance(on, str) else " and ".join(f"t.{k} = s.{k}" for k in on)
        return (
            DeltaTable.forPath(self.spark, self.path).alias("t").merge(source.alias("s"), condition)
        )


@dataclass(frozen=True)
class Lakehouse:
    """The session and configuration a job's tables share: `lake.table("silver", "id_map")`."""

    spark: SparkSession
    config: ProjectConfig

    def table(self, layer: str, name: str) -> Table:
        return Table(self.spark, self.config, layer, name)
