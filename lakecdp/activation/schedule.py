"""When a sync with its own cron schedule is due.

Airflow runs every cron-scheduled sync from one DAG whose timetable is the union of their cron
expressions (`lakecdp_scheduled_syncs`); at each run, a sync whose own expression does not
match the run's time skips itself (`lakecdp sync run NAME --due-at TIME` exits NOT_DUE_EXIT,
which the task treats as skipped, not failed).
"""

from __future__ import annotations

from datetime import datetime

from croniter import croniter

NOT_DUE_EXIT = 99  # `sync run --due-at`: not due at that time, nothing done


def is_due(cron: str, at: datetime) -> bool:
    """Does `cron` fire at `at` (to the minute)?"""
    return bool(croniter.match(cron, at.replace(second=0, microsecond=0)))
