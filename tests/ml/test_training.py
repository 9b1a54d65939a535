"""Training through Feast and MLflow on the decision lake: runs logged with params, metrics,
datasets and signature for both registered models; training sets that hold out whole customers
and store the gate's rows; labels per model. (The gate both ways: test_own_models.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feature_repo.feature_services import CHURN_FEATURES
from lakecdp.decisioning.feature_store import apply_definitions
from lakecdp.kernel.config import ModelConfig
from ml.evaluation_set import read_evaluation_set
from ml.tracking import CHAMPION, mlflow_client, model_uri
from ml.training_set import (
    HOLDOUT,
    TRAIN,
    NotEnoughHistory,
    TrainingSet,
    build_training_set,
    held_out,
    training_frame,
)
from spark_jobs.features.transactions import FEATURE_COLUMNS
from tests.feature_repo.gold_world import AS_OF

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1200)]


def test_training_run_logs_params_metrics_datasets_and_signature(decision_lake) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    client = mlflow_client(decision_lake)
    name = decision_lake.models.registered_model
    versions = client.search_model_versions(f"name = '{name}'")
    assert {v.tags.get("model_kind") for v in versions} == {
        "logistic_regression",
        "gradient_boosting",
    }
    champion = client.get_model_version_by_alias(name, CHAMPION)
    run = client.get_run(champion.run_id)
    assert run.data.params["horizon_days"] == "30"
    assert run.data.params["feature_service"] == "purchase_propensity_v1"
    assert run.data.metrics["holdout_auc"] > 0.7
    assert {"holdout_brier", "holdout_pr_auc", "holdout_ece"} <= set(run.data.metrics)
    contexts = {i.tags[0].value for i in run.inputs.dataset_inputs}
    assert contexts == {"training", "holdout"}
    info = mlflow.models.get_model_info(model_uri(decision_lake))
    assert info.signature.inputs.input_names() == list(FEATURE_COLUMNS)
    assert info.saved_input_example_info is None  # no real customer's row in the artifacts
    evidence = [a.path for a in client.list_artifacts(champion.run_id, "promotion")]
    first = json.loads(Path(client.download_artifacts(champion.run_id, evidence[0])).read_text())
    assert first["promoted"] is True and first["reason"] == "no champion yet"
    reference = client.download_artifacts(champion.run_id, "monitoring/reference.json")
    assert set(json.loads(Path(reference).read_text())["features"]) == set(FEATURE_COLUMNS)


def test_the_churn_model_trains_on_its_own_service_and_label(decision_lake) -> None:  # type: ignore[no-untyped-def]
    client = mlflow_client(decision_lake)
    churn = client.get_model_version_by_alias("churn_risk", CHAMPION)
    params = client.get_run(churn.run_id).data.params
    assert params["feature_service"] == "churn_risk_v1" and params["label"] == "no_purchase"
    assert params["features"].split(",") == list(CHURN_FEATURES)


@pytest.fixture(scope="module")
def training(spark, decision_lake) -> TrainingSet:  # type: ignore[no-untyped-def]
    spec = decision_lake.models.model("purchase_propensity")
    return build_training_set(spark, decision_lake, apply_definitions(decision_lake), AS_OF, spec)


def test_training_sets_hold_out_whole_customers_and_store_the_gates_rows(
    decision_lake, training: TrainingSet
) -> None:  # type: ignore[no-untyped-def]
    frame = training.frame
    train_ids = set(training.part(TRAIN)["customer_id"])
    holdout_ids = set(training.part(HOLDOUT)["customer_id"])
    assert train_ids and holdout_ids and not train_ids & holdout_ids
    share = len(holdout_ids) / (len(holdout_ids) + len(train_ids))
    assert abs(share - decision_lake.models.holdout_share) < 0.1
    assert all(held_out(c, decision_lake.models.holdout_share, 7) for c in holdout_ids)
    assert list(frame.columns[4:]) == list(FEATURE_COLUMNS)
    described, rows = read_evaluation_set(decision_lake, "purchase_propensity")
    assert training.evaluation == described and described.rows == len(training.part(HOLDOUT))
    assert set(rows["customer_id"]) == holdout_ids and described.features == FEATURE_COLUMNS


def test_the_churn_label_is_the_complement_of_the_purchase_label(
    spark, decision_lake, training: TrainingSet
) -> None:  # type: ignore[no-untyped-def]
    spec = ModelConfig(
        feature_service="purchase_propensity_v1", label="no_purchase", horizon_days=30
    )
    churn = build_training_set(spark, decision_lake, apply_definitions(decision_lake), AS_OF, spec)
    assert churn.evaluation is None  # no registered model has these inputs and label
    keys = ["customer_id", "event_timestamp"]
    both = training.frame.merge(churn.frame, on=keys, suffixes=("", "_churn"))
    assert len(both) == len(training.frame) == len(churn.frame)
    assert ((both["label"] + both["label_churn"]) == 1).all()


def test_no_history_old_enough_is_a_clear_error(spark, decision_lake) -> None:  # type: ignore[no-untyped-def]
    spec = ModelConfig(horizon_days=400)
    with pytest.raises(NotEnoughHistory, match="400 days before"):
        training_frame(spark, decision_lake, apply_definitions(decision_lake), AS_OF, spec)
