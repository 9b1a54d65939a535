"""Decisioning (layer 3): the feature store handle. Feature definitions live in `feature_repo/`,
feature tables in `spark_jobs/features`, models and the decision endpoint in `ml/`."""
