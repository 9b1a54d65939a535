"""Training through Feast and MLflow on the decision lake: runs logged with params, metrics,
datasets and signature; the promotion gate both ways, with its evidence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lakecdp.decisioning.feature_store import apply_definitions
from lakecdp.kernel.config import ProjectConfig
from ml.tracking import CHALLENGER, CHAMPION, mlflow_client, model_uri
from ml.train import train_models
from ml.training_set import NotEnoughHistory, training_frame
from spark_jobs.features.transactions import FEATURE_COLUMNS
from tests.conftest import make_config
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
    assert run.data.metrics["holdout_auc"] > 0.7
    assert {"holdout_brier", "holdout_pr_auc", "holdout_ece"} <= set(run.data.metrics)
    contexts = {i.tags[0].value for i in run.inputs.dataset_inputs}
    assert contexts == {"training", "holdout"}
    signature = mlflow.models.get_model_info(model_uri(decision_lake)).signature
    assert signature.inputs.input_names() == list(FEATURE_COLUMNS)
    evidence = json.loads(
        Path(client.download_artifacts(champion.run_id, "promotion/evidence.json")).read_text()
    )
    assert evidence["promoted"] is True and evidence["reason"] == "no champion yet"


@pytest.fixture(scope="module")
def own_registry(decision_lake, tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:  # type: ignore[no-untyped-def]
    """The decision lake's tables with a registry of its own (the endpoint tests keep theirs)."""
    root = tmp_path_factory.mktemp("registry")
    return make_config(
        root,
        LAKECDP_LAKEHOUSE_ROOT=decision_lake.lakehouse.root,
        LAKECDP_MLFLOW_TRACKING_URI=f"sqlite:///{root}/mlflow.db",
        LAKECDP__MODELS__ARTIFACT_ROOT=str(root / "artifacts"),
        LAKECDP__FEATURES__ROOT=str(root / "feast"),
    )


def test_challenger_must_beat_the_champion_to_be_promoted(spark, own_registry) -> None:  # type: ignore[no-untyped-def]
    frame = training_frame(spark, own_registry, apply_definitions(own_registry), AS_OF)
    noise = frame.copy()
    rng = np.random.default_rng(0)
    noise[list(FEATURE_COLUMNS)] = noise[list(FEATURE_COLUMNS)].to_numpy()[
        rng.permutation(len(noise))
    ]
    weak = train_models(own_registry, noise, as_of=AS_OF, kinds=("logistic_regression",))
    assert weak.promotion is not None and weak.promotion.promoted  # no champion yet
    strong = train_models(own_registry, frame, as_of=AS_OF, kinds=("logistic_regression",))
    decision = strong.promotion
    assert decision is not None and decision.promoted
    assert decision.champion is not None
    assert decision.challenger["auc"] > decision.champion["auc"] + 0.1
    client = mlflow_client(own_registry)
    name = own_registry.models.registered_model
    assert (
        str(client.get_model_version_by_alias(name, CHAMPION).version)
        == decision.challenger_version
    )
    again = train_models(own_registry, frame, as_of=AS_OF, kinds=("logistic_regression",))
    assert again.promotion is not None and not again.promotion.promoted
    assert "does not beat the champion" in again.promotion.reason
    assert (
        str(client.get_model_version_by_alias(name, CHAMPION).version)
        == decision.challenger_version
    )
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == (
        again.promotion.challenger_version
    )
    rejected = client.get_model_version(name, again.promotion.challenger_version)
    assert rejected.tags["promotion"] == "rejected"


def test_no_history_old_enough_is_a_clear_error(spark, own_registry) -> None:  # type: ignore[no-untyped-def]
    short = own_registry.model_copy(
        update={"models": own_registry.models.model_copy(update={"horizon_days": 400})}
    )
    with pytest.raises(NotEnoughHistory, match="400 days before"):
        training_frame(spark, short, apply_definitions(own_registry), AS_OF)
