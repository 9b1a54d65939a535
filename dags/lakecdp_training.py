"""lakecdp_training: retrain the models when features change (or weekly), gate each, check
the champions for drift."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable
from lakecdp_airflow import FEATURES, default_args, lakecdp_task, models_the_platform_trains


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
    ### Training, the promotion gate, the drift check
    Runs when `lakecdp_daily` has refreshed the features (the `features` Asset), or on Monday
    mornings. `train`: `lakecdp model train --no-gate` builds each model's point-in-time
    training set (refreshing the gate's held-out rows), trains and registers the candidates in
    MLflow and aliases the best of each model `challenger`. `promote_<model>`: the promotion
    gate, the same a data scientist's own version goes through (`lakecdp model promote`); the
    `champion` alias moves only when the challenger beats the champion, and the decision
    endpoint follows it without a restart; a challenger that does not is a normal outcome.
    `drift_check`: `lakecdp model monitor` measures each champion's feature and score drift and
    calibration into `ops.model_monitoring`, and fails naming the features that drifted past
    the model's `drift_max_psi` (not retried: drift does not pass on retry).
    """
    train = lakecdp_task(
        "train", "model train --as-of latest --no-gate", timeout=timedelta(hours=2)
    )
    promotions = [
        lakecdp_task(
            f"promote_{name}",
            f"model promote {name} --version challenger --rejection-ok",
        )
        for name in models_the_platform_trains()
    ]
    # Every champion is checked, whatever one model's gate did.
    check = lakecdp_task(
        "drift_check", "model monitor --as-of latest", gate=True, trigger_rule="all_done"
    )
    train >> promotions >> check


lakecdp_training()
