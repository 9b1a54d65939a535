"""Decisioning: purchase-propensity models in MLflow, their backtest, and the decision endpoint."""
