"""A data scientist's own models, end to end on a real MLflow registry and the real endpoint
over HTTP, without Spark: hand-made `mlflow.pyfunc` models registered under the configured name
are evaluated and promoted through the gate on the held-out set, refused when worse or when
their signature does not fit the feature service, forced with a recorded reason, rolled back,
and served by /v1/decide, which keeps the old champion when a new one fails to load."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import uvicorn

from lakecdp.decisioning.endpoint import create_app
from lakecdp.decisioning.online_features import IDENTIFIER_VIEW
from lakecdp.kernel.config import ProjectConfig
from ml.candidates import ModelRefused
from ml.evaluation_set import write_evaluation_set
from ml.promotion import evaluate, history, promote, rollback
from ml.tracking import CHAMPION, mlflow_client
from spark_jobs.features.transactions import FEATURE_COLUMNS
from tests.conftest import CONFIG_FILE, DECIDE_AUTH, free_port, make_config, wait_for

NAME = "purchase_propensity"
SERVICE = "purchase_propensity_v1"
FEATURES = list(FEATURE_COLUMNS)
CUSTOMER = {"frequency": 6.0, "recency_days": 12.0}


class Logistic(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """P(purchase) = sigmoid(weight * log1p(column) + bias): a data scientist's custom pyfunc."""

    def __init__(self, column: str, weight: float, bias: float) -> None:
        self.column, self.weight, self.bias = column, weight, bias

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
        x = np.log1p(model_input[self.column].fillna(0.0).clip(lower=0.0).to_numpy())
        return 1.0 / (1.0 + np.exp(-(self.weight * x + self.bias)))


TRUE_MODEL = Logistic("frequency", 1.5, -2.5)  # how the labels below are drawn
WEAK_MODEL = Logistic("recency_days", 0.05, 1.3)  # uninformative, overconfident (~0.8)
WORSE_MODEL = Logistic("frequency", -1.5, 0.0)  # ranks backwards


class Labels(Logistic):
    """The true model's class labels: what a flavour whose pyfunc calls `predict` answers."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
        return (super().predict(context, model_input, params) > 0.5).astype(float)


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.gamma(2.0, 3.0, (n, len(FEATURES))), columns=FEATURES)
    frame["label"] = (rng.uniform(size=n) < TRUE_MODEL.predict(None, frame)).astype(int)
    frame["customer_id"] = [f"cus_{i:05d}" for i in range(n)]
    frame["event_timestamp"] = datetime(2026, 10, 1, tzinfo=UTC)
    return frame


def _signature(columns: dict[str, str] | None = None) -> Any:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    types = columns or dict.fromkeys(FEATURES, "double")
    return ModelSignature(
        inputs=Schema([ColSpec(t, n) for n, t in types.items()]),
        outputs=Schema([ColSpec("double")]),
    )


def register(config: ProjectConfig, model: Any, signature: Any = None) -> str:
    """Log and register `model` as a data scientist would from a notebook."""
    mlflow_client(config)
    with mlflow.start_run(run_name="notebook"):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=model,
            signature=signature or _signature(),
            registered_model_name=NAME,
        )
    return str(info.registered_model_version)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:
    """A lakehouse whose gate has a held-out set (as `features training-set` writes it)."""
    root = tmp_path_factory.mktemp("own-models")
    config = make_config(
        root / "lakehouse",
        LAKECDP__DECISIONING__MODEL_REFRESH_SECONDS="0.2",
        LAKECDP__DECISIONING__LOG_DIR=str(root / "decisions"),
    )
    write_evaluation_set(
        config,
        NAME,
        _rows(4000, seed=1),
        features=tuple(FEATURES),
        as_of=datetime(2026, 11, 1, tzinfo=UTC),
        feature_service=SERVICE,
    )
    return config


@pytest.fixture(scope="module")
def versions(config: ProjectConfig) -> dict[str, str]:
    return {
        "weak": register(config, WEAK_MODEL),
        "true": register(config, TRUE_MODEL),
        "worse": register(config, WORSE_MODEL),
        "unknown_input": register(
            config, TRUE_MODEL, _signature({"frequency": "double", "days_since_signup": "double"})
        ),
        "long_input": register(config, TRUE_MODEL, _signature({"frequency": "long"})),
        "labels": register(config, Labels("frequency", 1.5, -2.5)),
    }


def test_a_better_model_is_promoted_a_worse_one_refused_forced_and_rolled_back(
    config: ProjectConfig, versions: dict[str, str]
) -> None:
    client = mlflow_client(config)
    first = promote(config, NAME, versions["weak"])
    assert first.promoted and first.reason == "no champion yet"

    scored = evaluate(config, NAME, versions["true"])
    assert scored.metrics["auc"] > 0.7 and scored.metrics["rows"] == 4000
    better = promote(config, NAME, versions["true"])
    assert better.promoted and better.champion_version == versions["weak"], better.reason
    assert better.challenger["auc"] > better.champion["auc"] + 0.2  # type: ignore[index]
    assert better.challenger["ece"] < better.champion["ece"]  # type: ignore[index]

    worse = promote(config, NAME, versions["worse"])
    assert not worse.promoted and "does not beat the champion" in worse.reason
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == versions["true"]
    rejected = client.get_model_version(NAME, versions["worse"])
    assert rejected.tags["promotion"] == "rejected" and float(rejected.tags["gate_auc"]) < 0.5
    evidence_files = [a.path for a in client.list_artifacts(rejected.run_id, "promotion")]
    evidence = json.loads(
        Path(client.download_artifacts(rejected.run_id, evidence_files[0])).read_text()
    )
    assert evidence["promoted"] is False and evidence["champion_version"] == versions["true"]
    assert evidence["evaluation_set"].endswith("(4000 rows)")

    forced = promote(config, NAME, versions["worse"], force_reason="season launch, approved")
    assert forced.promoted and forced.forced and "season launch, approved" in forced.reason
    assert client.get_model_version(NAME, versions["worse"]).tags["promotion"] == "forced"

    back = rollback(config, NAME, "forced version misbehaves")
    assert (back.from_version, back.to_version) == (versions["worse"], versions["true"])
    back = rollback(config, NAME)
    assert back.to_version == versions["weak"]
    assert [m["how"] for m in history(config, NAME)] == [
        "promoted",
        "promoted",
        "forced",
        "rollback",
        "rollback",
    ]
    promote(config, NAME, versions["true"])  # the HTTP test below serves the true model
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == versions["true"]


@pytest.mark.parametrize(
    ("version", "named"),
    [
        ("unknown_input", f"needs inputs {SERVICE} does not serve: days_since_signup"),
        ("long_input", r"inputs not typed double: frequency \(long\)"),
        ("labels", "class labels, not probabilities"),
    ],
)
def test_a_version_that_cannot_be_served_as_a_probability_is_refused(
    config: ProjectConfig, versions: dict[str, str], version: str, named: str
) -> None:
    before = history(config, NAME)
    with pytest.raises(ModelRefused, match=named):
        promote(config, NAME, versions[version])
    assert history(config, NAME) == before


def test_the_cli_by_its_installed_path_refuses_a_mismatch_naming_it(
    config: ProjectConfig, versions: dict[str, str]
) -> None:
    env = {
        "LAKECDP_CONFIG": str(CONFIG_FILE),
        "LAKECDP_LAKEHOUSE_ROOT": config.lakehouse.root,
        "PATH": "/usr/bin:/bin",  # a bare environment, as a scheduler's worker has
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "lakecdp"),
            "model",
            "promote",
            NAME,
            "--version",
            versions["unknown_input"],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "days_since_signup" in " ".join(done.stdout.split())


def _online_store(config: ProjectConfig) -> None:
    """Feast's registry and SQLite store holding one customer, through Feast's write path."""
    from lakecdp.decisioning.feature_store import apply_definitions

    store = apply_definitions(config)
    now = datetime.now(UTC)
    lookup = {"identifier": "customer_id:cus_1", "customer_id": "cus_1", "updated_at": now}
    store.write_to_online_store(IDENTIFIER_VIEW, pd.DataFrame([lookup]))
    features = {c: float(CUSTOMER.get(c, 1.0)) for c in FEATURES}
    row = {"customer_id": "cus_1", **features, "last_order_at": now, "feature_ts": now}
    store.write_to_online_store("customer_transactions", pd.DataFrame([row]))


@pytest.fixture(scope="module")
def endpoint(config: ProjectConfig, versions: dict[str, str]) -> Iterator[str]:
    _online_store(config)
    promote(config, NAME, versions["true"], force_reason="serve the true model")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: server.started, timeout=30)
    wait_for(lambda: httpx.get(f"{url}/health").status_code == 200, timeout=60)
    yield url
    server.should_exit = True
    thread.join(timeout=30)


def _decide(url: str) -> dict[str, Any]:
    body = {"customer_id": "cus_1", "channel": "any", "market": "SG"}
    answer = httpx.post(f"{url}/v1/decide", json=body, headers=DECIDE_AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_endpoint_scores_with_the_promoted_pyfunc_and_keeps_it_when_a_new_one_fails(
    config: ProjectConfig, versions: dict[str, str], endpoint: str
) -> None:
    expected = float(TRUE_MODEL.predict(None, pd.DataFrame([CUSTOMER]))[0])
    decision = _decide(endpoint)
    assert decision["model_versions"] == {NAME: versions["true"]}
    assert decision["score"] == pytest.approx(expected)
    by = f"score {decision['score']:.3f} by model v{versions['true']} (python_function)"
    assert decision["reasons"][0] == by  # a custom pyfunc is named by its flavour
    assert decision["scores"][NAME] == pytest.approx(expected)

    # An operator points the alias at a version whose files are broken.
    broken = register(config, TRUE_MODEL)
    client = mlflow_client(config)
    folder = Path(client.get_model_version_download_uri(NAME, broken).removeprefix("file://"))
    (folder / "python_model.pkl").write_bytes(b"not a pickle")
    client.set_registered_model_alias(NAME, CHAMPION, broken)

    def refused() -> bool:
        problems = httpx.get(f"{endpoint}/health").json().get("problems", {})
        return f"v{broken}" in problems.get(NAME, "")

    wait_for(refused, timeout=30)
    health = httpx.get(f"{endpoint}/health")
    assert health.status_code == 200  # decisions go on with the old champion
    status = health.json()["models"][NAME]
    assert status["served_version"] == versions["true"] and status["load_failures"] == 1
    assert f"still serving v{versions['true']}" in health.json()["problems"][NAME]
    assert _decide(endpoint)["model_versions"] == {NAME: versions["true"]}
    metrics = httpx.get(f"{endpoint}/metrics").text
    assert f'lakecdp_model_load_failures{{model="{NAME}"}} 1.0' in metrics
    assert f'lakecdp_model_served_version{{model="{NAME}"}} {float(versions["true"])}' in metrics
    client.set_registered_model_alias(NAME, CHAMPION, versions["true"])
