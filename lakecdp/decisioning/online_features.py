"""Online reads for a decision: identifier -> customer id, then the decision feature service.

Read straight from Feast's online store in Feast's format (`feast_online.py`), so the endpoint
starts without the Feast SDK. The names below are the feature repository's
(feature_repo/feature_services.py, feature_views/identity.py), which cannot be imported without
Feast; tests/decisioning/test_online_reader.py checks they agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakecdp.decisioning.feast_online import FeastRegistry, OnlineReader, ViewRead, online_reader
from lakecdp.decisioning.feature_store import store_settings
from lakecdp.kernel.config import ProjectConfig

DECISION_SERVICE = "decision_context_v1"
# The propensity model's inputs: a customer with none of them has no purchase history.
PROPENSITY_SERVICE = "purchase_propensity_v1"
IDENTIFIER_VIEW = "identifier_lookup"


class OnlineFeatures:
    def __init__(self, config: ProjectConfig, reader: OnlineReader | None = None) -> None:
        settings = store_settings(config)
        self.registry = FeastRegistry(settings["registry"]["path"], settings["project"])
        self.reader = reader or online_reader(settings)

    def check(self) -> None:
        """Raise unless a decision can read: registry, services and store tables present and
        the store answering."""
        views = [*self.registry.service(DECISION_SERVICE), self.registry.view(IDENTIFIER_VIEW)]
        self.registry.service(PROPENSITY_SERVICE)
        self.reader.check(views)

    def resolve(self, identifier: str) -> str | None:
        """'type:value' (normalized) or 'customer_id:<id>' -> the current customer id."""
        view = self.registry.view(IDENTIFIER_VIEW)
        value = self.reader.read([view], {"identifier": identifier}).get("customer_id")
        return str(value) if value else None

    def features(self, customer_id: str) -> dict[str, Any]:
        """Every decision feature of the customer (None where the store has no value)."""
        views = self.registry.service(DECISION_SERVICE)
        return self.reader.read(views, {"customer_id": customer_id})

    def service_features(self, service: str) -> list[str]:
        """A feature service's features, in its order (what a model's signature is checked
        against before it serves)."""
        return _features(self.registry, service)

    def has_transactions(self, features: Mapping[str, Any]) -> bool:
        """Any of the propensity model's inputs known: the customer has purchase history."""
        return any(
            features.get(name) is not None for name in _features(self.registry, PROPENSITY_SERVICE)
        )

    def close(self) -> None:
        self.reader.close()


def _features(registry: FeastRegistry, service: str) -> list[str]:
    views: tuple[ViewRead, ...] = registry.service(service)
    return [name for view in views for name in view.features]
