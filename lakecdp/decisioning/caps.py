"""Frequency caps: deliveries per customer and channel in a rolling window, counted in the
online store's own backend (a SQLite file next to Feast's, or Redis), so every replica of the
endpoint sees the same counts."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from lakecdp.kernel.config import CapConfig, ProjectConfig, join_path


class CapCounter(Protocol):
    def counts(self, customer_id: str, caps: Mapping[str, CapConfig]) -> dict[str, int]: ...
    def record(self, customer_id: str, channel: str, cap: CapConfig) -> None: ...


class SqliteCaps:
    """One row per delivery; counts are a range scan on (customer, channel, at)."""

    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute(
            "create table if not exists deliveries (customer_id text, channel text, at real)"
        )
        self._db.execute(
            "create index if not exists deliveries_key on deliveries (customer_id, channel, at)"
        )
        self._lock = threading.Lock()

    def counts(self, customer_id: str, caps: Mapping[str, CapConfig]) -> dict[str, int]:
        """One indexed read of the customer's deliveries (a handful: expired ones are deleted
        on write), counted per channel against each channel's own window."""
        now = time.time()
        with self._lock:
            rows = self._db.execute(
                "select channel, at from deliveries where customer_id = ?", (customer_id,)
            ).fetchall()
        out = dict.fromkeys(caps, 0)
        for channel, at in rows:
            cap = caps.get(channel)
            if cap is not None and at > now - cap.hours * 3600:
                out[channel] += 1
        return out

    def record(self, customer_id: str, channel: str, cap: CapConfig) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("insert into deliveries values (?, ?, ?)", (customer_id, channel, now))
            self._db.execute(
                "delete from deliveries where customer_id = ? and channel = ? and at <= ?",
                (customer_id, channel, now - cap.hours * 3600),
            )


class RedisCaps:
    """A sorted set per (customer, channel) scored by delivery time; expired members trimmed on
    write, the key expires with the window."""

    def __init__(self, host: str, port: int, db: int = 0, prefix: str = "lakecdp:caps") -> None:
        import redis

        self._redis = redis.Redis(host=host, port=port, db=db)
        self._prefix = prefix

    def _key(self, customer_id: str, channel: str) -> str:
        return f"{self._prefix}:{customer_id}:{channel}"

    def counts(self, customer_id: str, caps: Mapping[str, CapConfig]) -> dict[str, int]:
        now = time.time()
        pipe = self._redis.pipeline(transaction=False)
        for channel, cap in caps.items():
            pipe.zcount(self._key(customer_id, channel), now - cap.hours * 3600, "+inf")
        return {c: int(n) for c, n in zip(caps, pipe.execute(), strict=True)}

    def record(self, customer_id: str, channel: str, cap: CapConfig) -> None:
        now = time.time()
        key = self._key(customer_id, channel)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zadd(key, {f"{now}:{uuid.uuid4().hex[:8]}": now})
        pipe.zremrangebyscore(key, "-inf", now - cap.hours * 3600)
        pipe.expire(key, int(cap.hours * 3600) + 60)
        pipe.execute()

    def clear(self, customer_ids: Iterable[str]) -> None:
        for customer_id in customer_ids:
            for key in self._redis.scan_iter(f"{self._prefix}:{customer_id}:*"):
                self._redis.delete(key)


def cap_counter(config: ProjectConfig) -> CapCounter:
    if config.features.online_store == "redis":
        host, port, db = config.features.redis_host_port
        return RedisCaps(host, port, db, prefix=f"{config.features.project}:caps")
    return SqliteCaps(join_path(config.features_root, "caps.db"))
