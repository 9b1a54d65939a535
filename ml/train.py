"""`lakecdp model train`: fit every model family on a point-in-time training set, track each
run in MLflow (params, metrics, dataset, signature), register the versions, and run the gated
promotion of the best one.

Held-out customers (not rows) evaluate the models, so a customer's later snapshots never leak
into the evaluation of their earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from lakecdp.kernel.config import ProjectConfig
from ml.metrics import score_metrics
from ml.models import MODEL_KINDS, TRUSTED_TYPES, make_model, model_params
from ml.promotion import PromotionDecision, promote
from ml.tracking import mlflow_client
from spark_jobs.features.transactions import FEATURE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class TrainedVersion:
    kind: str
    version: str
    run_id: str
    metrics: dict[str, float]


@dataclass
class TrainingResult:
    as_of: datetime
    rows: int
    versions: list[TrainedVersion] = field(default_factory=list)
    promotion: PromotionDecision | None = None


def split_by_customer(
    frame: pd.DataFrame, share: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
    train_idx, test_idx = next(splitter.split(frame, groups=frame["customer_id"]))
    return frame.iloc[train_idx], frame.iloc[test_idx]


def train_models(
    config: ProjectConfig,
    frame: pd.DataFrame,
    *,
    as_of: datetime,
    kinds: tuple[str, ...] = MODEL_KINDS,
) -> TrainingResult:
    """Fit, log and register each kind on `frame`, then gate the best one (by held-out AUC)."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    client = mlflow_client(config)
    train, test = split_by_customer(frame, config.models.holdout_share, config.models.seed)
    x_train, y_train = train[list(FEATURE_COLUMNS)], train["label"].to_numpy()
    x_test, y_test = test[list(FEATURE_COLUMNS)], test["label"].to_numpy()
    result = TrainingResult(as_of=as_of, rows=len(frame))
    dataset = mlflow.data.from_pandas(
        train.drop(columns=["customer_id"]), name="purchase_propensity_training", targets="label"
    )
    evaluation = mlflow.data.from_pandas(
        test.drop(columns=["customer_id"]), name="purchase_propensity_holdout", targets="label"
    )
    for kind in kinds:
        model = make_model(kind, config.models.seed)  # type: ignore[arg-type]
        with mlflow.start_run(run_name=kind) as run:
            model.fit(x_train, y_train)
            scores = model.predict_proba(x_test)[:, 1]
            metrics = score_metrics(y_test, scores)
            mlflow.log_params(
                {
                    **model_params(kind, model),  # type: ignore[arg-type]
                    "horizon_days": config.models.horizon_days,
                    "as_of": as_of.isoformat(),
                    "train_rows": len(train),
                    "holdout_rows": len(test),
                    "holdout_share": config.models.holdout_share,
                    "features": ",".join(FEATURE_COLUMNS),
                }
            )
            mlflow.log_input(dataset, context="training")
            mlflow.log_input(evaluation, context="holdout")
            mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics.items() if np.isfinite(v)})
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                # Features arrive as doubles (a missing one is NaN), counts included.
                signature=infer_signature(x_test.astype("float64"), scores),
                input_example=x_test.head(3).astype("float64"),
                registered_model_name=config.models.registered_model,
                skops_trusted_types=list(TRUSTED_TYPES),
                pip_requirements=_serving_requirements(),
            )
            version = str(info.registered_model_version)
            client.set_model_version_tag(
                config.models.registered_model, version, "model_kind", kind
            )
            result.versions.append(TrainedVersion(kind, version, run.info.run_id, metrics))
    best = max(result.versions, key=lambda v: _finite(v.metrics["auc"]))
    result.promotion = promote(config, best.version, best.run_id, x_test, y_test)
    return result


def _serving_requirements() -> list[str]:
    """What loading the model needs, pinned to what trained it (MLflow would otherwise export
    the whole project's lockfile on every run)."""
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("scikit-learn", "numpy", "pandas", "skops")]


def _finite(value: float) -> float:
    return value if np.isfinite(value) else -1.0


def train_from_lakehouse(
    spark: SparkSession, config: ProjectConfig, as_of: str | None = None
) -> TrainingResult:
    """The pipeline step: features through Feast at the training cutoffs, then train_models."""
    from lakecdp.decisioning.feature_store import apply_definitions
    from ml.training_set import training_frame
    from spark_jobs.features.job import resolve_as_of

    at = resolve_as_of(spark, config, as_of)
    store = apply_definitions(config)
    frame = training_frame(spark, config, store, at)
    return train_models(config, frame, as_of=at)


def describe(result: TrainingResult) -> dict[str, Any]:
    return {
        "as_of": result.as_of.isoformat(),
        "rows": result.rows,
        "versions": [v.__dict__ for v in result.versions],
        "promotion": result.promotion.__dict__ if result.promotion else None,
    }
