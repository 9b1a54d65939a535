"""The Spark rules judge the shared vectors exactly as the collector's validator does."""

from __future__ import annotations

import json

import pytest

from spark_jobs.ingest.event_rules import parse_event_lines, to_bronze_events
from tests.kernel.contracts.event_vectors import MALFORMED_LINES, VECTORS

pytestmark = pytest.mark.spark


def test_spark_rules_agree_with_collector_on_every_vector(spark) -> None:
    lines = spark.createDataFrame([(line,) for _, line, _ in VECTORS], "value string")
    judged = {
        r.value: r.reason for r in parse_event_lines(lines).select("value", "reason").collect()
    }
    mismatches = [
        (name, expected, judged[line])
        for name, line, expected in VECTORS
        if judged[line] != expected
    ]
    assert mismatches == []


def test_malformed_and_blank_lines(spark) -> None:
    lines = spark.createDataFrame([(v,) for v in [*MALFORMED_LINES, "   "]], "value string")
    reasons = [r.reason for r in parse_event_lines(lines).collect()]
    assert reasons == ["malformed_json", "malformed_json"]


def test_bronze_event_time_corrects_client_clock_skew(spark) -> None:
    # Client clock 1 hour fast: sent at 11:00:01 by its clock, received at 10:00:01 real time.
    message = {
        "messageId": "m",
        "type": "track",
        "event": "e",
        "userId": "u",
        "timestamp": "2026-10-01T11:00:00Z",
        "sentAt": "2026-10-01T11:00:01Z",
        "receivedAt": "2026-10-01T10:00:01Z",
        "context": {"channel": "app", "market": "th", "device": {"id": "d-1"}},
        "properties": {"nested": {"a": [1, 2]}},
    }
    lines = spark.createDataFrame([(json.dumps(message),)], "value string")
    [row] = to_bronze_events(parse_event_lines(lines)).collect()
    assert row.event_ts.isoformat() == "2026-10-01T10:00:00"
    assert row.original_timestamp.isoformat() == "2026-10-01T11:00:00"
    assert (row.channel, row.market, row.device_id) == ("app", "TH", "d-1")
    assert json.loads(row.properties) == {"nested": {"a": [1, 2]}}
