"""Erasure at the syncs' destinations: what the platform sent about a person is taken back.

Governance finds the person; activation knows its destinations. The wiring (`lakecdp privacy
run`) hands this the person's customer ids (the syncs' primary key) and turns what comes back
into certificate entries:
- PostgreSQL: the rows this sync owns with those keys are deleted, then the table is VACUUMed
  (dead tuples keep deleted values until then); rows another writer owns, which we only
  updated, are counted as residual: their owner removes them.
- HTTP and ad audiences: a delete record per key through the destination's own delivery
  (signed, paced, retried), as a mirror sync sends when a row leaves its audience.
- Files: every file the sync dropped is rewritten without those keys.
Results are plain dicts (store, location, method, counts, verification, residual): activation
and governance do not import each other.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql

from lakecdp.activation.changes import Change
from lakecdp.activation.destinations import destination_for
from lakecdp.activation.postgres import OWNER
from lakecdp.kernel.config import (
    FileDestination,
    PostgresDestination,
    ProjectConfig,
)


def _entry(store: str, location: str, method: str, **counts: Any) -> dict[str, Any]:
    return {"store": store, "location": location, "method": method, **counts}


def _postgres(sync_name: str, spec: PostgresDestination, key: str, keys: list[str]) -> dict:
    table = sql.Identifier(spec.db_schema, spec.table)
    where = sql.SQL("{} = any(%s)").format(sql.Identifier(key))
    location = f"postgresql {spec.db_schema}.{spec.table}"
    with psycopg.connect(spec.dsn.get_secret_value(), autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
            (spec.db_schema, spec.table),
        ).fetchone()
        if not exists:
            return _entry(f"destination:{sync_name}", location, "no table: nothing sent yet")
        found = conn.execute(
            sql.SQL("select count(*) from {} where {}").format(table, where), (keys,)
        ).fetchone()[0]
        removed = conn.execute(
            sql.SQL("delete from {} where {} and {} = %s").format(
                table, where, sql.Identifier(OWNER)
            ),
            (keys, sync_name),
        ).rowcount
        conn.execute(sql.SQL("vacuum {}").format(table))
        after = conn.execute(
            sql.SQL("select count(*) from {} where {}").format(table, where), (keys,)
        ).fetchone()[0]
    residual = [f"{after} rows owned by another writer keep the fields we sent"] if after else []
    return _entry(
        f"destination:{sync_name}",
        location,
        "delete the sync's rows by key, then VACUUM",
        rows_found=found,
        rows_removed=removed,
        rows_after=after,
        verification=f"rows with the person's keys after: {after}",
        residual=residual,
    )


def _files(sync_name: str, spec: FileDestination, keys: set[str]) -> dict:
    root = Path(spec.path.removeprefix("file://")) / sync_name
    entry = _entry(f"destination:{sync_name}", str(root), "files rewritten without the keys")
    if "://" in spec.path and not spec.path.startswith("file://"):
        entry.update(method="object store: not erased yet", residual=[spec.path])
        return entry
    found = rewritten = 0
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if path.suffix not in (".parquet", ".csv") or path.name.startswith("."):
            continue
        table = pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
        mask = [k not in keys for k in table.column("key").to_pylist()]
        if all(mask):
            continue
        found += mask.count(False)
        kept = table.filter(pa.array(mask))
        tmp = path.with_name(f".{path.name}.erasure.tmp")
        if path.suffix == ".parquet":
            pq.write_table(kept, tmp)
        else:
            pacsv.write_csv(kept, tmp)
        os.replace(tmp, path)
        rewritten += 1
    entry.update(rows_found=found, rows_removed=found, files_rewritten=rewritten)
    entry["verification"] = f"rows with the person's keys after: {entry.get('rows_after', 0)}"
    return entry


def _deliver_deletes(config: ProjectConfig, sync_name: str, keys: list[str]) -> dict:
    destination = destination_for(config, sync_name, f"erasure-{uuid.uuid4().hex[:12]}", {})
    try:
        changes = [Change("delete", k, {}, "", f"erasure-{sync_name}-{k}") for k in keys]
        outcomes = destination.send(changes)
    finally:
        destination.close()
    accepted = sum(1 for o in outcomes if o.status == "accepted")
    failed = len(outcomes) - accepted
    spec = config.destinations[config.syncs[sync_name].destination]
    return _entry(
        f"destination:{sync_name}",
        f"{spec.type} destination {config.syncs[sync_name].destination}",
        "a delete record per key, through the destination's delivery",
        rows_found=len(keys),
        rows_removed=accepted,
        rows_after=failed,
        verification=f"deletes accepted {accepted}, not accepted {failed}",
        residual=["the receiver's own copies: it honours the delete records"],
    )


def erase_from_destinations(config: ProjectConfig, customer_ids: set[str]) -> list[dict]:
    """Take back what every sync sent about these customers."""
    out = []
    keys = sorted(customer_ids)
    for sync_name, sync in config.syncs.items():
        spec = config.destinations[sync.destination]
        if sync.primary_key != "customer_id":
            out.append(
                _entry(
                    f"destination:{sync_name}",
                    sync.destination,
                    f"not erased: keyed by {sync.primary_key}, not by customer id",
                    residual=[f"{sync.destination}: records keyed by {sync.primary_key}"],
                )
            )
        elif not keys:
            out.append(_entry(f"destination:{sync_name}", sync.destination, "no customer id"))
        elif isinstance(spec, PostgresDestination):
            out.append(_postgres(sync_name, spec, sync.primary_key, keys))
        elif isinstance(spec, FileDestination):
            out.append(_files(sync_name, spec, set(keys)))
        else:
            out.append(_deliver_deletes(config, sync_name, keys))
    return out
