"""Sync schedules: validated when the configuration loads, matched to the minute."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from lakecdp.activation.schedule import NOT_DUE_EXIT, is_due
from lakecdp.kernel.config import ConfigError
from tests.conftest import CONFIG_FILE, make_config


@pytest.mark.parametrize(
    ("cron", "at", "due"),
    [
        ("0 * * * *", datetime(2026, 12, 3, 10, 0, 30), True),
        ("0 * * * *", datetime(2026, 12, 3, 10, 1), False),
        ("*/15 9-17 * * 1-5", datetime(2026, 12, 3, 9, 45), True),  # a Thursday
        ("*/15 9-17 * * 1-5", datetime(2026, 12, 5, 9, 45), False),  # a Saturday
    ],
)
def test_a_cron_is_due_when_it_fires_to_the_minute(cron: str, at: datetime, due: bool) -> None:
    assert is_due(cron, at) is due


def test_a_schedule_that_is_neither_after_gold_nor_a_cron_is_refused_at_load(
    tmp_path: Path,
) -> None:
    sync = {"source": "aud_x", "destination": "crm_db", "mapping": {"e": "email"}}
    with pytest.raises(ConfigError, match="a cron expression such as"):
        make_config(tmp_path, LAKECDP__SYNCS__BAD=json.dumps({**sync, "schedule": "hourly"}))


def test_sync_run_due_at_a_time_its_cron_does_not_fire_exits_99_without_spark(
    tmp_path: Path,
) -> None:
    sync = {
        "source": "aud_x",
        "destination": "crm_db",
        "mapping": {"e": "email"},
        "schedule": "30 6 * * *",
    }
    env = {
        "LAKECDP_CONFIG": str(CONFIG_FILE),
        "LAKECDP_LAKEHOUSE_ROOT": str(tmp_path / "lake"),
        "LAKECDP__SYNCS__MORNING": json.dumps(sync),
        "PATH": "/usr/bin:/bin",  # a bare environment, as a scheduler's worker has
    }
    cli = Path(sys.executable).parent / "lakecdp"
    done = subprocess.run(
        [str(cli), "sync", "run", "morning", "--due-at", "2026-12-03T07:00:00+00:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == NOT_DUE_EXIT, done.stdout + done.stderr
    assert "not due at 2026-12-03T07:00:00+00:00: morning" in done.stdout
