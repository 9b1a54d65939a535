"""The champion model, held in memory and swapped without downtime: a background thread asks
the registry which version the `champion` alias points at and loads a new one before the swap,
so requests always score with a complete model.

Start-up is the same thread's first turn: the endpoint is not ready until it has either loaded
the champion or found that none is registered. Loading reads the registry's tables
(ml/serving/registry.py) and the model's saved parameters (ml/serving/scorer.py) without MLflow
or scikit-learn; a model the portable scorer does not handle is loaded with MLflow instead.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse
from urllib.request import url2pathname

import yaml

from lakecdp.kernel.config import ProjectConfig
from ml.serving.registry import ModelVersion, Registry, registry_for
from ml.tracking import CHAMPION

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5  # until the first load succeeds


class Scorer(Protocol):
    def score(self, features: dict[str, Any]) -> float: ...


@dataclass(frozen=True)
class LoadedModel:
    version: str
    kind: str
    model: Scorer

    def score(self, features: dict[str, Any]) -> float:
        return self.model.score(features)


class SklearnModel:
    """A model loaded by MLflow (the fallback): scored through scikit-learn and pandas."""

    def __init__(self, model: Any, inputs: list[str]) -> None:
        self.model = model
        self.inputs = inputs

    def score(self, features: dict[str, Any]) -> float:
        import pandas as pd

        row = pd.DataFrame(
            [
                [
                    float("nan") if features.get(c) is None else float(features[c])
                    for c in self.inputs
                ]
            ],
            columns=self.inputs,
        )
        return float(self.model.predict_proba(row)[0, 1])


def local_model_dir(location: str, tracking_uri: str) -> Path:
    """The model's folder: itself when local, else downloaded by MLflow."""
    parsed = urlparse(location)
    if parsed.scheme == "" or (parsed.scheme == "file" and parsed.netloc in ("", "localhost")):
        return Path(url2pathname(parsed.path) if parsed.scheme else location)
    from mlflow.artifacts import download_artifacts

    return Path(download_artifacts(artifact_uri=location, tracking_uri=tracking_uri))


def load_model(version: ModelVersion, tracking_uri: str) -> Scorer:
    """Portable scoring when the model allows it, MLflow's sklearn loader otherwise."""
    from ml.serving.scorer import UnsupportedModel, compile_model
    from ml.serving.skops_data import SkopsFormatError, read_skops

    folder = local_model_dir(version.location, tracking_uri)
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    flavor = mlmodel.get("flavors", {}).get("sklearn", {})
    if flavor.get("serialization_format") == "skops":
        try:
            return compile_model(read_skops(folder / flavor["pickled_model"]))
        except (UnsupportedModel, SkopsFormatError) as exc:
            log.warning(
                "%s v%s: %s; loading it with MLflow and scikit-learn (slower start)",
                version.name,
                version.version,
                exc,
            )
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(str(folder))
    inputs = getattr(model, "feature_names_in_", None)
    if inputs is None:
        signature = json.loads(mlmodel["signature"]["inputs"])
        inputs = [column["name"] for column in signature]
    return SklearnModel(model, [str(c) for c in inputs])


class ChampionHolder:
    def __init__(self, config: ProjectConfig, registry: Registry | None = None) -> None:
        self._config = config
        self._uri = config.mlflow_tracking_uri
        self._registry = registry or registry_for(self._uri)
        self._current: LoadedModel | None = None
        self._ready = threading.Event()
        self._problem: str | None = "champion not looked up yet"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    @property
    def ready(self) -> bool:
        """The champion is loaded, or none is registered: decisions can be made."""
        return self._ready.is_set()

    @property
    def problem(self) -> str | None:
        """Why the champion is not loaded yet (None once ready)."""
        return None if self.ready else self._problem

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def refresh(self) -> LoadedModel | None:
        """Load the champion if the alias moved; keep the current one if there is none."""
        name = self._config.models.registered_model
        version = self._registry.alias(name, CHAMPION)
        if version is None:
            log.info("no champion for %s yet", name)
        elif self._current is None or self._current.version != version.version:
            model = load_model(version, self._uri)
            kind = version.tags.get("model_kind", "unknown")
            self._current = LoadedModel(version.version, kind, model)
            log.info("champion %s v%s (%s) loaded", name, version.version, kind)
        self._ready.set()
        return self._current

    def start(self) -> None:
        """Look up (and load) the champion in the background now, then every
        `model_refresh_seconds`."""
        self._thread = threading.Thread(target=self._poll, name="champion-refresh", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        delay = 0.0
        while not self._stop.wait(delay):
            try:
                self.refresh()
            except Exception as exc:  # a registry hiccup must not kill the refresher
                problem = f"champion not loaded: {exc}"
                if problem != self._problem:  # retries come fast before ready: log changes
                    log.exception("champion refresh failed; keeping the current model")
                self._problem = problem
            delay = self._config.decisioning.model_refresh_seconds if self.ready else RETRY_SECONDS

    def stop(self) -> None:
        self._stop.set()
