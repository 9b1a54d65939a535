"""lakecdp_privacy: carry out privacy requests (erasure, access, suppression) every hour."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag
from airflow.timetables.trigger import CronTriggerTimetable
from lakecdp_airflow import default_args, lakecdp_task


@dag(
    dag_id="lakecdp_privacy",
    schedule=CronTriggerTimetable("15 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakecdp", "governance"],
)
def lakecdp_privacy() -> None:
    """
    ### Privacy requests
    Every hour, `lakecdp privacy run`: requests taken since the last run (the privacy API or
    `lakecdp privacy request`) are accepted (the person's identity closure is frozen and every
    identifier of it suppressed at the doors), then carried out: an erasure deletes the person
    from every store and writes its certificate, an access or portability request writes an
    export that expires. Deadlines are days (`governance.regulations`): an hourly run meets
    them with room for retries. Suppression itself does not wait for this DAG: a request's own
    identifiers are suppressed the moment it is taken. docs/governance.md.
    """
    lakecdp_task("privacy_run", "privacy run", timeout=timedelta(hours=2))


lakecdp_privacy()
