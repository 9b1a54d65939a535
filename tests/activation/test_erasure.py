"""Erasure at the destinations: the project's real PostgreSQL (the sync's own rows deleted and
the table vacuumed; a row another writer owns counted as residual) and a file drop rewritten
without the person's keys."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from lakecdp.activation.erasure import erase_from_destinations
from tests.conftest import make_config

DSN = "postgresql://lakecdp:lakecdp@localhost:5432/lakecdp_activation"


def test_what_the_syncs_sent_is_taken_back(tmp_path: Path) -> None:
    table = f"erasure_{uuid.uuid4().hex[:8]}"
    drops = tmp_path / "drops"
    config = make_config(
        tmp_path / "lakehouse",
        LAKECDP__DESTINATIONS__CRM_DB__TABLE=table,
        LAKECDP__DESTINATIONS__WEBHOOK=f'{{"type": "file", "path": "{drops}"}}',
    )
    with psycopg.connect(DSN, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("create schema if not exists marketing")
        cur.execute(
            f"create table marketing.{table} (customer_id text primary key, email text, "
            "_lakecdp_sync text, _lakecdp_synced_at timestamptz)"
        )
        cur.executemany(
            f"insert into marketing.{table} values (%s, %s, %s, now())",
            [
                ("cus_canary", "canary@example.com", "lapsing_to_crm"),
                ("cus_canary_crm", "canary2@example.com", "someone_else"),
                ("cus_control", "control@example.com", "lapsing_to_crm"),
            ],
        )
    folder = drops / "new_app_users_to_webhook" / "run_id=r1"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"op": ["upsert", "upsert"], "key": ["cus_canary", "cus_control"]}),
        folder / "part-0.parquet",
    )
    try:
        results = {
            r["store"]: r for r in erase_from_destinations(config, {"cus_canary", "cus_canary_crm"})
        }
        crm = results["destination:lapsing_to_crm"]
        assert (crm["rows_found"], crm["rows_removed"], crm["rows_after"]) == (2, 1, 1)
        assert crm["residual"] == ["1 rows owned by another writer keep the fields we sent"]
        with psycopg.connect(DSN) as conn:
            left = {r[0] for r in conn.execute(f"select customer_id from marketing.{table}")}
        assert left == {"cus_canary_crm", "cus_control"}
        files = results["destination:new_app_users_to_webhook"]
        assert (files["rows_removed"], files["files_rewritten"]) == (1, 1)
        assert pq.read_table(folder / "part-0.parquet").column("key").to_pylist() == ["cus_control"]
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"drop table if exists marketing.{table}")
