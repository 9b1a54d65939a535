"""The endpoint's registry reads (ml/serving/registry.py: SQL on MLflow's tables) agree with
MlflowClient on a real MLflow registry, through stdlib sqlite3 and through SQLAlchemy (the path a
PostgreSQL registry takes); the champion holder follows the alias. No Spark."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lakecdp.kernel.config import ProjectConfig
from ml.models import TRUSTED_TYPES, make_model
from ml.serving.champion import ChampionHolder, Champions
from ml.serving.registry import FallbackRegistry, MlflowRegistry, SqlRegistry, registry_for
from ml.serving.scorer import PortableModel
from ml.tracking import CHALLENGER, CHAMPION, mlflow_client
from spark_jobs.features.transactions import FEATURE_COLUMNS
from tests.conftest import free_port, make_config


def SERVICE_FEATURES(service: str) -> list[str]:
    """The feature service every model here reads: the transaction features."""
    return list(FEATURE_COLUMNS)


@dataclass
class Tracked:
    config: ProjectConfig
    client: Any  # mlflow.MlflowClient
    name: str
    versions: dict[str, str]  # model kind -> version


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracked]:
    """Two registered versions of our model kinds, tagged as ml/train.py tags them."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    config = make_config(tmp_path_factory.mktemp("registry") / "lakehouse")
    client = mlflow_client(config)
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.gamma(2.0, 10.0, (300, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS)
    y = (x["frequency"] > x["frequency"].median()).astype(int).to_numpy()
    name = config.models.registered_model
    versions = {}
    for kind in ("logistic_regression", "gradient_boosting"):
        with mlflow.start_run(run_name=kind):
            info = mlflow.sklearn.log_model(
                make_model(kind, seed=1).fit(x, y),  # type: ignore[arg-type]
                name="model",
                registered_model_name=name,
                skops_trusted_types=list(TRUSTED_TYPES),
                signature=infer_signature(x, y.astype(float)),
                pyfunc_predict_fn="predict_proba",
            )
        version = str(info.registered_model_version)
        client.set_model_version_tag(name, version, "model_kind", kind)
        versions[kind] = version
    yield Tracked(config, client, name, versions)


def _uris(config: ProjectConfig) -> list[str]:
    uri = config.mlflow_tracking_uri
    return [uri, uri.replace("sqlite:", "sqlite+pysqlite:", 1)]  # stdlib, then SQLAlchemy


def test_alias_answers_equal_mlflows(tracked: Tracked) -> None:
    mlflow_answer = MlflowRegistry(tracked.config.mlflow_tracking_uri)
    for kind, version in tracked.versions.items():
        tracked.client.set_registered_model_alias(tracked.name, CHAMPION, version)
        expected = mlflow_answer.alias(tracked.name, CHAMPION)
        assert expected is not None and expected.version == version
        assert expected.tags["model_kind"] == kind
        for uri in _uris(tracked.config):
            assert SqlRegistry(uri).alias(tracked.name, CHAMPION) == expected, uri


def test_missing_aliases_models_and_stores_are_none(tracked: Tracked, tmp_path: Path) -> None:
    assert CHALLENGER not in tracked.client.get_registered_model(tracked.name).aliases
    for registry in [SqlRegistry(u) for u in _uris(tracked.config)] + [
        MlflowRegistry(tracked.config.mlflow_tracking_uri)
    ]:
        assert registry.alias(tracked.name, CHALLENGER) is None
        assert registry.alias("no_such_model", CHAMPION) is None
    missing = tmp_path / "mlflow" / "mlflow.db"
    assert SqlRegistry(f"sqlite:///{missing}").alias(tracked.name, CHAMPION) is None
    assert not missing.exists()


def test_a_schema_that_does_not_fit_goes_through_mlflow(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("create table unrelated (x int)")
    registry = registry_for(f"sqlite:///{path}")
    assert isinstance(registry, FallbackRegistry)

    class Answer(MlflowRegistry):
        def alias(self, name: str, alias: str) -> Any:
            return ("asked mlflow", name, alias)

    registry.client = Answer("unused")
    assert registry.alias("m", CHAMPION) == ("asked mlflow", "m", CHAMPION)
    assert registry.alias("m", CHAMPION) == ("asked mlflow", "m", CHAMPION)  # decided once


def test_a_registry_that_does_not_answer_is_not_no_champion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(Exception, match=r"127\.0\.0\.1"):
        MlflowRegistry(f"http://127.0.0.1:{free_port()}").alias("m", CHAMPION)


def test_tracking_servers_go_through_mlflow() -> None:
    assert isinstance(registry_for("http://mlflow.internal:5000"), MlflowRegistry)
    assert isinstance(registry_for("postgresql+psycopg://u@db/mlflow"), FallbackRegistry)


def test_the_holder_loads_the_champion_and_follows_the_alias(tracked: Tracked) -> None:
    versions = tracked.versions
    tracked.client.set_registered_model_alias(
        tracked.name, CHAMPION, versions["logistic_regression"]
    )
    holder = ChampionHolder(tracked.config, tracked.name, SERVICE_FEATURES)
    assert not holder.settled and holder.current is None
    loaded = holder.refresh()
    assert holder.settled and loaded is not None
    assert (loaded.version, loaded.kind) == (versions["logistic_regression"], "logistic_regression")
    assert isinstance(loaded.model, PortableModel)
    tracked.client.set_registered_model_alias(tracked.name, CHAMPION, versions["gradient_boosting"])
    swapped = holder.refresh()
    assert swapped is not None and swapped.kind == "gradient_boosting"
    features = dict.fromkeys(FEATURE_COLUMNS, 12.0)
    assert 0 < swapped.score(features) < 1
    assert holder.refresh() is swapped  # the alias did not move: the same model stays


def test_no_champion_registered_is_ready_without_a_model(tmp_path: Path) -> None:
    champions = Champions(make_config(tmp_path / "lakehouse"), SERVICE_FEATURES)
    champions.start()
    try:
        assert champions.wait_ready(timeout=30)
        assert champions.current is None and champions.problems() == {}
    finally:
        champions.stop()
