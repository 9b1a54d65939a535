"""The request ledger: privacy requests, their status history and the suppressions they hold.

One SQLite file under the governance folder (`governance.root`), shared by the privacy API and
`lakecdp privacy run`: transactions take the write lock up front (BEGIN IMMEDIATE) and wait for
each other. It holds subject hashes only, never an identifier value, so the ledger itself needs
no erasure. Every change to the suppressions republishes the list the doors read
(lakecdp/kernel/suppression.py) inside the same lock, so two writers cannot publish out of order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from lakecdp.governance.requests import Identity, PrivacyRequest, RequestType, Status
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.config.paths import join_path
from lakecdp.kernel.suppression import suppression_file, write_suppression_list

SCHEMA = """
create table if not exists requests (
    request_id text primary key,
    type text not null,
    regulation text not null,
    status text not null,
    submitted_time text not null,
    received_time text not null,
    due_time text not null,
    caller text not null,
    market text,
    suppress integer not null default 0,
    identities text not null,
    fingerprint text not null,
    callback_urls text not null default '[]',
    closure text,
    accepted_time text,
    completed_time text,
    result text
);
create table if not exists status_log (
    request_id text not null,
    at text not null,
    status text not null,
    note text
);
create table if not exists suppressions (
    hash text not null,
    request_id text not null,
    since text not null,
    lifted_time text,
    primary key (hash, request_id)
);
create table if not exists meta (name text primary key, value integer not null);
"""


class UnknownRequest(LookupError):
    pass


def now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Ledger:
    def __init__(self, path: Path, suppression_path: Path) -> None:
        self.path = path
        self.suppression_path = suppression_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.reading() as db:
            db.executescript(SCHEMA)

    @classmethod
    def from_config(cls, config: ProjectConfig) -> Ledger:
        return cls(
            Path(join_path(config.governance_root, "requests.sqlite")),
            suppression_file(config),
        )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("pragma journal_mode=wal")
        db.execute("pragma secure_delete=on")
        return db

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the lock from its first statement."""
        db = self._connect()
        try:
            db.execute("begin immediate")
            yield db
            db.execute("commit")
        except BaseException:
            db.execute("rollback")
            raise
        finally:
            db.close()

    # requests ------------------------------------------------------------------------------

    def insert(self, db: sqlite3.Connection, request: PrivacyRequest, fingerprint: str) -> None:
        db.execute(
            "insert into requests (request_id, type, regulation, status, submitted_time, "
            "received_time, due_time, caller, market, suppress, identities, fingerprint, "
            "callback_urls) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.request_id,
                request.type.value,
                request.regulation,
                request.status.value,
                _iso(request.submitted_time),
                _iso(request.received_time),
                _iso(request.due_time),
                request.caller,
                request.market,
                int(request.suppress),
                orjson.dumps([i.model_dump() for i in request.identities]).decode(),
                fingerprint,
                orjson.dumps(request.callback_urls).decode(),
            ),
        )
        self.log(db, request.request_id, request.status, f"received from {request.caller}")

    def fingerprint(self, db: sqlite3.Connection, request_id: str) -> str | None:
        row = db.execute(
            "select fingerprint from requests where request_id = ?", (request_id,)
        ).fetchone()
        return str(row["fingerprint"]) if row else None

    def get(self, request_id: str, db: sqlite3.Connection | None = None) -> PrivacyRequest:
        if db is None:
            with self.reading() as conn:
                return self.get(request_id, conn)
        found = db.execute("select * from requests where request_id = ?", (request_id,)).fetchone()
        if found is None:
            raise UnknownRequest(request_id)
        return _request(found)

    def with_status(self, *statuses: Status) -> list[PrivacyRequest]:
        marks = ",".join("?" for _ in statuses)
        with self.reading() as db:
            rows = db.execute(
                f"select * from requests where status in ({marks}) order by received_time",
                [s.value for s in statuses],
            ).fetchall()
        return [_request(r) for r in rows]

    def set_status(
        self,
        db: sqlite3.Connection,
        request_id: str,
        status: Status,
        note: str | None = None,
        **fields: Any,
    ) -> None:
        columns = {"status": status.value}
        for name, value in fields.items():
            if isinstance(value, datetime):
                columns[name] = _iso(value) or ""
            elif isinstance(value, (dict, list)):
                columns[name] = orjson.dumps(value).decode()
            else:
                columns[name] = value
        assignments = ", ".join(f"{name} = ?" for name in columns)
        db.execute(
            f"update requests set {assignments} where request_id = ?",
            [*columns.values(), request_id],
        )
        self.log(db, request_id, status, note)

    def log(
        self, db: sqlite3.Connection, request_id: str, status: Status, note: str | None
    ) -> None:
        db.execute(
            "insert into status_log values (?, ?, ?, ?)",
            (request_id, _iso(now()), status.value, note),
        )

    def history(self, request_id: str) -> list[dict[str, Any]]:
        with self.reading() as db:
            rows = db.execute(
                "select at, status, note from status_log where request_id = ? order by rowid",
                (request_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    # suppressions --------------------------------------------------------------------------

    def suppress(self, db: sqlite3.Connection, request_id: str, hashes: Iterable[str]) -> int:
        at = _iso(now())
        added = 0
        for subject in set(hashes):
            cursor = db.execute(
                "insert into suppressions (hash, request_id, since) values (?, ?, ?) "
                "on conflict (hash, request_id) do update set lifted_time = null",
                (subject, request_id, at),
            )
            added += cursor.rowcount
        self.publish(db)
        return added

    def lift(self, db: sqlite3.Connection, request_ids: Iterable[str]) -> int:
        at = _iso(now())
        lifted = 0
        for request_id in set(request_ids):
            cursor = db.execute(
                "update suppressions set lifted_time = ? "
                "where request_id = ? and lifted_time is null",
                (at, request_id),
            )
            lifted += cursor.rowcount
        self.publish(db)
        return lifted

    def suppressing_requests(self, db: sqlite3.Connection, hashes: Iterable[str]) -> list[str]:
        """Requests holding an active suppression of any of these subjects."""
        wanted = sorted(set(hashes))
        marks = ",".join("?" for _ in wanted)
        rows = db.execute(
            f"select distinct request_id from suppressions "
            f"where lifted_time is null and hash in ({marks})",
            wanted,
        ).fetchall()
        return [str(r["request_id"]) for r in rows]

    def active_suppressions(self, db: sqlite3.Connection | None = None) -> set[str]:
        if db is None:
            with self.reading() as conn:
                return self.active_suppressions(conn)
        rows = db.execute(
            "select distinct hash from suppressions where lifted_time is null"
        ).fetchall()
        return {str(r["hash"]) for r in rows}

    def publish(self, db: sqlite3.Connection) -> int:
        """Write the doors' list from the active suppressions; returns its version."""
        db.execute(
            "insert into meta values ('suppression_version', 1) "
            "on conflict (name) do update set value = value + 1"
        )
        version = int(
            db.execute("select value from meta where name = 'suppression_version'").fetchone()[0]
        )
        write_suppression_list(self.suppression_path, self.active_suppressions(db), version)
        return version


def _request(row: sqlite3.Row) -> PrivacyRequest:
    return PrivacyRequest(
        request_id=row["request_id"],
        type=RequestType(row["type"]),
        regulation=row["regulation"],
        status=Status(row["status"]),
        submitted_time=_time(row["submitted_time"]),
        received_time=_time(row["received_time"]),
        due_time=_time(row["due_time"]),
        caller=row["caller"],
        market=row["market"],
        suppress=bool(row["suppress"]),
        identities=[Identity(**i) for i in orjson.loads(row["identities"])],
        callback_urls=orjson.loads(row["callback_urls"]),
        closure=orjson.loads(row["closure"]) if row["closure"] else None,
        accepted_time=_time(row["accepted_time"]),
        completed_time=_time(row["completed_time"]),
        result=orjson.loads(row["result"]) if row["result"] else None,
    )
