"""Feature services: one per consumer, so a model's inputs are versioned by name."""

from __future__ import annotations

from feast import FeatureService, FeatureView

from spark_jobs.features.transactions import FEATURE_COLUMNS

PROPENSITY_SERVICE = "purchase_propensity_v1"
CHURN_SERVICE = "churn_risk_v1"
DECISION_SERVICE = "decision_context_v1"
# The churn-risk model's inputs: how long since, how regular, how much lately.
CHURN_FEATURES = (
    "recency_days",
    "frequency",
    "tenure_days",
    "interpurchase_days",
    "orders_90d",
    "value_90d",
)


def feature_services(views: dict[str, FeatureView]) -> list[FeatureService]:
    transactions = views["customer_transactions"]
    return [
        FeatureService(
            name=PROPENSITY_SERVICE,
            features=[transactions[list(FEATURE_COLUMNS)]],
            description="Inputs of the purchase_propensity model.",
        ),
        FeatureService(
            name=CHURN_SERVICE,
            features=[transactions[list(CHURN_FEATURES)]],
            description="Inputs of the churn_risk model.",
        ),
        FeatureService(
            name=DECISION_SERVICE,
            features=[transactions, views["customer_profile"], views["customer_activity"]],
            description="Everything /v1/decide reads for a customer: model inputs and rule inputs.",
        ),
    ]
