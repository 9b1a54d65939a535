"""lakecdp_microbatch: what landed since the last run, into bronze and the online store."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import chain, dag
from lakecdp_airflow import default_args, lakecdp_task


@dag(
    dag_id="lakecdp_microbatch",
    schedule=timedelta(minutes=5),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # never two runs at once: each picks up where the last stopped
    default_args=default_args(retry_delay=timedelta(seconds=30)),
    dagrun_timeout=timedelta(minutes=30),
    tags=["lakecdp", "micro-batch"],
)
def lakecdp_microbatch() -> None:
    """
    ### Micro-batch, every five minutes
    The collector's sealed landing segments into `bronze.events` (`ingest stream
    --available-now`: process what has landed, then stop; the stream's checkpoint makes a rerun
    pick up exactly where the last one stopped), customers' recent activity pushed to the online
    store, and the decision endpoint's sealed decision-log segments into `bronze.decisions`.
    """
    chain(
        lakecdp_task(
            "ingest_events", "ingest stream --available-now", timeout=timedelta(minutes=20)
        ),
        lakecdp_task(
            "push_features", "features push --available-now", timeout=timedelta(minutes=10)
        ),
        lakecdp_task("ingest_decisions", "ingest decisions", timeout=timedelta(minutes=10)),
    )


lakecdp_microbatch()
