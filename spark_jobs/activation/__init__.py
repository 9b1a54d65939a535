"""Activation jobs: the Spark side of reverse-ETL syncs (plan against state, record outcomes)."""
