"""lakecdp_audience_syncs: the syncs scheduled after the gold build, one task each."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag
from lakecdp_airflow import GOLD, default_args, lakecdp_task, syncs_after_gold


@dag(
    dag_id="lakecdp_audience_syncs",
    schedule=[GOLD],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakecdp", "activation"],
)
def lakecdp_audience_syncs() -> None:
    """
    ### Audience syncs after the gold build
    One task per sync that `lakecdp.yaml` schedules `after_gold`, each `lakecdp sync run NAME`:
    plan against the sync's state, guards, delivery, and the run's record in `ops.sync_runs`.
    A failing sync (a guard, a rejected share above its alert, an unreachable destination)
    fails its own task only. A retry after a failure sends only what the destination has not
    accepted. Runs when `lakecdp_daily` has passed its gold gate (the `gold` Asset); syncs
    with a cron `schedule` run from `lakecdp_scheduled_syncs`.
    """
    for name in syncs_after_gold():
        lakecdp_task(f"sync_{name}", f"sync run {name}", timeout=timedelta(hours=2))


lakecdp_audience_syncs()
