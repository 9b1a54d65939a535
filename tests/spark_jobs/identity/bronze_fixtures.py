"""Tiny bronze tables for identity tests: only the columns identity reads."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

from lakecdp.kernel.config import ProjectConfig

POS_SCHEMA = (
    "transaction_id string, phone string, loyalty_no string, _event_ts timestamp, "
    "_market string, _ingested_at timestamp"
)
EVENT_SCHEMA = (
    "message_id string, user_id string, anonymous_id string, previous_id string, "
    "device_id string, traits string, context string, properties string, event_ts timestamp, "
    "market string, _ingested_at timestamp"
)
_clock = itertools.count()


def _now() -> datetime:
    # strictly increasing ingestion times, so every append is after the last watermark
    return datetime(2026, 11, 1) + timedelta(seconds=next(_clock))


PosRow = tuple[str, str | None, str | None]


def append_pos(spark, config: ProjectConfig, rows: list[PosRow]) -> None:  # type: ignore[no-untyped-def]
    """(transaction_id, phone, loyalty_no) rows into bronze.pos (market SG)."""
    at = _now()
    data = [(t, p, loyalty, at, "SG", at) for t, p, loyalty in rows]
    spark.createDataFrame(data, POS_SCHEMA).write.format("delta").mode("append").save(
        config.table_path("bronze", "pos")
    )


def append_events(spark, config: ProjectConfig, rows: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    """Events given as dicts with message_id, user_id, anonymous_id, device_id, email, phone
    and firstName (the last three as identify traits)."""
    at = _now()
    data = [
        (
            r["message_id"],
            r.get("user_id"),
            r.get("anonymous_id"),
            None,
            r.get("device_id"),
            json.dumps({k: r[k] for k in ("email", "phone", "firstName") if k in r}),
            json.dumps({"market": "SG"}),
            "{}",
            at,
            "SG",
            at,
        )
        for r in rows
    ]
    spark.createDataFrame(data, EVENT_SCHEMA).write.format("delta").mode("append").save(
        config.table_path("bronze", "events")
    )
