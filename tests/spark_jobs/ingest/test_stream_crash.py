"""Exactly once across a crash: SIGKILL the streaming process mid-run, restart, count."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spark_jobs.ingest.stream import EVENTS_QUERY, StreamOptions, run_streams
from tests.conftest import CONFIG_FILE, make_config

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SEGMENTS = 16
EVENTS_PER_SEGMENT = 150


def _segment(index: int) -> list[str]:
    lines = []
    for n in range(EVENTS_PER_SEGMENT):
        # Every segment re-sends 10 events of the previous one, as a retrying client would.
        event_no = index * (EVENTS_PER_SEGMENT - 10) + n
        lines.append(
            json.dumps(
                {
                    "messageId": f"m-{event_no}",
                    "type": "track",
                    "event": "product_viewed",
                    "anonymousId": f"a-{event_no % 97}",
                    "timestamp": "2026-10-01T10:00:00Z",
                    "receivedAt": "2026-10-01T10:00:01Z",
                    "context": {"market": "SG"},
                    "_source": "web",
                }
            )
        )
    lines.append('{"messageId": "torn-' + str(index))  # a torn line in every segment
    return lines


def _logged(checkpoint: Path, log: str) -> int:
    """Batches in a checkpoint log: `offsets` when planned, `commits` when done."""
    folder = checkpoint / log
    return len(list(folder.glob("[0-9]*"))) if folder.exists() else 0


def test_sigkill_mid_run_then_restart_keeps_each_event_exactly_once(spark, tmp_path) -> None:
    root = tmp_path / "lakehouse"
    env = {
        "LAKECDP_LAKEHOUSE_ROOT": str(root),
        "LAKECDP__STREAMING__MAX_FILES_PER_TRIGGER": "2",
        "LAKECDP_SPARK_DRIVER_MEMORY": "1g",
        "LAKECDP__SPARK__SHUFFLE_PARTITIONS": "2",
    }
    lake = make_config(root, **env)
    landing = Path(lake.events_landing)
    landing.mkdir(parents=True)
    expected: set[str] = set()
    for index in range(SEGMENTS):
        lines = _segment(index)
        expected.update(json.loads(line)["messageId"] for line in lines[:-1])
        (landing / f"seg-{index:03d}.jsonl").write_text("\n".join(lines) + "\n")

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lakecdp.cli",
            "--config",
            str(CONFIG_FILE),
            "ingest",
            "stream",
            "--trigger-seconds",
            "1",
        ],
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = Path(lake.checkpoint_path(EVENTS_QUERY))
    try:
        deadline = time.monotonic() + 240
        # Kill inside a batch: planned in the offset log, work under way, not yet committed.
        while not (
            _logged(checkpoint, "commits") >= 2
            and _logged(checkpoint, "offsets") > _logged(checkpoint, "commits")
        ):
            assert process.poll() is None, "stream process died on its own"
            assert time.monotonic() < deadline, "stream made no progress"
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    planned, committed = _logged(checkpoint, "offsets"), _logged(checkpoint, "commits")
    assert planned > committed, "the kill fell between batches, not inside one"
    assert committed < SEGMENTS / 2, "the kill came after the work was done"

    # The restart replays the batch the kill interrupted from the offset log, then takes the
    # rest in larger batches.
    restart = make_config(root, **{**env, "LAKECDP__STREAMING__MAX_FILES_PER_TRIGGER": "100"})
    run_streams(spark, restart, StreamOptions(available_now=True))

    events = spark.read.format("delta").load(lake.table_path("bronze", "events"))
    assert events.count() == len(expected)
    assert {r.message_id for r in events.select("message_id").collect()} == expected
    torn = (
        spark.read.format("delta")
        .load(lake.table_path("ops", "quarantine"))
        .where("reason = 'malformed_json'")
        .select("raw_payload")
        .collect()
    )
    assert sorted(r.raw_payload for r in torn) == sorted(
        '{"messageId": "torn-' + str(i) for i in range(SEGMENTS)
    )
    batches = spark.read.format("delta").load(lake.table_path("ops", "stream_batches"))
    assert batches.count() == batches.select("batch_id").distinct().count()
