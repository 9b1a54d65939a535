"""The two model families every training run fits: logistic regression (a strong, calibrated
baseline on log-scaled RFM features) and gradient-boosted trees (interactions, missing values)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

ModelKind = Literal["logistic_regression", "gradient_boosting"]
MODEL_KINDS: tuple[ModelKind, ...] = ("logistic_regression", "gradient_boosting")
# What the saved pipelines reference beyond sklearn itself (MLflow saves with skops, which
# loads only types it is told to trust).
# We write and read these files ourselves (the registry is ours), so our own types are trusted.
TRUSTED_TYPES = (
    "ml.models._log1p_nonnegative",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


def _log1p_nonnegative(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(x, 0.0, None))


def make_model(kind: ModelKind, seed: int) -> Pipeline:
    if kind == "logistic_regression":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("log", FunctionTransformer(_log1p_nonnegative)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(max_iter=2000, C=1.0)),
            ]
        )
    if kind == "gradient_boosting":
        return Pipeline(
            [
                (
                    "model",
                    HistGradientBoostingClassifier(
                        max_iter=300,
                        learning_rate=0.05,
                        max_leaf_nodes=15,
                        min_samples_leaf=40,
                        l2_regularization=1.0,
                        early_stopping=True,
                        validation_fraction=0.15,
                        random_state=seed,
                    ),
                )
            ]
        )
    raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")


def model_params(kind: ModelKind, model: Pipeline) -> dict[str, object]:
    estimator = model.named_steps["model"]
    params = {k: v for k, v in estimator.get_params().items() if isinstance(v, int | float | str)}
    return {"model_kind": kind, **params}
