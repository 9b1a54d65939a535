"""The champion of each registered model, held in memory and swapped without downtime: a
background thread asks the registry which version each `champion` alias points at and loads a
new one before the swap, so requests always score with a complete model.

Start-up is the same thread's first turn: the endpoint is not ready until every model has been
looked up. Loading reads the registry's tables (ml/serving/registry.py) and, for our own
scikit-learn models, their saved parameters (ml/serving/scorer.py) without MLflow or
scikit-learn; any other flavour is loaded as an MLflow pyfunc (ml/serving/pyfunc.py). Every
version is checked against its feature service first (ml/serving/signature.py); one that does not
fit or does not load is refused, said in /health and metrics, and the current one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
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


class ModelNotServable(ValueError):
    """The version cannot be served: the current one stays. `permanent` when the version itself
    is at fault (signature, flavour), so it is not tried again until the alias moves; files that
    could not be read or a load that failed are tried again on the next turn."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def load_model(
    version: ModelVersion, tracking_uri: str, features: Sequence[str], service: str
) -> Scorer:
    """The version checked against its feature service, then scored the portable way when it
    is one of our scikit-learn models, else as an MLflow pyfunc. ModelNotServable says why not."""
    from ml.serving.scorer import UnsupportedModel, compile_model
    from ml.serving.signature import SignatureMismatch, check_inputs
    from ml.serving.skops_data import SkopsFormatError, read_skops

    label = f"{version.name} v{version.version}"
    try:
        folder = local_model_dir(version.location, tracking_uri)
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    except Exception as exc:
        raise ModelNotServable(
            f"{label}: files not readable ({type(exc).__name__}: {exc})"
        ) from None
    try:
        inputs = check_inputs(mlmodel, features, service, label)
    except SignatureMismatch as exc:
        raise ModelNotServable(str(exc), permanent=True) from None
    flavors = mlmodel.get("flavors") or {}
    sklearn = flavors.get("sklearn", {})
    if sklearn.get("serialization_format") == "skops":
        try:
            return compile_model(read_skops(folder / sklearn["pickled_model"]))
        except (UnsupportedModel, SkopsFormatError) as exc:
            log.warning("%s: %s; loading it with MLflow (slower start)", label, exc)
    try:
        if sklearn and (flavors.get("python_function") or {}).get("predict_fn") != "predict_proba":
            import mlflow.sklearn  # logged with predict: its pyfunc would answer 0/1 labels

            return SklearnModel(mlflow.sklearn.load_model(str(folder)), list(inputs.inputs))
        import mlflow.pyfunc

        from ml.serving.pyfunc import PyfuncScorer

        model = mlflow.pyfunc.load_model(str(folder))
    except Exception as exc:
        raise ModelNotServable(
            f"{label} cannot be loaded: {type(exc).__name__}: {exc}", permanent=False
        ) from None
    return PyfuncScorer(model, inputs.inputs, label)


ServiceFeatures = Callable[[str], Sequence[str]]


class ChampionHolder:
    """One registered model's champion, swapped without downtime; a version that cannot be
    served is refused once (named in `problem`) and the one serving keeps serving."""

    def __init__(
        self,
        config: ProjectConfig,
        name: str,
        service_features: ServiceFeatures,
        registry: Registry | None = None,
    ) -> None:
        self._config = config
        self.name = name
        self.service = config.models.model(name).feature_service
        self._features = service_features
        self._uri = config.mlflow_tracking_uri
        self._registry = registry or registry_for(self._uri)
        self._current: LoadedModel | None = None
        self._settled = False
        self._problem: str | None = "champion not looked up yet"
        self._refused: str | None = None  # the version last refused, not retried until it moves
        self._failed: str | None = None  # the version whose failure was last counted
        self.load_failures = 0

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    @property
    def settled(self) -> bool:
        """Looked up at least once: a champion is loaded, none is registered, or it was
        refused (decisions go on without its score, and /health says so)."""
        return self._settled

    @property
    def problem(self) -> str | None:
        return self._problem

    def refresh(self) -> LoadedModel | None:
        """Load the champion if the alias moved; keep the current one otherwise."""
        version = self._registry.alias(self.name, CHAMPION)
        if version is None:
            log.info("no champion for %s yet", self.name)
            self._problem = None
        elif self._current is not None and self._current.version == version.version:
            self._problem = None
        elif version.version != self._refused:
            try:
                features = self._features(self.service)
            except Exception as exc:  # the service not applied yet: asked again next turn
                self._problem = f"champion v{version.version} waits for its features: {exc}"
                self._settled = True
                return self._current
            try:
                model = load_model(version, self._uri, features, self.service)
            except ModelNotServable as exc:
                if exc.permanent:
                    self._refused = version.version
                if version.version != self._failed:  # counted and logged once per version
                    self._failed = version.version
                    self.load_failures += 1
                    log.error("%s: champion v%s refused: %s", self.name, version.version, exc)
                serving = f"v{self._current.version}" if self._current else "no model"
                self._problem = f"champion {exc}; still serving {serving}"
            else:
                kind = version.tags.get("model_kind", "unknown")
                self._current = LoadedModel(version.version, kind, model)
                self._refused = self._failed = self._problem = None
                log.info("champion %s v%s (%s) loaded", self.name, version.version, kind)
        self._settled = True
        return self._current


class Champions:
    """Every registered model's champion, refreshed by one background thread. Ready once each
    model has been looked up; a registry that does not answer keeps it not ready until then."""

    def __init__(
        self,
        config: ProjectConfig,
        service_features: ServiceFeatures,
        registry: Registry | None = None,
    ) -> None:
        self._config = config
        shared = registry or registry_for(config.mlflow_tracking_uri)
        self.holders = {
            name: ChampionHolder(config, name, service_features, shared)
            for name in config.models.registered
        }
        self.primary = config.models.registered_model
        self._ready = threading.Event()
        self._lookup_problem: str | None = "champion not looked up yet"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> LoadedModel | None:
        """The primary model's champion (a decision's `score`)."""
        return self.holders[self.primary].current

    def served(self) -> dict[str, LoadedModel]:
        return {n: h.current for n, h in self.holders.items() if h.current is not None}

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def problem(self) -> str | None:
        """Why decisions cannot be made yet (None once ready)."""
        return None if self.ready else self._lookup_problem

    def problems(self) -> dict[str, str]:
        """Per model, what is wrong with its champion while serving goes on."""
        return {n: h.problem for n, h in self.holders.items() if h.problem and h.settled}

    def status(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "served_version": h.current.version if h.current else None,
                "kind": h.current.kind if h.current else None,
                "problem": h.problem if h.settled else None,
                "load_failures": h.load_failures,
            }
            for name, h in self.holders.items()
        }

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def refresh(self) -> None:
        for holder in self.holders.values():
            holder.refresh()
        if all(h.settled for h in self.holders.values()):
            self._ready.set()

    def start(self) -> None:
        """Look up (and load) the champions in the background now, then every
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
                if problem != self._lookup_problem:  # retries come fast before ready
                    log.exception("champion refresh failed; keeping the current models")
                self._lookup_problem = problem
            delay = self._config.decisioning.model_refresh_seconds if self.ready else RETRY_SECONDS

    def stop(self) -> None:
        self._stop.set()
