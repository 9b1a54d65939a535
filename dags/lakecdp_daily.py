"""lakecdp_daily: the batch pipeline, from new source files to gold, gated, and features."""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, chain, dag
from lakecdp_airflow import FEATURES, GOLD, default_args, lakecdp_task

# A manual run has no data interval: it is as of when it was asked to run.
AS_OF = "{{ params.as_of or (data_interval_end or dag_run.run_after).isoformat() }}"


@dag(
    dag_id="lakecdp_daily",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["lakecdp", "batch"],
    params={
        "as_of": Param(
            "",
            type="string",
            description="End of audience and metric windows: empty for the run's data "
            "interval end, `latest` for the newest data, or an ISO time.",
        )
    },
)
def lakecdp_daily() -> None:
    """
    ### The daily batch
    New files of every declared source into bronze, a quality gate, identity stitching, its
    gate, the dbt build of silver and gold as of the run's data interval end, the gold gate,
    then the feature tables and the online store.

    A failed gate stops everything after it: nothing downstream of bad data is built. Gates
    are not retried (an expectation that failed does not pass on retry); jobs are, twice, with
    exponential delay. Every task is one `lakecdp` command; rerunning a run for the same
    interval leaves every table as it was. Emits the `gold` Asset (audience syncs follow) and
    the `features` Asset (training follows).
    """
    chain(
        lakecdp_task("ingest_batch", "ingest batch"),
        lakecdp_task("bronze_gate", "gate bronze", gate=True),
        lakecdp_task("identity_run", "identity run"),
        lakecdp_task("identity_gate", "gate identity", gate=True),
        lakecdp_task("dbt_build", f'dbt build --as-of "{AS_OF}"'),
        lakecdp_task("gold_gate", "gate gold", gate=True, outlets=[GOLD]),
        lakecdp_task("feature_tables", f'features build --as-of "{AS_OF}"'),
        lakecdp_task("materialize", "features materialize", outlets=[FEATURES]),
    )


lakecdp_daily()
