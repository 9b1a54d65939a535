"""A PostgreSQL table as a sync destination: COPY into a temporary table, then one
`INSERT ... ON CONFLICT` (or UPDATE, or DELETE) per batch, in one transaction.

Each row the sync inserts is marked with the sync's name (`_lakecdp_sync`, set on insert and never
updated), so deletes touch only rows this sync created: rows another writer put in the table
survive a mirror, and a rerun after a crash still knows which rows are its own. A batch that
PostgreSQL refuses (a value the column type cannot hold) is split in halves until the refused
rows are isolated; only they are rejected, each with the error's class.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg
from psycopg import sql

from lakecdp.activation.changes import Change, DeliveryStats, Outcome

log = logging.getLogger("lakecdp.activation")
OWNER = "_lakecdp_sync"
SYNCED_AT = "_lakecdp_synced_at"

# Spark SQL type (simpleString) -> PostgreSQL type, for a table the sync creates.
_PG_TYPES = {
    "string": "text",
    "int": "integer",
    "bigint": "bigint",
    "smallint": "smallint",
    "tinyint": "smallint",
    "double": "double precision",
    "float": "real",
    "boolean": "boolean",
    "timestamp": "timestamptz",
    "timestamp_ntz": "timestamp",
    "date": "date",
}


def pg_type(spark_type: str) -> str:
    if spark_type.startswith("decimal"):
        return spark_type.replace("decimal", "numeric")
    return _PG_TYPES.get(spark_type, "jsonb")


class PostgresTable:
    """`Destination` for one table; `mode` is the sync's (insert, update, upsert, mirror)."""

    def __init__(
        self,
        dsn: str,
        schema: str,
        table: str,
        *,
        sync: str,
        key_column: str,
        field_types: dict[str, str],
        mode: str,
        batch_size: int = 10_000,
    ) -> None:
        self.sync = sync
        self.mode = mode
        self.batch_size = batch_size
        self.key_column = key_column
        self.fields = [f for f in sorted(field_types) if f != key_column]
        self.stats = DeliveryStats()
        self.table = sql.Identifier(schema, table)
        try:
            self.conn = psycopg.connect(dsn, autocommit=False, connect_timeout=10)
        except psycopg.OperationalError as exc:
            # The DSN holds the password: name the destination's table, not the DSN.
            raise ConnectionError(
                f"cannot connect to the PostgreSQL destination of {schema}.{table}: "
                f"{type(exc).__name__}"
            ) from None
        self._ensure_table(schema, table, field_types)

    def _ensure_table(self, schema: str, table: str, field_types: dict[str, str]) -> None:
        """Create the table (key as primary key) when missing; add the ownership columns to a
        table another writer created; refuse a table without a unique key or a mapped column."""
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(f), sql.SQL(pg_type(field_types[f])))
            for f in self.fields
        ]
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            cur.execute(
                sql.SQL(
                    "create table if not exists {} ({} text primary key, {}{} text, {} timestamptz)"
                ).format(
                    self.table,
                    sql.Identifier(self.key_column),
                    sql.SQL("").join(c + sql.SQL(", ") for c in columns),
                    sql.Identifier(OWNER),
                    sql.Identifier(SYNCED_AT),
                )
            )
            for column, kind in ((OWNER, "text"), (SYNCED_AT, "timestamptz")):
                cur.execute(
                    sql.SQL("alter table {} add column if not exists {} {}").format(
                        self.table, sql.Identifier(column), sql.SQL(kind)
                    )
                )
            cur.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s",
                (schema, table),
            )
            present = {r[0] for r in cur.fetchall()}
        missing = [c for c in [self.key_column, *self.fields] if c not in present]
        if missing:
            raise ValueError(
                f"destination table {schema}.{table} has no column(s) {', '.join(missing)}"
            )

    # -- Destination ------------------------------------------------------------------------
    def send(self, changes: Sequence[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        upserts = [c for c in changes if c.op == "upsert"]
        deletes = [c for c in changes if c.op == "delete"]
        for start in range(0, len(upserts), self.batch_size):
            outcomes += self._apply(upserts[start : start + self.batch_size], self._write)
        for start in range(0, len(deletes), self.batch_size):
            outcomes += self._apply(deletes[start : start + self.batch_size], self._delete)
        return outcomes

    def close(self) -> None:
        self.conn.close()

    # -- batches ----------------------------------------------------------------------------
    def _apply(self, batch: Sequence[Change], write: Any) -> list[Outcome]:
        """Write `batch` in one transaction; on a data error, halves until the bad rows are
        alone (each then rejected); on a lost connection, every row of it failed (next run)."""
        self.stats.requests += 1
        try:
            with self.conn.transaction():
                return list(write(batch))
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            if len(batch) == 1:
                change = batch[0]
                return [
                    Outcome(
                        change.key,
                        change.op,
                        "rejected",
                        error_class=type(exc).__name__,
                        reason=_reason(exc),
                    )
                ]
            self.stats.split_batches += 1
            half = len(batch) // 2
            return self._apply(batch[:half], write) + self._apply(batch[half:], write)
        except psycopg.OperationalError as exc:
            log.warning(
                "PostgreSQL destination: %s; %d rows left for the next run",
                type(exc).__name__,
                len(batch),
            )
            return [Outcome(c.key, c.op, "failed", error_class=type(exc).__name__) for c in batch]

    def _write(self, batch: Sequence[Change]) -> list[Outcome]:
        columns = [self.key_column, *self.fields]
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "create temp table if not exists lakecdp_batch "
                    "(like {} including defaults) on commit delete rows"
                ).format(self.table)
            )
            copy = sql.SQL("copy lakecdp_batch ({}) from stdin").format(
                sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cur.copy(copy) as writer:
                for change in batch:
                    writer.write_row(
                        [change.key, *[_cell(change.fields.get(f)) for f in self.fields]]
                    )
            target = sql.SQL(", ").join(map(sql.Identifier, [*columns, OWNER, SYNCED_AT]))
            chosen = sql.SQL(", ").join(map(sql.Identifier, columns))
            assignments = sql.SQL(", ").join(
                sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c))
                for c in [*self.fields, SYNCED_AT]
            )
            key = sql.Identifier(self.key_column)
            owner = sql.Identifier(OWNER)
            if self.mode == "update":
                statement = sql.SQL(
                    "update {t} set {sets} from lakecdp_batch b where {t}.{k} = b.{k} "
                    "returning {t}.{k}, {t}.{o} = %s"
                ).format(
                    t=self.table,
                    k=key,
                    o=owner,
                    sets=sql.SQL(", ").join(
                        sql.SQL("{0} = b.{0}").format(sql.Identifier(c)) for c in self.fields
                    )
                    + sql.SQL(", {} = now()").format(sql.Identifier(SYNCED_AT)),
                )
            else:
                on_conflict = (
                    sql.SQL("do nothing")
                    if self.mode == "insert"
                    else sql.SQL("do update set {}").format(assignments)
                )
                statement = sql.SQL(
                    "insert into {t} as t ({target}) select {chosen}, %s, now() from lakecdp_batch "
                    "on conflict ({k}) {on_conflict} returning t.{k}, t.{o} = %s"
                ).format(
                    t=self.table,
                    target=target,
                    chosen=chosen,
                    k=key,
                    o=owner,
                    on_conflict=on_conflict,
                )
            params = (self.sync,) if self.mode == "update" else (self.sync, self.sync)
            cur.execute(statement, params)
            written = {row[0]: bool(row[1]) for row in cur.fetchall()}
        outcomes = []
        for change in batch:
            if change.key in written:
                outcomes.append(
                    Outcome(change.key, "upsert", "accepted", created=written[change.key])
                )
            elif self.mode == "insert":
                # Already there (a rerun after a crash, or another writer's row): nothing to do.
                outcomes.append(Outcome(change.key, "upsert", "accepted"))
            else:
                outcomes.append(
                    Outcome(
                        change.key,
                        "upsert",
                        "rejected",
                        error_class="not_found",
                        reason="no row with this key in the destination (update mode)",
                    )
                )
        return outcomes

    def _delete(self, batch: Sequence[Change]) -> list[Outcome]:
        with self.conn.cursor() as cur:
            cur.execute(
                sql.SQL("delete from {} where {} = any(%s) and {} = %s").format(
                    self.table, sql.Identifier(self.key_column), sql.Identifier(OWNER)
                ),
                ([c.key for c in batch], self.sync),
            )
        # A key already gone (deleted before a crash) is as deleted as one deleted now.
        return [Outcome(c.key, "delete", "accepted") for c in batch]


def remove_owned_rows(dsn: str, schema: str, table: str, sync: str) -> int:
    """Delete the rows sync `sync` created in `schema.table` (marked by its name in
    `_lakecdp_sync`), none other; 0 when the table or the marker column does not exist. For a
    sync started over from no state (a fresh lakehouse), whose old rows would be nobody's."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        marked = conn.execute(
            "select 1 from information_schema.columns where table_schema = %s "
            "and table_name = %s and column_name = %s",
            (schema, table, OWNER),
        ).fetchone()
        if not marked:
            return 0
        removed = conn.execute(
            sql.SQL("delete from {} where {} = %s").format(
                sql.Identifier(schema, table), sql.Identifier(OWNER)
            ),
            (sync,),
        )
        return removed.rowcount


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value


def _reason(exc: Exception) -> str:
    """What PostgreSQL refused, by SQLSTATE, error class and column: never its message, which
    quotes the offending value."""
    diag = getattr(exc, "diag", None)
    state = getattr(diag, "sqlstate", None) or "?"
    column = getattr(diag, "column_name", None)
    where = f" (column {column})" if column else ""
    return f"PostgreSQL refused the row: {type(exc).__name__}, SQLSTATE {state}{where}"
