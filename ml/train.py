"""`lakecdp model train`: for every registered model the platform trains, fit each model family
on its point-in-time training set, track each run in MLflow (params, metrics, dataset,
signature), register the versions, alias the best as `challenger`, and (unless told not to) put
it through the promotion gate, the same one a data scientist's own version goes through.

Models train on the training customers only; the held-out customers (a keyed hash of their id,
ml/training_set.py) are the gate's evaluation set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from lakecdp.kernel.config import ProjectConfig
from ml.metrics import score_metrics
from ml.models import MODEL_KINDS, TRUSTED_TYPES, make_model, model_params
from ml.promotion import PromotionDecision, promote
from ml.tracking import CHALLENGER, mlflow_client
from ml.training_set import HOLDOUT, TRAIN, NotEnoughHistory, TrainingSet

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class TrainedVersion:
    kind: str
    version: str
    run_id: str
    metrics: dict[str, float]


@dataclass
class TrainingResult:
    model: str
    as_of: datetime
    rows: int
    versions: list[TrainedVersion] = field(default_factory=list)
    challenger: str | None = None
    promotion: PromotionDecision | None = None


def train_models(
    config: ProjectConfig,
    training: TrainingSet,
    *,
    kinds: tuple[str, ...] = MODEL_KINDS,
    gate: bool = True,
) -> TrainingResult:
    """Fit, log and register each kind on the training customers, alias the best (by held-out
    AUC) as challenger, then gate it unless `gate` is False."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    name = training.model
    spec = config.models.model(name)
    client = mlflow_client(config)
    features = list(training.features)
    train, test = training.part(TRAIN), training.part(HOLDOUT)
    x_train, y_train = train[features], train["label"].to_numpy()
    x_test, y_test = test[features], test["label"].to_numpy()
    result = TrainingResult(model=name, as_of=training.as_of, rows=len(training.frame))
    # Described, not stored: name, digest, schema and row count; the rows stay in the lakehouse.
    dataset = mlflow.data.from_pandas(
        train.drop(columns=["customer_id", "split"]), name=f"{name}_training", targets="label"
    )
    evaluation = mlflow.data.from_pandas(
        test.drop(columns=["customer_id", "split"]), name=f"{name}_holdout", targets="label"
    )
    for kind in kinds:
        model = make_model(kind, config.models.seed)  # type: ignore[arg-type]
        with mlflow.start_run(run_name=f"{name} {kind}") as run:
            model.fit(x_train, y_train)
            scores = model.predict_proba(x_test)[:, 1]
            metrics = score_metrics(y_test, scores)
            mlflow.log_params(
                {
                    **model_params(kind, model),  # type: ignore[arg-type]
                    "registered_model": name,
                    "label": spec.label,
                    "horizon_days": spec.horizon_days,
                    "feature_service": spec.feature_service,
                    "as_of": training.as_of.isoformat(),
                    "train_rows": len(train),
                    "holdout_rows": len(test),
                    "holdout_share": config.models.holdout_share,
                    "features": ",".join(features),
                }
            )
            mlflow.log_input(dataset, context="training")
            mlflow.log_input(evaluation, context="holdout")
            mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics.items() if np.isfinite(v)})
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                # Features arrive as doubles (a missing one is NaN), counts included. No input
                # example: it would copy real customers' rows into the artifact store.
                signature=infer_signature(x_test.astype("float64"), scores),
                registered_model_name=name,
                skops_trusted_types=list(TRUSTED_TYPES),
                pyfunc_predict_fn="predict_proba",
                pip_requirements=_serving_requirements(),
            )
            version = str(info.registered_model_version)
            client.set_model_version_tag(name, version, "model_kind", kind)
            client.set_model_version_tag(name, version, "trained_by", "lakecdp model train")
            result.versions.append(TrainedVersion(kind, version, run.info.run_id, metrics))
    best = max(result.versions, key=lambda v: _finite(v.metrics["auc"]))
    result.challenger = best.version
    client.set_registered_model_alias(name, CHALLENGER, best.version)
    if gate:
        result.promotion = promote(config, name, best.version)
    return result


def _serving_requirements() -> list[str]:
    """What loading the model needs, pinned to what trained it (MLflow would otherwise export
    the whole project's lockfile on every run)."""
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("scikit-learn", "numpy", "pandas", "skops")]


def _finite(value: float) -> float:
    return value if np.isfinite(value) else -1.0


@dataclass
class TrainingRun:
    as_of: datetime
    results: list[TrainingResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # model -> why (not enough history)


def train_from_lakehouse(
    spark: SparkSession,
    config: ProjectConfig,
    as_of: str | None = None,
    *,
    models: list[str] | None = None,
    gate: bool = True,
) -> TrainingRun:
    """The pipeline step: each model's training set through Feast (which also refreshes its
    evaluation set), then train_models. A model without enough labelled history is skipped and
    said so; the others still train."""
    from lakecdp.decisioning.feature_store import apply_definitions
    from ml.training_set import build_training_set
    from spark_jobs.features.job import resolve_as_of

    at = resolve_as_of(spark, config, as_of)
    store = apply_definitions(config)
    names = models or [n for n, m in config.models.registered.items() if m.platform_trains]
    run = TrainingRun(as_of=at)
    for name in names:
        try:
            training = build_training_set(spark, config, store, at, config.models.model(name), name)
        except NotEnoughHistory as exc:
            run.skipped[name] = str(exc)
            continue
        run.results.append(train_models(config, training, gate=gate))
    return run
