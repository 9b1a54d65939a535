"""Online reads for a decision: identifier -> customer id, then the decision feature service."""

from __future__ import annotations

from typing import Any

from feature_repo.feature_services import DECISION_SERVICE
from lakecdp.config import ProjectConfig
from lakecdp.features import feature_store
from spark_jobs.features.transactions import FEATURE_COLUMNS


class OnlineFeatures:
    def __init__(self, config: ProjectConfig) -> None:
        self._store = feature_store(config)
        self._service = self._store.get_feature_service(DECISION_SERVICE)

    @property
    def store(self) -> Any:
        return self._store

    def resolve(self, identifier: str) -> str | None:
        """'type:value' (normalized) or 'customer_id:<id>' -> the current customer id."""
        rows = self._store.get_online_features(
            features=["identifier_lookup:customer_id"], entity_rows=[{"identifier": identifier}]
        ).to_dict()
        value = rows["customer_id"][0]
        return str(value) if value else None

    def features(self, customer_id: str) -> dict[str, Any]:
        """Every decision feature of the customer (None where the store has no value)."""
        rows = self._store.get_online_features(
            features=self._service, entity_rows=[{"customer_id": customer_id}]
        ).to_dict()
        return {name: values[0] for name, values in rows.items() if name != "customer_id"}


def has_transactions(features: dict[str, Any]) -> bool:
    return any(features.get(c) is not None for c in FEATURE_COLUMNS)
