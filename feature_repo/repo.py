"""The repository as Feast's own tools read it: `feast plan`, `feast apply` and `feast ui` run in
this folder find every entity, source, feature view and service here, at module level.

They are the objects `lakecdp features apply` registers, built once by
`feature_repo.repository(config)` from lakecdp.yaml as every command builds them:
`$LAKECDP_CONFIG`, else the nearest lakecdp.yaml, so their sources point at this lakehouse's
Delta tables. Everything else in the folder is in
`.feastignore`: it holds the factories, and Feast would import it under a second name.
"""

from __future__ import annotations

from feature_repo import repository
from lakecdp.kernel.config import load_config

_repository = repository(load_config())
project = _repository.project
customer, identifier = _repository.entities
sources = _repository.sources
views = _repository.views

transactions_source = sources.transactions
profiles_source = sources.profiles
activity_source = sources.activity
activity_push_source = sources.activity_push
identifiers_source = sources.identifiers

customer_transactions = views["customer_transactions"]
customer_profile = views["customer_profile"]
customer_activity = views["customer_activity"]
identifier_lookup = views["identifier_lookup"]

purchase_propensity_v1, churn_risk_v1, decision_context_v1 = _repository.services

__all__ = [
    "activity_push_source",
    "activity_source",
    "churn_risk_v1",
    "customer",
    "customer_activity",
    "customer_profile",
    "customer_transactions",
    "decision_context_v1",
    "identifier",
    "identifier_lookup",
    "identifiers_source",
    "profiles_source",
    "project",
    "purchase_propensity_v1",
    "transactions_source",
]
