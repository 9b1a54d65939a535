"""Decisioning (layer 3): the decision endpoint and its rules, consent, caps, holdouts and log,
the online-feature reads and the Feast store handle. Feature definitions live in
`feature_repo/`, feature tables in `spark_jobs/features`, models in `ml/`."""
