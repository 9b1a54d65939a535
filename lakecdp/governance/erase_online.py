"""Erasure in the online stores: Feast's (SQLite or Redis) and the frequency caps beside it.

The keys are exact: Feast's serialized entity keys (lakecdp/kernel/feast_keys.py) of the
person's customer ids (`customer_id` views) and of their identifiers as the identifier lookup
holds them (`type:value` and `customer_id:<id>`). SQLite deletes with `secure_delete` on (freed
pages are zeroed), then the WAL is checkpointed and truncated and the file VACUUMed, so no free
page or log frame keeps the bytes. In Redis the keys are deleted; a server that persists
(AOF or RDB) is asked to rewrite, so its files stop holding them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from lakecdp.governance.certificate import StoreResult
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.config.paths import join_path
from lakecdp.kernel.feast_keys import STRING, entity_key, redis_connection_kwargs


def feast_keys(customers: Iterable[str], identifiers: Iterable[tuple[str, str]]) -> set[bytes]:
    """Every Feast entity key that names the person."""
    customers = sorted(customers)
    refs = [f"{t}:{v}" for t, v in identifiers] + [f"customer_id:{c}" for c in customers]
    return {entity_key([("customer_id", STRING)], {"customer_id": c}) for c in customers} | {
        entity_key([("identifier", STRING)], {"identifier": r}) for r in refs
    }


def _scrub(db: sqlite3.Connection) -> None:
    """Freed pages and WAL frames must not keep deleted bytes."""
    db.execute("pragma wal_checkpoint(truncate)")
    db.execute("vacuum")
    db.execute("pragma wal_checkpoint(truncate)")


def _sqlite_feast(path: Path, keys: set[bytes], project: str) -> StoreResult:
    result = StoreResult(f"online:sqlite:{path.name}", str(path), "")
    if not path.exists():
        result.method = "no online store file: nothing to do"
        return result
    if not keys:
        result.method = "the closure names no customer or identifier: nothing to do"
        return result
    result.method = "delete by entity key (secure_delete), WAL truncated, VACUUM"
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        db.execute("pragma secure_delete = on")
        tables = [
            r[0]
            for r in db.execute("select name from sqlite_master where type = 'table'")
            if r[0].startswith(f"{project}_")
        ]
        marks = ",".join("?" for _ in keys)
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            found = db.execute(
                f"select count(*) from {quoted} where entity_key in ({marks})", list(keys)
            ).fetchone()[0]
            if found:
                cursor = db.execute(
                    f"delete from {quoted} where entity_key in ({marks})", list(keys)
                )
                result.rows_found += found
                result.rows_removed += cursor.rowcount
        if result.rows_found:
            _scrub(db)
            result.files_rewritten = 1
        result.rows_after = sum(
            db.execute(
                f'select count(*) from "{t}" where entity_key in ({marks})', list(keys)
            ).fetchone()[0]
            for t in tables
        )
    finally:
        db.close()
    result.verification = f"rows with the person's entity keys after: {result.rows_after}"
    return result


def _sqlite_caps(path: Path, customers: list[str]) -> StoreResult:
    result = StoreResult("online:sqlite:caps.db", str(path), "")
    if not path.exists() or not customers:
        result.method = "no caps file, or no customer: nothing to do"
        return result
    result.method = "delete deliveries by customer id (secure_delete), WAL truncated, VACUUM"
    marks = ",".join("?" for _ in customers)
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        db.execute("pragma secure_delete = on")
        exists = db.execute(
            "select 1 from sqlite_master where type = 'table' and name = 'deliveries'"
        ).fetchone()
        if exists:
            query = f"from deliveries where customer_id in ({marks})"
            result.rows_found = db.execute(f"select count(*) {query}", customers).fetchone()[0]
            result.rows_removed = db.execute(f"delete {query}", customers).rowcount
            if result.rows_found:
                _scrub(db)
                result.files_rewritten = 1
            result.rows_after = db.execute(f"select count(*) {query}", customers).fetchone()[0]
    finally:
        db.close()
    result.verification = f"deliveries of the person after: {result.rows_after}"
    return result


def _redis(config: ProjectConfig, keys: set[bytes], customers: list[str]) -> StoreResult:
    import redis

    settings = redis_connection_kwargs(config.features.redis_url)
    client = redis.Redis(**settings)
    project = config.features.project.encode()
    feast = [key + project for key in sorted(keys)]
    caps = [
        f"{config.features.project}:caps:{c}:{channel}"
        for c in customers
        for channel in config.consent.channels
    ]
    result = StoreResult(
        "online:redis",
        f"redis://{settings['host']}:{settings['port']}",
        "DEL of the person's Feast hashes and caps keys",
    )
    try:
        every = [*feast, *caps]
        result.rows_found = int(client.exists(*every)) if every else 0
        result.rows_removed = int(client.delete(*every)) if every else 0
        result.rows_after = int(client.exists(*every)) if every else 0
        persistence = client.info("persistence")
        if int(persistence.get("aof_enabled", 0)):
            client.bgrewriteaof()
            result.residual.append("AOF rewrite started (BGREWRITEAOF)")
        if client.config_get("save").get("save"):
            client.bgsave()
            result.residual.append("RDB snapshot rewritten (BGSAVE)")
    finally:
        client.close()
    result.verification = f"keys of the person after: {result.rows_after}"
    return result


def erase_online(
    config: ProjectConfig, customers: set[str], identifiers: set[tuple[str, str]]
) -> list[StoreResult]:
    keys = feast_keys(customers, identifiers)
    root = Path(config.features_root)
    ordered = sorted(customers)
    if config.features.online_store == "redis":
        return [_redis(config, keys, ordered)]
    return [
        _sqlite_feast(root / "online.db", keys, config.features.project),
        _sqlite_caps(Path(join_path(config.features_root, "caps.db")), ordered),
    ]
