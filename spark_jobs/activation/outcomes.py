"""Changes and outcomes as Arrow, the same wherever a change is sent from: the run's own
process (changes fetched from Spark) or a Spark task (changes of its partition).

A plan's change rows become `Change` objects for a destination; the destination's answers
become one outcome row per change, the rows the run records in Delta (state, changelog,
rejections). A change the destination did not answer for is a failure (`no_outcome`), so it is
planned again on the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import orjson
import pyarrow as pa

from lakecdp.activation.changes import Change, DeliveryStats, Outcome

# The columns a plan's changes are fetched with (see run._tagged_changes).
CHANGE_COLUMNS = ("op", "key", "fields_json", "payload_hash", "idempotency", "tracked")
OUTCOME_SCHEMA = (
    "sync string, key string, op string, status string, payload_hash string, created boolean, "
    "attempts int, http_status int, error_class string, reason string, sent_fields string, "
    "tracked boolean"
)
# One row per Spark task that sent: its DeliveryStats as JSON in `reason`, not an outcome.
STATS_OP = "__stats__"

RemovalFields = Callable[[Change], dict[str, Any]]


def changes_of(table: pa.Table | pa.RecordBatch) -> tuple[list[Change], list[bool]]:
    """The changes of a slice of the plan, and per change whether the state tracks its key."""
    loads = orjson.loads
    columns = [table.column(c).to_pylist() for c in CHANGE_COLUMNS[:5]]
    changes = [
        Change(op, key, loads(fields_json) if fields_json else {}, payload_hash, idem)
        for op, key, fields_json, payload_hash, idem in zip(*columns, strict=True)
    ]
    return changes, table.column("tracked").to_pylist()


def outcome_table(
    sync: str,
    changes: Sequence[Change],
    tracked: Sequence[bool],
    outcomes: Sequence[Outcome],
    removal_fields: RemovalFields | None = None,
) -> pa.Table:
    """One row per change with its outcome; `removal_fields` (destinations that remove by what
    was sent) says what to keep of an accepted upsert for its later delete."""
    by_key = {o.key: o for o in outcomes}
    answered = [
        by_key.get(c.key) or Outcome(c.key, c.op, "failed", error_class="no_outcome")
        for c in changes
    ]

    def kept(change: Change, outcome: Outcome) -> str | None:
        if removal_fields is None or outcome.status != "accepted" or change.op == "delete":
            return None
        fields = removal_fields(change)
        return orjson.dumps(fields).decode() if fields else None

    return pa.table(
        {
            "sync": pa.array([sync] * len(changes), pa.string()),
            "key": pa.array([c.key for c in changes], pa.string()),
            "op": pa.array([c.op for c in changes], pa.string()),
            "status": pa.array([o.status for o in answered], pa.string()),
            "payload_hash": pa.array([c.payload_hash or None for c in changes], pa.string()),
            "created": pa.array(
                [True if o.created is None else o.created for o in answered], pa.bool_()
            ),
            "attempts": pa.array([o.attempts for o in answered], pa.int32()),
            "http_status": pa.array([o.http_status for o in answered], pa.int32()),
            "error_class": pa.array([o.error_class for o in answered], pa.string()),
            "reason": pa.array([o.reason for o in answered], pa.string()),
            "sent_fields": pa.array(
                [kept(c, o) for c, o in zip(changes, answered, strict=True)], pa.string()
            ),
            "tracked": pa.array(list(tracked), pa.bool_()),
        }
    )


def stats_table(sync: str, stats: DeliveryStats) -> pa.Table:
    """A task's delivery counters as one row (op STATS_OP), for the driver to add up."""
    counters = {k: v for k, v in asdict(stats).items() if isinstance(v, int)}
    empty: list[Any] = [None]
    return pa.table(
        {
            "sync": pa.array([sync], pa.string()),
            "key": pa.array(empty, pa.string()),
            "op": pa.array([STATS_OP], pa.string()),
            "status": pa.array(empty, pa.string()),
            "payload_hash": pa.array(empty, pa.string()),
            "created": pa.array(empty, pa.bool_()),
            "attempts": pa.array(empty, pa.int32()),
            "http_status": pa.array(empty, pa.int32()),
            "error_class": pa.array(empty, pa.string()),
            "reason": pa.array([orjson.dumps(counters).decode()], pa.string()),
            "sent_fields": pa.array(empty, pa.string()),
            "tracked": pa.array(empty, pa.bool_()),
        }
    )


def status_counts(table: pa.Table) -> dict[str, int]:
    """sent, accepted, rejected, failed of an outcome table."""
    counts = {"sent": table.num_rows, "accepted": 0, "rejected": 0, "failed": 0}
    for item in table.column("status").value_counts().to_pylist():
        counts[item["values"]] += item["counts"]
    return counts
