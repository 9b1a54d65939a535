"""lakecdp_scheduled_syncs: the syncs with their own cron schedule, each at its own times."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag
from airflow.timetables.trigger import MultipleCronTriggerTimetable
from lakecdp_airflow import default_args, lakecdp_task, syncs_on_a_cron

CRONS = syncs_on_a_cron()
# The run's time; the sync runs only if its own cron fires then (else exit 99: skipped).
AT = "{{ (logical_date or dag_run.run_after).isoformat() }}"


@dag(
    dag_id="lakecdp_scheduled_syncs",
    # Fires whenever any sync's cron does; each task checks its own.
    schedule=MultipleCronTriggerTimetable(*sorted(set(CRONS.values())), timezone="UTC")
    if CRONS
    else None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakecdp", "activation"],
)
def lakecdp_scheduled_syncs() -> None:
    """
    ### Audience syncs on their own schedules
    One task per sync whose `schedule` in `lakecdp.yaml` is a cron expression. The DAG fires
    at the union of those expressions; at each run a task runs `lakecdp sync run NAME --due-at
    <run time>`, which sends only if the sync's own cron fires then and otherwise exits 99,
    which Airflow records as skipped. A failing sync fails its own task only.
    """
    for name in CRONS:
        lakecdp_task(
            f"sync_{name}",
            f'sync run {name} --due-at "{AT}"',
            skip_on_exit_code=99,
            timeout=timedelta(hours=2),
        )


lakecdp_scheduled_syncs()
