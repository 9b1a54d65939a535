"""Micro-batch ingestion from the landing zone into bronze.events, on real Delta."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakecdp.kernel.config import ProjectConfig
from spark_jobs.ingest.stream import StreamOptions, run_streams

pytestmark = pytest.mark.spark


def event(message_id: str, **extra: object) -> str:
    return json.dumps(
        {
            "messageId": message_id,
            "type": "track",
            "event": "product_viewed",
            "anonymousId": "anon-1",
            "timestamp": "2026-10-01T10:00:00Z",
            "sentAt": "2026-10-01T10:00:00Z",
            "receivedAt": "2026-10-01T10:00:02Z",
            "context": {"channel": "web", "market": "SG"},
            "_source": "web",
            **extra,
        }
    )


def land(folder: str, name: str, lines: list[str]) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / name).write_text("\n".join(lines) + "\n")


def message_ids(spark, lake: ProjectConfig) -> list[str]:  # type: ignore[no-untyped-def]
    rows = spark.read.format("delta").load(lake.table_path("bronze", "events")).collect()
    return sorted(r.message_id for r in rows)


def quarantined(spark, lake: ProjectConfig) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = spark.read.format("delta").load(lake.table_path("ops", "quarantine")).collect()
    return sorted((r.origin, r.reason) for r in rows)


def test_events_are_deduplicated_and_bad_lines_quarantined(spark, spark_lake) -> None:
    lake = spark_lake
    land(
        lake.events_landing,
        "seg-1.jsonl",
        [
            event("m1"),
            event("m2"),
            '{"messageId": "broken',
            event("m9", anonymousId=None),
        ],
    )
    land(lake.events_landing, "seg-2.jsonl", [event("m2"), event("m3")])
    refusal = json.dumps(
        {
            "reason": "missing_event_name",
            "detail": "track needs an event name",
            "source": "app",
            "endpoint": "track",
            "receivedAt": "2026-10-01T10:00:00Z",
            "raw": "{}",
        }
    )
    # The client re-sent the same bad record: refused twice, quarantined once.
    land(lake.rejected_landing, "rej-1.jsonl", [refusal])
    land(lake.rejected_landing, "rej-2.jsonl", [refusal, refusal])
    run_streams(spark, lake, StreamOptions(available_now=True))
    assert message_ids(spark, lake) == ["m1", "m2", "m3"]
    assert quarantined(spark, lake) == [
        ("collector", "missing_event_name"),
        ("stream", "malformed_json"),
        ("stream", "missing_identity"),
    ]
    [row] = (
        spark.read.format("delta")
        .load(lake.table_path("bronze", "events"))
        .where("message_id = 'm1'")
        .collect()
    )
    assert row._landing_file.endswith("seg-1.jsonl")
    assert row._batch_id and row._ingested_at is not None and row._source == "web"
    batches = spark.read.format("delta").load(lake.table_path("ops", "stream_batches")).collect()
    assert sum(b.accepted for b in batches) == 4 and sum(b.quarantined for b in batches) == 2


def test_rerun_reads_only_new_segments(spark, spark_lake) -> None:
    lake = spark_lake
    land(lake.events_landing, "seg-1.jsonl", [event("m1"), event("m2")])
    run_streams(spark, lake, StreamOptions(available_now=True))
    run_streams(spark, lake, StreamOptions(available_now=True))
    assert message_ids(spark, lake) == ["m1", "m2"]
    land(lake.events_landing, "seg-2.jsonl", [event("m2"), event("m3")])
    run_streams(spark, lake, StreamOptions(available_now=True))
    assert message_ids(spark, lake) == ["m1", "m2", "m3"]
    batches = spark.read.format("delta").load(lake.table_path("ops", "stream_batches")).collect()
    assert sorted(b.lines for b in batches) == [2, 2]


def test_files_in_open_folder_are_not_read(spark, spark_lake) -> None:
    lake = spark_lake
    land(lake.events_landing, "seg-1.jsonl", [event("m1")])
    land(f"{lake.events_landing}/_open", "seg-2.jsonl", [event("m-open")])
    run_streams(spark, lake, StreamOptions(available_now=True))
    assert message_ids(spark, lake) == ["m1"]


def test_resent_bad_record_is_quarantined_once_across_runs(spark, spark_lake) -> None:
    lake = spark_lake
    refusal = json.dumps({"reason": "malformed_json", "source": "web", "raw": '{"a": '})
    land(lake.rejected_landing, "rej-1.jsonl", [refusal])
    run_streams(spark, lake, StreamOptions(available_now=True))
    land(lake.rejected_landing, "rej-2.jsonl", [refusal, refusal.replace("web", "app")])
    run_streams(spark, lake, StreamOptions(available_now=True))
    rows = spark.read.format("delta").load(lake.table_path("ops", "quarantine")).collect()
    assert sorted((r.source, r.reason) for r in rows) == [
        ("app", "malformed_json"),
        ("web", "malformed_json"),
    ]
