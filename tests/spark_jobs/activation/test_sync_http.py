"""Audience syncs over HTTP to the real reference receiver on loopback (faults injected), into
files, and a run killed with SIGKILL then rerun: every key exactly once, none missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from lakecdp.activation.receiver import Faults, ReceiverSettings, start_receiver
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse
from spark_jobs.activation.plan import CHANGELOG, STATE, STATE_SCHEMA, plan_sync
from spark_jobs.activation.run import run_sync
from tests.conftest import CONFIG_FILE, make_config

pytestmark = pytest.mark.spark

SECRET = "test-signing-secret"
AUDIENCE_SCHEMA = "customer_id string, email string, value_to_date double"


def _env(root: Path, destination: dict[str, Any], **sync: Any) -> dict[str, str]:
    spec = {
        "source": "aud_test",
        "mode": "mirror",
        "destination": "hook",
        "mapping": {"email": "email", "value": "value_to_date"},
        "guards": {"max_delete_share": 1.0, "max_source_drop_share": 1.0},
        **sync,
    }
    return {
        "LAKECDP_LAKEHOUSE_ROOT": str(root),
        "LAKECDP__DESTINATIONS__HOOK": json.dumps(destination),
        "LAKECDP__SYNCS__AUDIENCE": json.dumps(spec),
    }


def _config(env: dict[str, str]) -> ProjectConfig:
    return make_config(Path(env["LAKECDP_LAKEHOUSE_ROOT"]), **env)


def _audience(spark, config: ProjectConfig, n: int, version: int = 0) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    rows = [(f"c{i:04d}", f"p{i}@example.com", float(i + version)) for i in range(n)]
    Lakehouse(spark, config).table("gold", "aud_test").overwrite(
        spark.createDataFrame(rows, AUDIENCE_SCHEMA)
    )
    return {k: {"email": e, "value": v} for k, e, v in rows}


def _http(url: str, **limits: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "url": url,
        "signing_secret": SECRET,
        "batch_size": 25,
        "limits": {"requests_per_second": 200, "concurrency": 4, "timeout_seconds": 1, **limits},
    }


def test_http_sync_is_exactly_once_through_throttling_errors_and_lost_acknowledgements(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Which request meets a fault depends on the run id, so the shares are high enough that
    # 32+ requests almost surely meet a retryable one (0.78^32 < 0.1%) while a batch failing
    # all its retries stays rarer still (0.22^6 per batch); the cap (below the sender's pace)
    # makes 429s certain.
    faults = Faults(
        seed=3,
        throttle_share=0.1,
        retry_after_seconds=0.05,
        server_error_share=0.1,
        lost_ack_share=0.1,
        timeout_share=0.02,
        timeout_sleep_seconds=1.5,
        max_requests_per_second=10,
    )
    with start_receiver(ReceiverSettings(signing_secret=SECRET, faults=faults)) as receiver:
        config = _config(_env(tmp_path / "lake", _http(receiver.records_url)))
        expected = _audience(spark, config, 800)
        first = run_sync(spark, config, "audience")
        assert first.counts["accepted"] == 800 and first.counts["failed"] == 0, first.counts
        assert first.counts["retried_requests"] > 0 and first.counts["throttled_requests"] > 0
        assert receiver.state.records["audience"] == expected
        assert set(receiver.state.applied["audience"].values()) == {1}  # each key once

        # Changes follow: 10 values changed, 5 people left; nothing else is sent.
        changed = _audience(spark, config, 795, version=0)
        for i in range(10):
            changed[f"c{i:04d}"]["value"] = 1000.0 + i
        rows = [(k, v["email"], v["value"]) for k, v in changed.items()]
        Lakehouse(spark, config).table("gold", "aud_test").overwrite(
            spark.createDataFrame(rows, AUDIENCE_SCHEMA)
        )
        second = run_sync(spark, config, "audience")
        assert (second.counts["update"], second.counts["delete"], second.counts["sent"]) == (
            10,
            5,
            15,
        )
        assert receiver.state.records["audience"] == changed

        assert run_sync(spark, config, "audience").counts["sent"] == 0


def test_rejected_rows_are_retried_and_a_wrong_secret_fails_rows_without_losing_them(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    faults = Faults(poison_keys=frozenset({"c0003", "c0017"}))
    with start_receiver(ReceiverSettings(signing_secret=SECRET, faults=faults)) as receiver:
        env = _env(
            tmp_path / "lake", _http(receiver.records_url), alerts={"max_rejected_share": 0.5}
        )
        config = _config(env)
        _audience(spark, config, 40)
        result = run_sync(spark, config, "audience")
        assert (result.counts["accepted"], result.counts["rejected"]) == (38, 2)
        state = {r.key: r for r in Lakehouse(spark, config).table(*STATE).read().collect()}
        assert state["c0003"].payload_hash is None and state["c0003"].last_status == "rejected"
        receiver.state.reset(Faults())  # the receiver accepts them now
        retry = run_sync(spark, config, "audience")
        assert (retry.counts["sent"], retry.counts["accepted"]) == (2, 2)

        wrong = _http(receiver.records_url)
        wrong["signing_secret"] = "not-the-secret"
        config = _config(_env(tmp_path / "other", wrong))
        _audience(spark, config, 10)
        failed = run_sync(spark, config, "audience")
        assert (failed.counts["failed"], failed.counts["accepted"]) == (10, 0)
        assert "not-the-secret" not in failed.message
        # Nothing was lost: the next run plans every row again.
        assert plan_sync(spark, config, "audience").counts["insert"] == 10


def test_file_destination_writes_each_runs_changes_as_complete_files(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "drop"
    config = _config(_env(tmp_path / "lake", {"type": "file", "path": str(folder)}))
    _audience(spark, config, 30)
    first = run_sync(spark, config, "audience")
    _audience(spark, config, 20)
    second = run_sync(spark, config, "audience")
    runs = sorted(p for p in (folder / "audience").iterdir())
    assert len(runs) == 2 and not list(folder.rglob(".*partial"))
    by_run = {str(p): pq.read_table(p).to_pylist() for r in runs for p in r.iterdir()}
    ops = sorted(row["op"] for rows in by_run.values() for row in rows)
    assert ops.count("upsert") == first.counts["insert"] == 30
    assert ops.count("delete") == second.counts["delete"] == 10


def test_a_run_killed_with_sigkill_then_rerun_delivers_every_key_exactly_once(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    faults = Faults(max_requests_per_second=15)  # slow enough to be killed mid-delivery
    with start_receiver(ReceiverSettings(signing_secret=SECRET, faults=faults)) as receiver:
        env = _env(tmp_path / "lake", _http(receiver.records_url, requests_per_second=15))
        config = _config(env)
        expected = _audience(spark, config, 1500)  # 60 requests: about 4 s at the cap
        cli = Path(sys.executable).parent / "lakecdp"
        child = subprocess.Popen(
            [str(cli), "sync", "run", "audience"],
            env={
                **os.environ,
                **env,
                "LAKECDP_CONFIG": str(CONFIG_FILE),
                "LAKECDP__SPARK__SHUFFLE_PARTITIONS": "2",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 240
        while receiver.state.counters["applied"] < 300:
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run never started delivering"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        delivered = receiver.state.counters["applied"]
        assert 0 < delivered < 1500

        rerun = run_sync(spark, config, "audience")
        assert rerun.status == "succeeded" and rerun.counts["failed"] == 0
        assert receiver.state.records["audience"] == expected
        assert set(receiver.state.applied["audience"].values()) == {1}
        assert run_sync(spark, config, "audience").counts["sent"] == 0


@st.composite
def _audience_histories(draw: st.DrawFn) -> list[dict[str, float]]:
    """Two to three successive audiences over ten people: who is in, with what value."""
    keys = [f"c{i:02d}" for i in range(10)]
    steps = draw(st.integers(min_value=2, max_value=3))
    return [
        draw(st.dictionaries(st.sampled_from(keys), st.sampled_from([1.0, 2.0]), max_size=10))
        for _ in range(steps)
    ]


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(histories=_audience_histories(), seed=st.integers(min_value=0, max_value=1000))
def test_any_sequence_of_audiences_leaves_the_destination_equal_to_the_audience(
    spark, tmp_path_factory: pytest.TempPathFactory, histories: list[dict[str, float]], seed: int
) -> None:  # type: ignore[no-untyped-def]
    """Mirror mode, faults on: after each run the receiver holds exactly the audience, and the
    state holds exactly what the receiver holds, with the hash of what it holds."""
    root = tmp_path_factory.mktemp("property")
    faults = Faults(seed=seed, server_error_share=0.2, lost_ack_share=0.2)
    with start_receiver(ReceiverSettings(signing_secret=SECRET, faults=faults)) as receiver:
        config = _config(_env(root / "lake", _http(receiver.records_url, retry_budget=100_000)))
        lake = Lakehouse(spark, config)
        for audience in histories:
            rows = [(k, f"{k}@example.com", v) for k, v in sorted(audience.items())]
            lake.table("gold", "aud_test").overwrite(spark.createDataFrame(rows, AUDIENCE_SCHEMA))
            # A change whose retries all failed is sent again by the next run: at most a few.
            for _ in range(5):
                if run_sync(spark, config, "audience", force=True).counts["failed"] == 0:
                    break
            else:
                pytest.fail("rows still failing after five runs")
            held = receiver.state.records.get("audience", {})
            assert held == {k: {"email": e, "value": v} for k, e, v in rows}
            state = {
                r.key: r.payload_hash
                for r in lake.table(*STATE).read(empty=STATE_SCHEMA).collect()
                if r.payload_hash is not None
            }
            assert set(state) == set(held)


def test_delivery_from_the_executors_is_exactly_once_under_one_shared_pace(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Each Spark task sends its partition from a Python worker process, all drawing from one
    # pace in Redis: the receiver, capped at that pace, sees every key once.
    faults = Faults(seed=5, server_error_share=0.1, lost_ack_share=0.1, max_requests_per_second=40)
    with start_receiver(ReceiverSettings(signing_secret=SECRET, faults=faults)) as receiver:
        destination = _http(receiver.records_url, requests_per_second=40, shared_budget=True)
        config = _config(_env(tmp_path / "lake", destination, deliver_in="executors"))
        expected = _audience(spark, config, 400)
        first = run_sync(spark, config, "audience")
        assert (first.counts["accepted"], first.counts["failed"]) == (400, 0), first.counts
        assert first.counts["requests"] >= 16  # added up over the tasks (25 rows a request)
        assert receiver.state.records["audience"] == expected
        assert set(receiver.state.applied["audience"].values()) == {1}
        lake = Lakehouse(spark, config)
        logged = lake.table(*CHANGELOG).read().where(F.col("run_id") == first.run_id)
        assert logged.count() == first.counts["sent"] == 400
        assert run_sync(spark, config, "audience").counts["sent"] == 0

    folder = tmp_path / "drop"
    files = _config(
        _env(tmp_path / "lake2", {"type": "file", "path": str(folder)}, deliver_in="executors")
    )
    _audience(spark, files, 30)
    assert run_sync(spark, files, "audience").counts["accepted"] == 30
    written = sorted(p.name for p in folder.rglob("part-*"))
    assert len(written) == len(set(written)) >= 1  # a file per task, none overwritten
    assert sum(pq.read_table(p).num_rows for p in folder.rglob("part-*")) == 30


def test_executor_delivery_to_http_without_a_shared_budget_is_refused_at_load(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path / "lake", _http("http://127.0.0.1:9/records"), deliver_in="executors")
    with pytest.raises(ValueError, match="shared_budget: true"):
        _config(env)
