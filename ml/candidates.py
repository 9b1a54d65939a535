"""A registered model version as the gate sees it: found, loaded as an MLflow pyfunc, checked
against its feature service, and scored as P(label) on rows.

Any flavour MLflow can load as a pyfunc is a candidate: scikit-learn (logged with
`pyfunc_predict_fn="predict_proba"`, as the platform logs its own), xgboost or lightgbm where
installed, or a custom `mlflow.pyfunc.PythonModel`. Its predictions must be probabilities: one
value per row, or two columns (P(0), P(1)) of which the second is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from lakecdp.kernel.config import ProjectConfig
from ml.serving.champion import local_model_dir
from ml.serving.pyfunc import NotProbabilities, as_probabilities
from ml.serving.signature import InputCheck, SignatureMismatch, check_inputs
from ml.tracking import mlflow_client

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion


class ModelRefused(ValueError):
    """The version cannot be judged or served: the message names what is wrong."""


class NoSuchVersion(ModelRefused):
    """The registry holds no such version or alias."""


@dataclass
class Candidate:
    name: str
    version: str
    run_id: str | None
    tags: dict[str, str]
    folder: Path
    inputs: InputCheck
    model: Any  # mlflow.pyfunc.PyFuncModel

    flavour: str = "python_function"

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def kind(self) -> str:
        """What the endpoint's reasons call it: the platform's model kind, else the flavour."""
        return self.tags.get("model_kind", self.flavour)

    def probabilities(self, rows: pd.DataFrame) -> np.ndarray:
        """P(label) per row of `rows` (which hold at least the model's inputs)."""
        try:
            raw = self.model.predict(rows[list(self.inputs.inputs)])
        except Exception as exc:  # the model's own code failed on valid inputs
            raise ModelRefused(
                f"{self.label} failed to predict: {type(exc).__name__}: {exc}"
            ) from None
        try:
            values = as_probabilities(raw, len(rows), self.label)
        except NotProbabilities as exc:
            raise ModelRefused(str(exc)) from None
        if len(values) > 1 and np.isin(values, (0.0, 1.0)).all():
            raise ModelRefused(
                f"{self.label} predicts only 0 and 1 on the held-out rows: class labels, not "
                "probabilities (log a scikit-learn-style classifier, lightgbm's and xgboost's "
                "included, with mlflow.sklearn and pyfunc_predict_fn='predict_proba')"
            )
        return values


class _ProbabilitiesOf:
    """A scikit-learn classifier logged with pyfunc_predict_fn='predict': scored as the endpoint
    scores it, with predict_proba."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, rows: pd.DataFrame) -> Any:
        return self.model.predict_proba(rows)


def _load_sklearn(folder: Path) -> Any:
    import mlflow.sklearn

    return mlflow.sklearn.load_model(str(folder))


def find_version(config: ProjectConfig, name: str, version: str) -> ModelVersion:
    """`version` is a number or an alias (champion, challenger, ...)."""
    from mlflow.exceptions import MlflowException

    config.models.model(name)  # a clear error for a name that is not configured
    client = mlflow_client(config)
    try:
        if version.isdigit():
            return client.get_model_version(name, version)
        return client.get_model_version_by_alias(name, version)
    except MlflowException as exc:
        raise NoSuchVersion(
            f"{name}: no version or alias {version!r} in the registry ({exc.message})"
        ) from None


def load_candidate(
    config: ProjectConfig, name: str, version: str, features: tuple[str, ...], service: str
) -> Candidate:
    """The version loaded and checked against `features`, or ModelRefused saying why not."""
    import mlflow.pyfunc

    found = find_version(config, name, version)
    client = mlflow_client(config)
    label = f"{name} v{found.version}"
    try:
        location = client.get_model_version_download_uri(name, found.version)
        folder = local_model_dir(location, config.mlflow_tracking_uri)
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    except Exception as exc:
        raise ModelRefused(
            f"{label}: its files cannot be read: {type(exc).__name__}: {exc}"
        ) from None
    if "python_function" not in (mlmodel.get("flavors") or {}):
        raise ModelRefused(f"{label} has no python_function flavour: MLflow cannot load it")
    try:
        inputs = check_inputs(mlmodel, features, service, label)
    except SignatureMismatch as exc:
        raise ModelRefused(str(exc)) from None
    flavors = mlmodel.get("flavors") or {}
    try:
        if "sklearn" in flavors and flavors["python_function"].get("predict_fn") != "predict_proba":
            model = _ProbabilitiesOf(_load_sklearn(folder))  # its pyfunc would answer 0/1
        else:
            model = mlflow.pyfunc.load_model(str(folder))
    except Exception as exc:
        raise ModelRefused(f"{label} cannot be loaded: {type(exc).__name__}: {exc}") from None
    flavour = next((f for f in flavors if f != "python_function"), "python_function")
    return Candidate(
        name,
        str(found.version),
        found.run_id,
        dict(found.tags or {}),
        folder,
        inputs,
        model,
        flavour,
    )
