"""The champion model, held in memory and swapped without downtime: a background thread asks
the registry which version the `champion` alias points at and loads a new one before the swap,
so requests always score with a complete model."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from lakecdp.config import ProjectConfig
from ml.tracking import CHAMPION, mlflow_client
from spark_jobs.features.transactions import FEATURE_COLUMNS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    version: str
    kind: str
    model: Any

    def score(self, features: dict[str, Any]) -> float:
        import pandas as pd

        row = pd.DataFrame(
            [[_as_float(features.get(c)) for c in FEATURE_COLUMNS]], columns=list(FEATURE_COLUMNS)
        )
        return float(self.model.predict_proba(row)[0, 1])


def _as_float(value: Any) -> float:
    return float(value) if value is not None else np.nan


class ChampionHolder:
    def __init__(self, config: ProjectConfig) -> None:
        self._config = config
        self._current: LoadedModel | None = None
        self._client: Any = None  # built on first use: it also points mlflow at the registry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def refresh(self) -> LoadedModel | None:
        """Load the champion if the alias moved; keep the old one if the registry fails."""
        import mlflow.sklearn
        from mlflow.exceptions import MlflowException

        name = self._config.models.registered_model
        try:
            if self._client is None:
                self._client = mlflow_client(self._config)
            version = self._client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException as exc:
            log.info("no champion for %s yet: %s", name, exc)
            return self._current
        if self._current is not None and self._current.version == str(version.version):
            return self._current
        # the trusted types were recorded with the model when it was logged (ml.models)
        model = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
        kind = (version.tags or {}).get("model_kind", "unknown")
        self._current = LoadedModel(str(version.version), kind, model)
        log.info("champion %s v%s (%s) loaded", name, version.version, kind)
        return self._current

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._poll, name="champion-refresh", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self._config.decisioning.model_refresh_seconds):
            try:
                self.refresh()
            except Exception:  # a registry hiccup must not kill the refresher
                log.exception("champion refresh failed; keeping the current model")

    def stop(self) -> None:
        self._stop.set()
