"""lakecdp_training: retrain the propensity models when features change (or weekly)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable
from lakecdp_airflow import FEATURES, default_args, lakecdp_task


@dag(
    dag_id="lakecdp_training",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 4 * * 1", timezone="UTC"), assets=[FEATURES]
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakecdp", "models"],
)
def lakecdp_training() -> None:
    """
    ### Training and the promotion gate
    Runs when `lakecdp_daily` has refreshed the features (the `features` Asset), or on Monday
    mornings. `lakecdp model train` trains and registers the candidates in MLflow and applies
    the promotion gate: the `champion` alias moves only when a candidate beats the champion
    (the decision endpoint follows the alias without a restart).
    """
    lakecdp_task("train_and_gate", "model train --as-of latest", timeout=timedelta(hours=2))


lakecdp_training()
