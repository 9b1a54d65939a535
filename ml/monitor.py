"""`lakecdp model monitor`: is each champion still looking at the population it was judged on?

Per registered model and as-of time, compared with the reference the gate logged when the
champion was promoted (bins of its held-out rows, ml/monitoring.py):
- feature drift: PSI of each input on the newest feature snapshot (a bounded sample);
- score drift: PSI of the champion's scores on that snapshot (the scored batch), and of the
  scores the endpoint served during the day before (bronze.decisions);
- calibration on outcomes: decisions whose label horizon has passed, against whether the
  customer then bought (or, for a no_purchase model, did not).
One row per measure goes to ops.model_monitoring (a rerun for the same as-of time replaces its
rows); `lakecdp model report` shows the history, and a feature or score above the model's
`drift_max_psi` fails the check, naming what drifted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from lakecdp.kernel.tables import DECISIONS
from ml.candidates import load_candidate
from ml.metrics import expected_calibration_error
from ml.monitoring import Bins as ReferenceBins
from ml.monitoring import CalibrationBin, DriftRow, calibration, drift, psi
from ml.tracking import CHAMPION, mlflow_client
from spark_jobs.features.job import SNAPSHOTS

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

MONITORING = ("ops", "model_monitoring")
ORDERS = ("gold", "fct_orders")
SAMPLE_ROWS = 200_000  # customers of the snapshot compared: enough for stable bin shares
OUTCOME_WINDOW_DAYS = 7  # decisions of this many days whose horizon has just passed

MONITORING_SCHEMA = T.StructType(
    [
        T.StructField("model", T.StringType()),
        T.StructField("version", T.StringType()),
        T.StructField("as_of", T.TimestampType()),
        T.StructField("kind", T.StringType()),  # feature, score (batch, served), calibration
        T.StructField("name", T.StringType()),
        T.StructField("psi", T.DoubleType()),
        T.StructField("threshold", T.DoubleType()),
        T.StructField("value", T.DoubleType()),  # calibration: ECE
        T.StructField("rows", T.LongType()),
        T.StructField("drifted", T.BooleanType()),
        T.StructField("detail", T.StringType()),  # calibration: the reliability table (JSON)
        T.StructField("_run_at", T.TimestampType()),
    ]
)


@dataclass
class ModelMonitoring:
    model: str
    as_of: datetime
    version: str | None = None
    drift: list[DriftRow] = field(default_factory=list)
    calibration: list[CalibrationBin] = field(default_factory=list)
    outcomes: int = 0
    ece: float | None = None
    skipped: str | None = None  # why nothing was measured

    @property
    def drifted(self) -> list[str]:
        return [row.name for row in self.drift if row.drifted]


def champion_reference(config: ProjectConfig, name: str) -> tuple[str | None, Any, str | None]:
    """(champion version, its monitoring reference, why not) from the registry."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(config)
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None, None, "no champion"
    try:
        path = client.download_artifacts(str(version.run_id), "monitoring/reference.json")
    except Exception:  # promoted before the gate logged references, or its run is gone
        return str(version.version), None, "its run holds no monitoring/reference.json"
    return str(version.version), json.loads(Path(path).read_text()), None


def snapshot_sample(
    spark: SparkSession, config: ProjectConfig, features: list[str], as_of: datetime, seed: int
) -> pd.DataFrame:
    """The newest feature snapshot at or before `as_of`, at most SAMPLE_ROWS customers."""
    snapshots = Table(spark, config, *SNAPSHOTS).read().where(F.col("feature_ts") <= F.lit(as_of))
    newest = snapshots.agg(F.max("feature_ts")).first()[0]
    if newest is None:
        return snapshots.select(*features).limit(0).toPandas()
    current = snapshots.where(F.col("feature_ts") == F.lit(newest)).select(*features)
    return current.orderBy(F.rand(seed)).limit(SAMPLE_ROWS).toPandas().astype("float64")


def _decisions(spark: SparkSession, config: ProjectConfig) -> DataFrame | None:
    table = Table(spark, config, *DECISIONS)
    if not table.exists():
        return None
    decisions = table.read()
    return decisions if "scores" in decisions.columns else None


def served_scores(decisions: DataFrame, name: str, version: str, as_of: datetime) -> np.ndarray:
    """Scores the champion served in the day before `as_of`."""
    day = decisions.where(
        (F.col("decided_at") >= F.lit(as_of - timedelta(days=1)))
        & (F.col("decided_at") < F.lit(as_of))
        & (F.col("model_versions").getItem(name) == version)
    ).select(F.col("scores").getItem(name).alias("score"))
    rows = day.where(F.col("score").isNotNull()).limit(SAMPLE_ROWS).collect()
    return np.array([r.score for r in rows], dtype=float)


def outcomes(
    spark: SparkSession,
    config: ProjectConfig,
    decisions: DataFrame,
    name: str,
    as_of: datetime,
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores) of scored decisions whose label horizon ended in the week before
    `as_of`: did the customer buy within the horizon after the decision?"""
    spec = config.models.model(name)
    horizon = timedelta(days=spec.horizon_days)
    end = as_of - horizon
    scored = decisions.where(
        (F.col("decided_at") >= F.lit(end - timedelta(days=OUTCOME_WINDOW_DAYS)))
        & (F.col("decided_at") < F.lit(end))
        & F.col("customer_id").isNotNull()
        & F.col("scores").getItem(name).isNotNull()
    ).select(
        "decision_id", "customer_id", "decided_at", F.col("scores").getItem(name).alias("score")
    )
    orders = Table(spark, config, *ORDERS)
    if not orders.exists():
        return np.array([]), np.array([])
    window = F.expr(f"make_interval(0, 0, 0, {spec.horizon_days})")
    bought = (
        scored.alias("d")
        .join(
            orders.read().select("customer_id", "ordered_at").alias("o"),
            (F.col("d.customer_id") == F.col("o.customer_id"))
            & (F.col("o.ordered_at") > F.col("d.decided_at"))
            & (F.col("o.ordered_at") <= F.col("d.decided_at") + window),
        )
        .select("d.decision_id")
        .distinct()
        .withColumn("bought", F.lit(1))
    )
    rows = (
        scored.join(bought, "decision_id", "left")
        .select("score", F.coalesce("bought", F.lit(0)).alias("bought"))
        .limit(SAMPLE_ROWS)
        .collect()
    )
    labels = np.array([r.bought for r in rows], dtype=float)
    if spec.label == "no_purchase":
        labels = 1.0 - labels
    return labels, np.array([r.score for r in rows], dtype=float)


def measure(
    config: ProjectConfig,
    name: str,
    as_of: datetime,
    current: pd.DataFrame,
    served: np.ndarray | None = None,
    labelled: tuple[np.ndarray, np.ndarray] | None = None,
    champion: tuple[str | None, Any, str | None] | None = None,
) -> ModelMonitoring:
    """Drift of `current` (the model's inputs, one row a customer) and of the champion's scores
    on it and of `served`, and calibration on `labelled` (labels, scores), against the
    champion's reference (`champion`: what `champion_reference` answered, when already asked)."""
    result = ModelMonitoring(name, as_of)
    version, reference, why = champion or champion_reference(config, name)
    result.version = version
    if reference is None:
        result.skipped = why
        return result
    if current.empty:
        result.skipped = "no feature snapshot at or before the as-of time"
        return result
    spec = config.models.model(name)
    features = list(reference["features"])
    champion = load_candidate(config, name, str(version), tuple(features), spec.feature_service)
    scores = champion.probabilities(current)
    result.drift = drift(reference, current[features], scores, spec.drift_max_psi)
    if served is not None and len(served) and reference.get("score") is not None:
        value = psi(ReferenceBins.from_dict(reference["score"]), served)
        result.drift.append(
            DriftRow("score", "served_score", value, spec.drift_max_psi, len(served))
        )
    if labelled is not None and len(labelled[0]):
        labels, scores_then = labelled
        result.calibration = calibration(labels, scores_then)
        result.outcomes = len(labels)
        result.ece = expected_calibration_error(labels.astype(int), scores_then)
    return result


def monitor_models(
    spark: SparkSession,
    config: ProjectConfig,
    as_of: datetime,
    models: list[str] | None = None,
) -> list[ModelMonitoring]:
    """Measure each model's champion and write the rows to ops.model_monitoring."""
    decisions = _decisions(spark, config)
    results = []
    for name in models or list(config.models.registered):
        champion = champion_reference(config, name)
        version, reference, why = champion
        if reference is None:
            results.append(ModelMonitoring(name, as_of, version, skipped=why))
            continue
        current = snapshot_sample(
            spark, config, list(reference["features"]), as_of, config.models.seed
        )
        served = labelled = None
        if decisions is not None and version is not None:
            served = served_scores(decisions, name, version, as_of)
            labelled = outcomes(spark, config, decisions, name, as_of)
        results.append(measure(config, name, as_of, current, served, labelled, champion))
    write_monitoring(spark, config, [r for r in results if r.skipped is None])
    return results


def _rows(result: ModelMonitoring, run_at: datetime) -> list[tuple[Any, ...]]:
    base = (result.model, result.version, result.as_of)
    rows: list[tuple[Any, ...]] = [
        (
            *base,
            r.kind,
            r.name,
            float(r.psi),
            float(r.threshold),
            None,
            int(r.rows),
            bool(r.drifted),
            None,
            run_at,
        )
        for r in result.drift
    ]
    if result.ece is not None:
        detail = json.dumps([b.as_dict() for b in result.calibration])
        rows.append(
            (
                *base,
                "calibration",
                "ece",
                None,
                None,
                float(result.ece),
                result.outcomes,
                None,
                detail,
                run_at,
            )
        )
    return rows


def write_monitoring(
    spark: SparkSession, config: ProjectConfig, results: list[ModelMonitoring]
) -> None:
    run_at = datetime.now(UTC)
    table = Table(spark, config, *MONITORING)
    for result in results:
        # As-of times are naive UTC; aware ones reach Spark as the same instant whatever the
        # process's time zone, and the predicate names that instant, not a wall-clock time.
        as_of = result.as_of.replace(tzinfo=UTC)
        rows = _rows(ModelMonitoring(**{**result.__dict__, "as_of": as_of}), run_at)
        frame = spark.createDataFrame(rows, MONITORING_SCHEMA)
        micros = int(as_of.timestamp()) * 1_000_000 + as_of.microsecond
        table.replace_where(
            frame, f"model = '{result.model}' and as_of = timestamp_micros({micros})"
        )


def monitoring_history(spark: SparkSession, config: ProjectConfig, name: str) -> pd.DataFrame:
    """Every measure of `name`, oldest first (empty when never monitored)."""
    rows = Table(spark, config, *MONITORING).read(empty=MONITORING_SCHEMA)
    return rows.where(F.col("model") == name).orderBy("as_of", "kind", "name").toPandas()
