"""Signals (layer 2): the collector, dbt over the lakehouse and the analysts' SQL endpoint. Its
Spark ingestion lives in `spark_jobs/ingest` and its quality gates in `expectations/`."""
