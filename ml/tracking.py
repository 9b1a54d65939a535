"""MLflow tracking and registry for this lakehouse: SQLite + local artifacts by default, a
tracking server by configuration (models.tracking_uri / LAKECDP_MLFLOW_TRACKING_URI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from lakecdp.kernel.config import ProjectConfig

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION = "champion"
CHALLENGER = "challenger"


def mlflow_client(config: ProjectConfig) -> MlflowClient:
    """Point MLflow at the configured store and experiment; return a registry client."""
    # No network beyond the package registries here, and no usage reporting wanted anywhere.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # A command's output is a summary, not a progress bar per artifact downloaded.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from mlflow import MlflowClient

    uri = config.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = config.models.experiment
    if client.get_experiment_by_name(name) is None:
        artifacts = config.mlflow_artifact_root
        if "://" not in artifacts:
            Path(artifacts).mkdir(parents=True, exist_ok=True)
        client.create_experiment(name, artifact_location=artifacts)
    mlflow.set_experiment(name)
    return client


def model_uri(config: ProjectConfig, alias: str = CHAMPION) -> str:
    return f"models:/{config.models.registered_model}@{alias}"
