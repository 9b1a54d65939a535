"""Rows a sync owns in a PostgreSQL destination (the project's PostgreSQL, `make services`):
two syncs and another writer share a table; removing one sync's rows leaves the others'."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from lakecdp.activation.changes import Change, idempotency_key
from lakecdp.activation.postgres import PostgresTable, remove_owned_rows

DSN = "postgresql://lakecdp:lakecdp@localhost:5432/lakecdp_activation"


@pytest.fixture
def table() -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"drop table if exists public.{name}")


def _upsert(sync: str, key: str) -> Change:
    return Change(
        "upsert",
        key,
        {"customer_id": key, "email": f"{key}@x.io"},
        "h",
        idempotency_key(sync, key, "h"),
    )


def _send(table: str, sync: str, keys: list[str]) -> None:
    destination = PostgresTable(
        DSN,
        "public",
        table,
        sync=sync,
        key_column="customer_id",
        field_types={"customer_id": "string", "email": "string"},
        mode="upsert",
    )
    outcomes = destination.send([_upsert(sync, k) for k in keys])
    destination.close()
    assert {o.status for o in outcomes} == {"accepted"}


def test_removing_a_syncs_rows_leaves_other_syncs_and_other_writers_rows(table: str) -> None:
    assert remove_owned_rows(DSN, "public", table, "a") == 0  # no table yet: nothing to do
    _send(table, "a", ["c1", "c2"])
    _send(table, "b", ["c3"])
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"insert into public.{table} (customer_id, email) values ('c9', 'crm@x.io')")
    assert remove_owned_rows(DSN, "public", table, "a") == 2
    with psycopg.connect(DSN) as conn:
        left = conn.execute(f"select customer_id, _lakecdp_sync from public.{table}").fetchall()
    assert sorted(left, key=lambda r: r[0]) == [("c3", "b"), ("c9", None)]
