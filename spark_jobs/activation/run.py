"""`lakecdp sync run`: plan, check the guards, deliver, and record what the destination accepted.

Delivery streams the plan's changes from Spark in chunks; after each group of chunks the
outcomes are recorded (state merged, changelog and rejections appended), so a run killed at
any point loses at most the record of what was delivered since, which the next run plans and
sends again (destinations apply a change twice as once: keys, idempotency keys). The run's
row in ops.sync_runs is written last, with counts that reconcile with its changelog.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import reduce
from typing import Any

import orjson
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.activation.changes import Change, Destination
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse
from spark_jobs.activation.deliver_in_executors import deliver_in_executors
from spark_jobs.activation.outcomes import (
    CHANGE_COLUMNS,
    STATS_OP,
    changes_of,
    outcome_table,
    status_counts,
)
from spark_jobs.activation.plan import (
    CHANGELOG,
    REJECTIONS,
    REMOVE_BY_PAYLOAD,
    RUNS,
    STATE,
    STATE_SCHEMA,
    Plan,
    plan_sync,
)

log = logging.getLogger("lakecdp.activation")

RUN_SCHEMA = (
    "run_id string, sync string, destination string, mode string, mapping_version string, "
    "started_at timestamp, finished_at timestamp, status string, forced boolean, "
    "message string, source_rows long, invalid_rows long, planned_inserts long, "
    "planned_updates long, planned_deletes long, sent long, accepted long, rejected long, "
    "failed long, requests long, retried_requests long, throttled_requests long, "
    "split_batches long, duration_seconds double"
)
CHANGELOG_SCHEMA = (
    "run_id string, sync string, key string, op string, status string, http_status int, "
    "error_class string, attempts int, at timestamp"
)
REJECTION_SCHEMA = (
    "run_id string, sync string, key string, op string, reason string, http_status int, "
    "at timestamp"
)
CHUNK_CHANGES = 100_000  # changes fetched from Spark and handed to the destination at a time
RECORD_EVERY_CHANGES = 500_000  # outcomes recorded in Delta at least this often


class SyncRefused(RuntimeError):
    """A guard stopped the run before anything was sent; the message says which and why."""


class SyncAlert(RuntimeError):
    """The run finished but rejected more than its alert threshold allows."""


@dataclass
class SyncRun:
    run_id: str
    sync: str
    status: str  # succeeded | failed | refused
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    # plan (Spark), stream (changes from Spark to Python), deliver (the destination's send),
    # record (outcomes into Delta): where a run's time went.
    step_seconds: dict[str, float] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _last_source_rows(lake: Lakehouse, name: str) -> int | None:
    runs = lake.table(*RUNS)
    if not runs.exists():
        return None
    row = (
        runs.read()
        .where((F.col("sync") == name) & (F.col("status") == "succeeded"))
        .orderBy(F.desc("finished_at"))
        .select("source_rows")
        .first()
    )
    return None if row is None else int(row.source_rows)


def check_guards(lake: Lakehouse, name: str, plan: Plan) -> str | None:
    """Why the plan must not run without --force, or None."""
    guards = lake.config.syncs[name].guards
    counts = plan.counts
    if counts["source_rows"] == 0 and not guards.allow_empty_source:
        return "the source is empty (guards.allow_empty_source is false)"
    before = _last_source_rows(lake, name)
    if before:
        drop = (before - counts["source_rows"]) / before
        if drop > guards.max_source_drop_share:
            return (
                f"the source shrank by {drop:.0%} since the last run ({before:,} -> "
                f"{counts['source_rows']:,} rows; guards.max_source_drop_share "
                f"{guards.max_source_drop_share:.0%})"
            )
    if counts["held"] and counts["delete"] / counts["held"] > guards.max_delete_share:
        share = counts["delete"] / counts["held"]
        return (
            f"the plan deletes {share:.0%} of the {counts['held']:,} rows the destination holds "
            f"from this sync (guards.max_delete_share {guards.max_delete_share:.0%})"
        )
    return None


@dataclass
class _Chunk:
    changes: list[Change]
    tracked: list[bool]  # per change: the state already has a row for its key


def _slices(plan: Plan) -> Iterator[DataFrame]:
    """The plan's changes (CHANGE_COLUMNS) in slices of about CHUNK_CHANGES by key hash, so a
    run records its outcomes slice by slice and nothing holds more than one slice at a time.
    Idempotency keys are computed here in Spark, the same SHA-256 as `idempotency_key`."""
    slices = max(1, math.ceil(plan.total / CHUNK_CHANGES))
    is_delete = F.col("op") == "delete"
    hashed = F.when(is_delete, F.lit("")).otherwise(F.col("payload_hash"))
    tagged = plan.changes.select(
        F.when(is_delete, F.lit("delete")).otherwise(F.lit("upsert")).alias("op"),
        "key",
        "fields_json",
        hashed.alias("payload_hash"),
        F.sha2(F.concat_ws("\x1f", F.lit(plan.sync), "key", hashed), 256).alias("idempotency"),
        "tracked",
        F.pmod(F.xxhash64("key"), F.lit(slices)).alias("_slice"),
    )
    for number in range(slices):
        yield tagged.where(F.col("_slice") == number).select(*CHANGE_COLUMNS)


def _changes(plan: Plan) -> Iterator[_Chunk]:
    """The plan's changes fetched to this process as Arrow, one slice at a time."""
    for changes in _slices(plan):
        table = changes.toArrow()
        if table.num_rows:
            yield _Chunk(*changes_of(table))


class _Recorder:
    """Outcomes -> ops.sync_state (merge or append), ops.sync_changelog and ops.sync_rejections."""

    def __init__(self, lake: Lakehouse, name: str, run_id: str, mapping_version: str) -> None:
        self.lake = lake
        self.sync = name
        self.run_id = run_id
        self.mapping_version = mapping_version
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.totals: dict[str, int] = {"sent": 0, "accepted": 0, "rejected": 0, "failed": 0}
        self.seconds = 0.0

    def add(self, outcomes: pa.Table) -> None:
        """Outcomes sent from this process (outcomes.outcome_table), recorded in groups."""
        for status, count in status_counts(outcomes).items():
            self.totals[status] += count
        self.pending.append(outcomes)
        self.pending_rows += outcomes.num_rows
        if self.pending_rows >= RECORD_EVERY_CHANGES:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        table = pa.concat_tables(self.pending)
        self.pending, self.pending_rows = [], 0
        self.record(self.lake.spark.createDataFrame(table), counted=True)

    def record(self, outcomes: DataFrame, *, counted: bool = False) -> None:
        """Record outcome rows (OUTCOME_SCHEMA); `counted`: already in the totals."""
        clock = time.monotonic()
        try:
            outcomes = outcomes.localCheckpoint(eager=True)
            if not counted:
                for row in outcomes.groupBy("status").count().collect():
                    self.totals["sent"] += row["count"]
                    self.totals[row.status] += row["count"]
            self._record(outcomes)
        finally:
            self.seconds += time.monotonic() - clock

    def _record(self, outcomes: DataFrame) -> None:
        at = _now()
        self._merge_state(outcomes, at)
        self.lake.table(*CHANGELOG).append(
            outcomes.select(
                F.lit(self.run_id).alias("run_id"),
                "sync",
                "key",
                "op",
                "status",
                "http_status",
                "error_class",
                "attempts",
                F.lit(at).alias("at"),
            )
        )
        rejected = outcomes.where(F.col("status") == "rejected")
        if rejected.limit(1).count():
            self.lake.table(*REJECTIONS).append(
                rejected.select(
                    F.lit(self.run_id).alias("run_id"),
                    "sync",
                    "key",
                    "op",
                    "reason",
                    "http_status",
                    F.lit(at).alias("at"),
                )
            )

    def _merge_state(self, outcomes: DataFrame, at: datetime) -> None:
        """Keys the state already tracks are merged; the others (a first load is all of them)
        are appended, which costs a fraction of a merge: the plan saw no state row for them,
        and a run is the only writer of its sync's state."""
        state = self.lake.table(*STATE)
        if not state.exists():
            state.overwrite(self.lake.spark.createDataFrame([], STATE_SCHEMA))
        accepted = F.col("status") == "accepted"
        untracked = outcomes.where(~F.col("tracked") & (F.col("op") != "delete"))
        if untracked.limit(1).count():
            # Only what the destination accepted counts as held; anything else is planned
            # again on the next run.
            state.append(
                untracked.select(
                    "sync",
                    "key",
                    F.when(accepted, F.col("payload_hash")).alias("payload_hash"),
                    F.when(accepted, F.lit(self.mapping_version)).alias("mapping_version"),
                    F.when(accepted, F.col("created")).otherwise(F.lit(False)).alias("created"),
                    F.col("status").alias("last_status"),
                    F.when(accepted, F.lit(0)).otherwise(F.lit(1)).alias("attempts"),
                    F.lit(self.run_id).alias("last_run_id"),
                    F.lit(at).alias("updated_at"),
                    F.when(accepted, F.col("sent_fields")).alias("sent_fields"),
                )
            )
        tracked = outcomes.where(F.col("tracked"))
        if not tracked.limit(1).count():
            return
        accepted = F.col("s.status") == "accepted"
        state.merge_builder(tracked, "t.sync = s.sync and t.key = s.key").whenMatchedDelete(
            condition=accepted & (F.col("s.op") == "delete")
        ).whenMatchedUpdate(
            condition=accepted,
            set={
                "payload_hash": "s.payload_hash",
                "mapping_version": F.lit(self.mapping_version),
                "created": "t.created or s.created",
                "sent_fields": "s.sent_fields",
                "last_status": "s.status",
                "attempts": F.lit(0),
                "last_run_id": F.lit(self.run_id),
                "updated_at": F.lit(at),
            },
        ).whenMatchedUpdate(
            set={
                "last_status": "s.status",
                "attempts": "t.attempts + 1",
                "last_run_id": F.lit(self.run_id),
                "updated_at": F.lit(at),
            },
        ).execute()


def run_sync(
    spark: SparkSession,
    config: ProjectConfig,
    name: str,
    *,
    force: bool = False,
    open_destination: Callable[[str, str, dict[str, str]], Destination] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SyncRun:
    """One run of sync `name`. Raises SyncRefused (guard) and SyncAlert (rejected share above
    the alert threshold) after recording the run; other errors after recording it failed."""
    from lakecdp.activation.destinations import destination_for

    def opener(sync_name: str, run_id: str, field_types: dict[str, str]) -> Destination:
        if open_destination is not None:
            return open_destination(sync_name, run_id, field_types)
        return destination_for(config, sync_name, run_id, field_types)

    sync = config.syncs[name]
    lake = Lakehouse(spark, config)
    started = _now()
    clock = time.monotonic()
    run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    plan = plan_sync(spark, config, name)
    result = SyncRun(run_id, name, "succeeded", counts=dict(plan.counts))
    result.step_seconds["plan"] = round(time.monotonic() - clock, 2)
    refusal = check_guards(lake, name, plan)
    delivery: dict[str, int] = {}
    removes_by_payload = config.destinations[sync.destination].type in REMOVE_BY_PAYLOAD
    recorder = _Recorder(lake, name, run_id, sync.mapping_version)
    try:
        if refusal and not force:
            result.status, result.message = "refused", refusal
            raise SyncRefused(f"sync {name} refused: {refusal}; rerun with --force to send")
        if refusal:
            result.message = f"forced past: {refusal}"
        _record_invalid(lake, plan, run_id)
        if plan.total and sync.deliver_in == "executors":
            delivery = _deliver_from_executors(
                plan, config, run_id, recorder, result, removes_by_payload, on_progress
            )
        elif plan.total:
            destination = opener(name, run_id, plan.field_types)
            removal = getattr(destination, "removal_fields", None) if removes_by_payload else None
            if removes_by_payload and removal is None:
                removal = lambda change: dict(change.fields)  # noqa: E731
            started_delivery = time.monotonic()
            sending = 0.0
            try:
                for chunk in _changes(plan):
                    sent_at = time.monotonic()
                    outcomes = destination.send(chunk.changes)
                    sending += time.monotonic() - sent_at
                    recorder.add(
                        outcome_table(name, chunk.changes, chunk.tracked, outcomes, removal)
                    )
                    if on_progress is not None:
                        on_progress(recorder.totals["sent"], plan.total)
            finally:
                recorder.flush()
                total = time.monotonic() - started_delivery
                result.step_seconds.update(
                    deliver=round(sending, 2),
                    record=round(recorder.seconds, 2),
                    stream=round(total - sending - recorder.seconds, 2),
                )
                stats = getattr(destination, "stats", None)
                if stats is not None:
                    delivery = {k: v for k, v in asdict(stats).items() if isinstance(v, int)}
                destination.close()
        sent = recorder.totals["sent"]
        share = recorder.totals["rejected"] / sent if sent else 0.0
        if share > sync.alerts.max_rejected_share:
            result.status = "failed"
            result.message = (
                f"sync {name} rejected {share:.1%} of {sent:,} rows "
                f"(alerts.max_rejected_share {sync.alerts.max_rejected_share:.1%})"
            )
            raise SyncAlert(result.message)
        if recorder.totals["failed"]:
            result.message = (
                f"{recorder.totals['failed']:,} rows could not be delivered; the next run "
                "sends them again"
            )
    except (SyncRefused, SyncAlert):
        raise
    except Exception as exc:
        result.status = "failed"
        result.message = f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        result.counts.update(recorder.totals)
        result.counts.update(delivery)
        result.seconds = round(time.monotonic() - clock, 2)
        _write_run(lake, result, plan, started, force)
    return result


def _deliver_from_executors(
    plan: Plan,
    config: ProjectConfig,
    run_id: str,
    recorder: _Recorder,
    result: SyncRun,
    removes_by_payload: bool,
    on_progress: Callable[[int, int], None] | None,
) -> dict[str, int]:
    """Send each slice from the Spark tasks that hold it, record its outcomes, and return the
    delivery counters added up over the tasks."""
    counters: dict[str, int] = {}
    sending = 0.0
    answered: list[DataFrame] = []  # slices sent and not yet recorded
    answered_rows = 0

    def record() -> None:
        nonlocal answered, answered_rows
        if answered:
            recorder.record(reduce(DataFrame.unionByName, answered))
            answered, answered_rows = [], 0
            if on_progress is not None:
                on_progress(recorder.totals["sent"], plan.total)

    try:
        for number, changes in enumerate(_slices(plan)):
            sent_at = time.monotonic()
            outcomes = deliver_in_executors(
                changes,
                config,
                plan.sync,
                run_id,
                plan.field_types,
                slice_number=number,
                removes_by_payload=removes_by_payload,
            ).localCheckpoint(eager=True)  # the sends happen here, once
            sending += time.monotonic() - sent_at
            stats = outcomes.where(F.col("op") == STATS_OP).select("reason").collect()
            for row in stats:
                for counter, value in orjson.loads(row.reason).items():
                    counters[counter] = counters.get(counter, 0) + int(value)
            answered.append(outcomes.where(F.col("op") != STATS_OP))
            answered_rows += CHUNK_CHANGES  # a slice holds about this many
            if answered_rows >= RECORD_EVERY_CHANGES:
                record()
    finally:
        record()  # what was sent is recorded, even when a later slice failed
        result.step_seconds.update(deliver=round(sending, 2), record=round(recorder.seconds, 2))
    return counters


def _record_invalid(lake: Lakehouse, plan: Plan, run_id: str) -> None:
    """Rows the source holds but no destination can take (null or duplicate key)."""
    if plan.invalid is None or not plan.counts.get("invalid"):
        return
    lake.table(*REJECTIONS).append(
        plan.invalid.select(
            F.lit(run_id).alias("run_id"),
            F.lit(plan.sync).alias("sync"),
            "key",
            F.lit("none").alias("op"),
            "reason",
            F.lit(None).cast("int").alias("http_status"),
            F.lit(_now()).alias("at"),
        )
    )


def _write_run(
    lake: Lakehouse, result: SyncRun, plan: Plan, started: datetime, forced: bool
) -> None:
    sync = lake.config.syncs[result.sync]
    counted = {
        "source_rows": "source_rows",
        "invalid_rows": "invalid",
        "planned_inserts": "insert",
        "planned_updates": "update",
        "planned_deletes": "delete",
        **{k: k for k in ("sent", "accepted", "rejected", "failed", "requests")},
        **{k: k for k in ("retried_requests", "throttled_requests", "split_batches")},
    }
    values: dict[str, Any] = {
        "run_id": result.run_id,
        "sync": result.sync,
        "destination": sync.destination,
        "mode": sync.mode,
        "mapping_version": sync.mapping_version,
        "started_at": started,
        "finished_at": _now(),
        "status": result.status,
        "forced": forced,
        "message": result.message,
        **{column: result.counts.get(count, 0) for column, count in counted.items()},
        "duration_seconds": result.seconds,
    }
    # In the schema's order; a column added to RUN_SCHEMA without a value fails here, loudly.
    row = tuple(values[part.split()[0]] for part in RUN_SCHEMA.split(","))
    lake.table(*RUNS).append(lake.spark.createDataFrame([row], RUN_SCHEMA))
