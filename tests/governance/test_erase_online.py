"""Erasure in the online stores: Feast's SQLite file (rows in Feast's table layout, keyed by
Feast's serialized entity keys) and the caps file, swept byte by byte afterwards (free pages and
the WAL included); and a real Redis, where the person's Feast hashes and caps keys go and
another person's stay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import redis

from lakecdp.decisioning.caps import RedisCaps, SqliteCaps
from lakecdp.governance.erase_online import erase_online, feast_keys
from lakecdp.kernel.config import CapConfig
from tests.conftest import make_config

CANARY = ("cus_qzcanary", {("email", "qzcanary@example.com"), ("user_id", "u-qzcanary")})
CONTROL = ("cus_qzcontrol", {("email", "qzcontrol@example.com")})
CAP = CapConfig(max=3, hours=24)


def feast_sqlite(path: Path, project: str) -> None:
    """Two views in Feast's SQLite layout; every value carries its person's marker."""
    db = sqlite3.connect(path)
    db.execute("pragma journal_mode=wal")
    for view in ("customer_profile", "identifier_lookup"):
        db.execute(
            f"create table {project}_{view} (entity_key blob, feature_name text, value blob, "
            "event_ts timestamp, created_ts timestamp, primary key (entity_key, feature_name))"
        )
    for customer, identifiers in (CANARY, CONTROL):
        marker = customer.removeprefix("cus_").encode()
        for key in feast_keys({customer}, identifiers):
            for feature in ("first_name", "city", "customer_id"):
                db.execute(
                    f"insert into {project}_customer_profile values (?, ?, ?, 0, 0)",
                    (key, feature, b"\x12" + marker * 20),
                )
    db.commit()
    db.close()


def swept(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


def test_sqlite_stores_keep_no_byte_of_the_person(tmp_path: Path) -> None:
    config = make_config(tmp_path / "lakehouse")
    root = Path(config.features_root)
    root.mkdir(parents=True)
    feast_sqlite(root / "online.db", config.features.project)
    caps = SqliteCaps(str(root / "caps.db"))
    for customer in (CANARY[0], CONTROL[0]):
        caps.record(customer, "email", CAP)
    assert b"qzcanary" in swept(root)
    results = {r.store: r for r in erase_online(config, {CANARY[0]}, CANARY[1])}
    online, deliveries = results["online:sqlite:online.db"], results["online:sqlite:caps.db"]
    # 3 features x (1 customer key + 2 identifier keys + the customer_id reference)
    assert (online.rows_found, online.rows_removed, online.rows_after) == (12, 12, 0)
    assert (deliveries.rows_found, deliveries.rows_removed, deliveries.rows_after) == (1, 1, 0)
    everything = swept(root)
    assert b"qzcanary" not in everything  # no free page, no WAL frame
    assert b"qzcontrol" in everything
    assert caps.counts(CONTROL[0], {"email": CAP}) == {"email": 1}


def test_redis_keys_of_the_person_are_deleted(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "lakehouse",
        LAKECDP_ONLINE_STORE="redis",
        LAKECDP_REDIS_URL="localhost:6379,db=7",
    )
    client = redis.Redis(db=7)
    client.flushdb()
    project = config.features.project.encode()
    caps = RedisCaps("localhost", 6379, 7, prefix=f"{config.features.project}:caps")
    for customer, identifiers in (CANARY, CONTROL):
        for key in feast_keys({customer}, identifiers):
            client.hset(key + project, mapping={b"f": customer.encode()})
        caps.record(customer, "sms", CAP)
    [result] = erase_online(config, {CANARY[0]}, CANARY[1])
    assert (result.rows_found, result.rows_removed, result.rows_after) == (5, 5, 0)
    left = [client.hget(k, b"f") for k in client.scan_iter() if client.type(k) == b"hash"]
    assert left and all(v in (None, CONTROL[0].encode()) for v in left)
    assert caps.counts(CONTROL[0], {"sms": CAP}) == {"sms": 1}
    assert caps.counts(CANARY[0], {"sms": CAP}) == {"sms": 0}
    client.flushdb()
