"""What the tests know of `lakecdp_daily`: its tasks in the order they run."""

DAILY_TASKS = [
    "ingest_batch",
    "bronze_gate",
    "identity_run",
    "identity_gate",
    "dbt_build",
    "gold_gate",
    "feature_tables",
    "materialize",
]
